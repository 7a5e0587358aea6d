"""The static site: pages, links between them, escaping, nothing remote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sot_builder import engine
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.project import load_project
from sot_builder.site import render_site


def load(folder: Path):
    return load_project(load_config(folder), use_cache=False)


def site_of(folder: Path) -> dict[str, str]:
    project = load(folder)
    rules = [r for r in engine.active_rules(project.config.values) if r.code in ("SOT201", "SOT203")]
    return render_site(project, engine.run(project, rules))


def card(page: str, ident: str) -> str:
    """The HTML of one entry's card."""
    m = re.search(rf'<article class="[^"]*" id="{ident}">.*?</article>', page, re.DOTALL)
    assert m, f"no card for {ident}"
    return m.group(0)


def embedded(page: str, element: str):
    m = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', page, re.DOTALL)
    assert m
    return json.loads(m.group(1))


@pytest.fixture
def site(registry: Path) -> dict[str, str]:
    return site_of(registry)


def test_files(site: dict[str, str]) -> None:
    assert sorted(site) == [
        "SoT.API_CONTRACTS.html", "SoT.BUSINESS_RULES.html", "SoT.EPICS.html", "SoT.FEATURES.html",
        "SoT.PARTNER_INTEGRATIONS.html", "SoT.README.html", "SoT.UNIQUE_ID_SYSTEM.html",
        "graph.html", "index.html", "static/graph.js", "static/search.js", "static/site.css",
    ]


def test_entry_card_fields_links_and_backlinks(site: dict[str, str]) -> None:
    fea = card(site["SoT.FEATURES.html"], "FEA-001")
    assert '<span class="anchor" id="fea-001-card-payments">' in fea
    assert "<dt>Status</dt><dd>Active</dd>" in fea
    # outgoing, with the relation the registry gives
    assert re.search(r'part-of</span>\s*<a href="SoT.EPICS.html#EPIC-001">EPIC-001</a>', fea)
    # backlinks: who points here, to the right page and anchor
    backlinks = fea.split('class="backlinks"')[1]
    assert re.search(r'contains</span>\s*<a href="SoT.EPICS.html#EPIC-001">', backlinks)
    assert re.search(r'implements</span>\s*<a href="SoT.API_CONTRACTS.html#API-045">', backlinks)
    assert "SoT.FEATURES.md:17" not in backlinks  # the file's own navigation list is left out
    # links in the body point at the site's pages
    assert '<a href="SoT.API_CONTRACTS.html#API-045">API-045</a>' in fea


def test_deprecation_notice(site: dict[str, str]) -> None:
    fea4 = card(site["SoT.FEATURES.html"], "FEA-004")
    assert 'class="entry deprecated"' in fea4
    assert 'superseded by <a href="#FEA-001">FEA-001</a>' in fea4
    assert 'class="notice"' not in card(site["SoT.FEATURES.html"], "FEA-001")


def test_lint_problems_on_their_entry(site: dict[str, str]) -> None:
    fea2 = card(site["SoT.FEATURES.html"], "FEA-002")
    assert "<code>SOT201</code>" in fea2 and "API-099 is referenced but defined nowhere" in fea2
    assert '<span class="missing" title="defined nowhere">API-099</span>' in fea2
    assert "SOT201" not in card(site["SoT.FEATURES.html"], "FEA-001")


def test_user_text_is_escaped(site: dict[str, str]) -> None:
    page = site["SoT.FEATURES.html"]
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_hostile_titles_and_links(registry: Path) -> None:
    path = registry / "SoT" / "SoT.FEATURES.md"
    text = path.read_text()
    text = text.replace("## FEA-003: Gift cards", '## FEA-003: Gift </script><b onclick="x()">cards</b> & co')
    text = text.replace("Pay part of an order with a gift card balance.",
                        "Logo ![logo](https://cdn.example.com/logo.png), [run](javascript:alert(1)), "
                        "[schema](../migrations/001.sql), <img src=x onerror=alert(1)>")
    path.write_text(text)
    site = site_of(registry)
    page = site["SoT.FEATURES.html"]
    fea3 = card(page, "FEA-003")
    assert "Gift &lt;/script&gt;&lt;b onclick=&#34;x()&#34;&gt;cards&lt;/b&gt; &amp; co" in fea3
    assert "<img" not in page  # no image is loaded, remote or not
    assert '<a href="https://cdn.example.com/logo.png" class="image-link">image: logo</a>' in fea3
    assert "javascript:" not in fea3.replace("[run](javascript:alert(1))", "")
    assert '<span class="file-link" title="../migrations/001.sql (not in the site)">schema</span>' in fea3
    index = embedded(site["index.html"], "sotb-index")
    assert any(x["title"].startswith("Gift </script>") for x in index)
    assert "</script><b" not in site["index.html"]


def test_nothing_is_fetched_from_a_network(site: dict[str, str]) -> None:
    for name, text in site.items():
        assert not re.search(r'(src|href)="(https?:)?//', text), name
        assert "@import" not in text and "url(http" not in text, name
        assert "fetch(" not in text and "XMLHttpRequest" not in text, name


def test_search_index(site: dict[str, str]) -> None:
    index = embedded(site["index.html"], "sotb-index")
    ids = [x["id"] for x in index]
    assert ids == ["API-045", "API-046", "API-101", "BR-101", "BR-102", "EPIC-001",
                   "FEA-001", "FEA-002", "FEA-003", "FEA-004", "PIC-001"]
    fea4 = index[ids.index("FEA-004")]
    assert fea4 == {"id": "FEA-004", "title": "Paper invoices", "status": "Deprecated",
                    "href": "SoT.FEATURES.html#FEA-004", "deprecated": True, "file": "SoT.FEATURES.md"}


def test_index_dashboard(site: dict[str, str]) -> None:
    index = site["index.html"]
    assert 'class="health health-yellow"' in index
    assert '<a href="SoT.FEATURES.html">SoT.FEATURES.md</a>' in index
    assert '<a href="SoT.EPICS.html#EPIC-001">EPIC-001</a>' in index  # latest change


def test_graph_page_data(site: dict[str, str]) -> None:
    data = embedded(site["graph.html"], "sotb-graph")
    edges = {(e["source"], e["relation"], e["target"]) for e in data["edges"]}
    assert ("EPIC-001", "contains", "FEA-001") in edges
    assert ("FEA-002", "related", "API-099") in edges
    missing = next(n for n in data["nodes"] if n["id"] == "API-099")
    assert missing["defined"] is False and missing["href"] == ""
    assert '<script src="static/graph.js"></script>' in site["graph.html"]


def test_rendering_is_deterministic(registry: Path) -> None:
    assert site_of(registry) == site_of(registry)


def test_site_command(registry: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["site", str(registry), "-o", str(out)]) == 0
    assert (out / "index.html").is_file() and (out / "static" / "graph.js").is_file()
    assert "Wrote 9 pages" in capsys.readouterr().out
    first = (out / "SoT.FEATURES.html").stat().st_mtime_ns
    assert main(["site", str(registry), "-o", str(out)]) == 0
    assert (out / "SoT.FEATURES.html").stat().st_mtime_ns == first  # unchanged pages not rewritten


def test_project_templates_override_pages(registry: Path) -> None:
    local = registry / "templates" / "site" / "static"
    local.mkdir(parents=True)
    (local / "site.css").write_text("body { color: black; }\n")
    assert site_of(registry)["static/site.css"] == "body { color: black; }\n"
