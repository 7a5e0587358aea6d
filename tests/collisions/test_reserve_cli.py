"""`sotb add --reserve`, `sotb next --reserve` and `sotb renumber --reserve` share one PostgreSQL store.

Two clones of a registry (two branches, two machines) that reserve through the same
store never receive the same number, although neither sees the other's files.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from sot_builder.cli import main
from sot_builder.reserve import open_store
from tests.reserve.conftest import pg_url  # noqa: F401  (the PostgreSQL server fixture)


def prefix_nobody_uses() -> str:
    return "Q" + "".join(random.choices(string.ascii_uppercase, k=4))


def sotb(folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    monkeypatch.chdir(folder)
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def clone(root: Path, prefix: str, monkeypatch, capsys) -> Path:
    root.mkdir()
    sotb(root, monkeypatch, capsys, "init", "--new")
    sotb(root, monkeypatch, capsys, "type", "add", "--prefix", prefix, "--title", "Vendor Quotas",
         "--purpose", "Quota agreements with vendors", "--why", "No existing type tracks quotas",
         "--category", "Main=1-99", "--field", "Status:enum=Active,Expired:required")
    sotb(root, monkeypatch, capsys, "new", prefix)
    return root


def test_clones_reserving_through_postgres_never_share_a_number(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736467200")
    monkeypatch.setenv("SOTB_RESERVATION_DB", pg_url)
    prefix = prefix_nobody_uses()
    a = clone(tmp_path / "a", prefix, monkeypatch, capsys)
    b = clone(tmp_path / "b", prefix, monkeypatch, capsys)

    assert sotb(a, monkeypatch, capsys, "add", prefix, "--title", "Maps API", "--reserve") == f"{prefix}-001\n"
    # b's files know nothing of a's entry; the store does
    assert sotb(b, monkeypatch, capsys, "add", prefix, "--title", "Geocoding", "--reserve") == f"{prefix}-002\n"
    assert sotb(b, monkeypatch, capsys, "next", prefix, "--reserve") == f"{prefix}-003\n"
    assert sotb(a, monkeypatch, capsys, "next", prefix) == f"{prefix}-002\n"  # without the store: a local guess
    assert sotb(a, monkeypatch, capsys, "add", prefix, "--title", "Routing", "--reserve") == f"{prefix}-004\n"
    sotb(b, monkeypatch, capsys, "renumber", f"{prefix}-002", "--reserve")

    assert f"## {prefix}-005: Geocoding" in (b / "SoT" / "SoT.VENDOR_QUOTAS.md").read_text()
    with open_store(pg_url) as store:
        assert store.reserved(prefix) == {1, 2, 3, 4, 5}


def test_reserve_without_a_store_is_a_usage_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("SOTB_RESERVATION_DB", raising=False)
    prefix = prefix_nobody_uses()
    a = clone(tmp_path / "a", prefix, monkeypatch, capsys)
    monkeypatch.chdir(a)
    assert main(["next", prefix, "--reserve"]) == 2
    assert "--reserve needs a reservation store" in capsys.readouterr().err
