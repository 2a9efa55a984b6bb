"""The dashboard's files ship inside the package, with the vendored chart library's licence."""

from __future__ import annotations

import re

from services.monitor.http import STATIC


def test_dashboard_files_and_chart_licence_are_present() -> None:
    """Page, script, style, Chart.js and its MIT licence are all in services/monitor/static."""
    names = {path.name for path in STATIC.iterdir()}
    assert {"index.html", "dashboard.js", "dashboard.css", "chart.umd.min.js"} <= names
    assert "MIT License" in (STATIC / "chart.js.LICENSE.md").read_text()
    assert (STATIC / "chart.umd.min.js").read_text().startswith("/*!\n * Chart.js v4.")


def test_our_scripts_never_parse_data_as_html() -> None:
    """The scripts build pages with textContent only: no HTML-parsing sinks, no eval."""
    scripts = [p for p in STATIC.glob("*.js") if not p.name.endswith(".min.js")]
    assert {p.name for p in scripts} >= {"dashboard.js", "car.js", "dom.js"}
    for path in scripts:
        script = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in script, (path.name, sink)


def test_dashboard_links_only_to_its_own_paths() -> None:
    """No link target comes from data: every href or src set in the script is a local path."""
    script = (STATIC / "dashboard.js").read_text()
    targets = re.findall(r"\.(?:href|src)\s*=\s*(\S+)", script)
    assert targets, "the failed-files link is expected"
    assert all(target.startswith('"/') for target in targets), targets
    assert "setAttribute(" not in script


def test_page_loads_only_local_scripts() -> None:
    """The page references no other origin, so the dashboard works with no network."""
    page = (STATIC / "index.html").read_text()
    assert "http://" not in page
    assert "https://" not in page
