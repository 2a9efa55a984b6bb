"""The car page's files ship with the dashboard's and follow its rules."""

from __future__ import annotations

from services.monitor.http import STATIC


def test_car_page_script_never_parses_data_as_html() -> None:
    """car.js builds the page with textContent only: no HTML-parsing sinks, no eval."""
    script = (STATIC / "car.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_car_page_loads_only_local_files() -> None:
    """car.html references no other origin and no inline script (the CSP allows neither)."""
    page = (STATIC / "car.html").read_text()
    assert "http://" not in page
    assert "https://" not in page
    assert "<script>" not in page
    assert {"car.html", "car.js", "car.css"} <= {path.name for path in STATIC.iterdir()}
