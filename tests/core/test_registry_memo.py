import pytest

from sot_builder import registry
from sot_builder.diagnostics import SotbError
from sot_builder.registry import build_registry

TYPES = {"API": {"fields": [{"name": "Owner", "required": True}]}, "ZZ": {"file": "SoT.ZZ.md", "definition": "zz.yaml"}}
ZZ = "prefix: ZZ\ntitle: Zeds\n"


def _build(tmp_path, types=TYPES):
    return build_registry(types, tmp_path, "sotb.toml", memo_dir=tmp_path / "cache")


def test_definitions_that_passed_are_not_validated_again(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    (tmp_path / "zz.yaml").write_text(ZZ)
    first = _build(tmp_path)
    assert len(list((tmp_path / "cache").glob("types-valid-*"))) == 1

    def no_schema(data, source):
        raise AssertionError("validated again")

    monkeypatch.setattr(registry, "validate_definition", no_schema)
    assert _build(tmp_path).types.keys() == first.types.keys()


def test_a_changed_definition_file_is_validated_again(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "zz.yaml").write_text(ZZ)
    _build(tmp_path)
    (tmp_path / "zz.yaml").write_text(ZZ + "categories: 7\n")
    with pytest.raises(SotbError, match="categories"):
        _build(tmp_path)


def test_changed_settings_are_validated_again(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "zz.yaml").write_text(ZZ)
    _build(tmp_path)
    broken = {**TYPES, "API": {"fields": "Owner"}}
    with pytest.raises(SotbError, match="fields"):
        _build(tmp_path, broken)


def test_without_a_cache_folder_nothing_is_remembered(tmp_path):
    (tmp_path / "zz.yaml").write_text(ZZ)
    _build(tmp_path)
    assert not (tmp_path / "cache").exists()
