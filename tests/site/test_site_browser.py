"""The site in headless Chromium: pages load cleanly, the search finds IDs, backlinks navigate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sot_builder import engine
from sot_builder.config import load_config
from sot_builder.project import load_project
from sot_builder.site import write_site

FIXTURE = Path(__file__).parent / "fixture"


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    project = load_project(load_config(FIXTURE), use_cache=False)
    rules = [r for r in engine.active_rules(project.config.values) if r.code in ("SOT201", "SOT203")]
    out = tmp_path_factory.mktemp("site")
    write_site(project, out, engine.run(project, rules))
    return out


def url(folder: Path, page: str) -> str:
    return (folder / page).as_uri()


def test_every_page_loads_without_console_errors(browser, site_dir: Path) -> None:
    pages = sorted(p.name for p in site_dir.glob("*.html"))
    assert len(pages) == 9
    mark = len(browser.events)
    for page in pages:
        browser.open(url(site_dir, page))
        assert browser.evaluate("document.querySelector('main') !== null"), page
        assert browser.evaluate("document.styleSheets.length") == 1, page  # the CSS loaded
    assert browser.errors(mark) == []


def test_search_finds_an_id_and_opens_it(browser, site_dir: Path) -> None:
    mark = len(browser.events)
    browser.open(url(site_dir, "index.html"))
    hits = browser.evaluate(
        "(function(){var i=document.getElementById('search'); i.value='fea-002';"
        "i.dispatchEvent(new Event('input'));"
        "return Array.from(document.querySelectorAll('#results a')).map(function(a){"
        "return [a.querySelector('.rid').textContent, a.getAttribute('href')];});})()"
    )
    assert hits == [["FEA-002", "SoT.FEATURES.html#FEA-002"]]
    titles = browser.evaluate(
        "(function(){var i=document.getElementById('search'); i.value='payment processing';"
        "i.dispatchEvent(new Event('input'));"
        "return Array.from(document.querySelectorAll('#results .rid')).map(function(x){return x.textContent;});})()"
    )
    assert titles == ["PIC-001"]
    browser.click_and_wait("#results a")
    assert browser.evaluate("location.hash") == "#PIC-001"
    assert browser.evaluate("document.querySelector(':target').id") == "PIC-001"
    assert browser.errors(mark) == []


def test_search_box_on_other_pages_goes_to_the_entry(browser, site_dir: Path) -> None:
    browser.open(url(site_dir, "SoT.README.html"))
    browser.evaluate("(function(){var f=document.querySelector('.search-form');"
                     "f.q.value='epic-001'; f.submit();})()")
    browser.wait_for("location.pathname.endsWith('/SoT.EPICS.html')")
    assert browser.evaluate("location.pathname.split('/').pop() + location.hash") == "SoT.EPICS.html#EPIC-001"


def test_backlink_navigates_to_the_referring_entry(browser, site_dir: Path) -> None:
    mark = len(browser.events)
    browser.open(url(site_dir, "SoT.FEATURES.html") + "#FEA-001")
    browser.click_and_wait('#FEA-001 .backlinks a[href="SoT.EPICS.html#EPIC-001"]')
    assert browser.evaluate("location.pathname.split('/').pop() + location.hash") == "SoT.EPICS.html#EPIC-001"
    target = browser.evaluate("document.querySelector(':target').querySelector('h2').textContent")
    assert "EPIC-001" in target and "Checkout" in target
    # and back along the outgoing reference
    browser.click_and_wait('#EPIC-001 .refs-out a[href="SoT.FEATURES.html#FEA-002"]')
    assert browser.evaluate("document.querySelector(':target').id") == "FEA-002"
    assert browser.errors(mark) == []


def test_graph_draws_and_focuses(browser, site_dir: Path) -> None:
    mark = len(browser.events)
    browser.open(url(site_dir, "graph.html"))
    shown = json.loads(browser.evaluate("JSON.stringify(window.sotbGraphShown)"))
    assert shown == {"nodes": 12, "edges": 19, "focus": ""}
    assert browser.evaluate("document.querySelectorAll('#graph .node').length") == 12
    browser.open(url(site_dir, "graph.html") + "#PIC-001")
    shown = json.loads(browser.evaluate("JSON.stringify(window.sotbGraphShown)"))
    assert shown["focus"] == "PIC-001" and shown["nodes"] < 12
    browser.click_and_wait('#graph .node[data-id="API-046"] circle')
    assert browser.evaluate("location.hash") == "#API-046"
    assert browser.evaluate("document.querySelector(':target').id") == "API-046"
    assert browser.errors(mark) == []
