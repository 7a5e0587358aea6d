import json

import pytest

from sot_builder import registry
from sot_builder.diagnostics import SotbError
from sot_builder.registry import build_registry

TYPES = {"API": {"fields": [{"name": "Owner", "required": True}]}, "ZZ": {"file": "SoT.ZZ.md", "definition": "zz.yaml"}}
ZZ = "prefix: ZZ\ntitle: Zeds\n"


def _build(tmp_path, types=TYPES):
    return build_registry(types, tmp_path, "sotb.toml", memo_dir=tmp_path / "cache")


def test_definitions_that_passed_are_not_validated_again(tmp_path, monkeypatch):
    from sot_builder.fsutil import folder_identity

    assert folder_identity(tmp_path / "cache", make=True)  # a cache folder this checkout made
    (tmp_path / "zz.yaml").write_text(ZZ)
    first = _build(tmp_path)
    assert len(list((tmp_path / "cache").glob("types-valid-*"))) == 1

    def no_schema(data, source):
        raise AssertionError("validated again")

    monkeypatch.setattr(registry, "validate_definition", no_schema)
    assert _build(tmp_path).types.keys() == first.types.keys()


def test_a_marker_is_trusted_only_in_a_cache_folder_of_this_checkout(tmp_path):
    """Markers are named by the folder's identity file: one that came with the repository
    (the same folder, made anew) names none of them, so the definitions are validated."""
    import shutil

    from sot_builder.fsutil import folder_identity

    (tmp_path / "zz.yaml").write_text(ZZ)
    assert registry._valid_marker(tmp_path / "cache", {}, tmp_path) is None  # no identity yet
    folder_identity(tmp_path / "cache", make=True)
    _build(tmp_path)
    (marker,) = (tmp_path / "cache").glob("types-valid-*")
    assert registry._valid_marker(tmp_path / "cache", TYPES, tmp_path) == marker
    shutil.move(tmp_path / "cache", tmp_path / "elsewhere")
    shutil.copytree(tmp_path / "elsewhere", tmp_path / "cache")  # as a checkout makes it
    assert (tmp_path / "cache" / marker.name).is_file()  # it came along, and is not the one looked for
    assert registry._valid_marker(tmp_path / "cache", TYPES, tmp_path).name != marker.name


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


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """The built-in definitions read from a copy the test may change; none of it remembered after."""
    import shutil

    copy = tmp_path / "schemas"
    shutil.copytree(registry.schemas_dir() / "types", copy / "types")
    monkeypatch.setattr(registry, "schemas_dir", lambda: copy)
    registry.builtin_definitions.cache_clear()
    yield copy / "types"
    registry.builtin_definitions.cache_clear()


def test_builtin_definitions_are_read_from_a_json_copy_named_by_their_bytes(tmp_path, shipped_copy):
    types = shipped_copy
    memo_dir = tmp_path / "cache"
    memo_dir.mkdir()
    plain = registry.builtin_definitions()
    assert registry.builtin_definitions(memo_dir) == plain and "PIC" in plain
    (memo,) = memo_dir.glob("types-builtin-*.json")

    copy = json.loads(memo.read_text())
    copy["PIC"]["purpose"] = "read from the copy"
    memo.write_text(json.dumps(copy))  # the copy, not the YAML, is what is read
    registry.builtin_definitions.cache_clear()
    assert registry.builtin_definitions(memo_dir)["PIC"]["purpose"] == "read from the copy"

    memo.write_text('{"XX": {"prefix": "XX"}}')  # but only one that holds the shipped types
    registry.builtin_definitions.cache_clear()
    assert registry.builtin_definitions(memo_dir) == plain

    (types / "PIC.yaml").write_text((types / "PIC.yaml").read_text() + "\npurpose: changed\n")
    registry.builtin_definitions.cache_clear()
    assert registry.builtin_definitions(memo_dir)["PIC"]["purpose"] == "changed"
    assert [p.name for p in memo_dir.glob("types-builtin-*.json")] != [memo.name]  # replaced, not added
    assert len(list(memo_dir.glob("types-builtin-*"))) == 1


def test_a_damaged_json_copy_of_the_builtin_definitions_is_written_again(tmp_path, shipped_copy):
    memo_dir = tmp_path / "cache"
    memo_dir.mkdir()
    plain = registry.builtin_definitions()
    registry.builtin_definitions(memo_dir)
    (memo,) = memo_dir.glob("types-builtin-*.json")
    memo.write_text('{"cut off')
    registry.builtin_definitions.cache_clear()
    assert registry.builtin_definitions(memo_dir) == plain
    assert registry.builtin_definitions.__wrapped__(memo_dir) == plain  # read back from the copy


def test_a_project_without_types_reads_the_builtin_definitions_through_its_cache_folder(tmp_path, monkeypatch):
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    (tmp_path / "SoT").mkdir()
    (tmp_path / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").write_text("# P\n\n## PIC-001: Stripe\n**Status**: Active\n")
    (tmp_path / ".sotb_cache").mkdir()
    asked = []
    real = registry.builtin_definitions
    monkeypatch.setattr(registry, "builtin_definitions", lambda memo_dir=None: asked.append(memo_dir) or real(memo_dir))
    project = load_project(load_config(tmp_path), use_cache=False)
    assert project.registry.get("PIC") is not None
    assert asked and all(d == tmp_path / ".sotb_cache" for d in asked)  # never the YAML twice
    assert list((tmp_path / ".sotb_cache").glob("types-builtin-*.json"))
