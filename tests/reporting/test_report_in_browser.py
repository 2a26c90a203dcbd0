"""The reports and the class dashboard as a student or TA opens them: headless Chromium (Debian's `chromium`
and `chromedriver`, driven by Selenium through the driver's own path: Selenium Manager downloads nothing).
Each page is right-to-left where it should be, shows Vazirmatn (embedded: no request leaves the page),
is not blank, and leaves nothing in the browser console.  Skipped where Chromium is not installed."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from davar.commands import self_check_view
from davar.reporting import dashboard, report

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs chromium and chromedriver")

# What the page's fonts have loaded once it is ready: the families and whether Vazirmatn's faces are loaded.
FONTS_SCRIPT = """
const done = arguments[arguments.length - 1];
document.fonts.ready.then(() => done({
  loaded: [...document.fonts].filter(f => f.status === "loaded").map(f => f.family.replace(/["']/g, "")),
  vazirmatn: document.fonts.check("16px Vazirmatn", "سلام"),
  rendered: getComputedStyle(document.body).fontFamily,
  dir: document.documentElement.dir,
  direction: getComputedStyle(document.body).direction,
  resources: performance.getEntriesByType("resource").map(e => e.name),
}));
"""


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _pages(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """The fa and en report of a graded student, the fa and en self-check report of a notebook that raised,
    and the fa and en class dashboard: each page's file and its language."""
    from test_dashboard import FakeAssignment, cohort  # the same results the page's own tests render
    from test_report import COURSE, TITLE, execution_error, graded

    pages = {}
    for lang in report.LANGS:
        for name, result in (("report", graded()), ("self-check", self_check_view(execution_error()))):
            path = tmp_path / f"{name}.{lang}.html"
            path.write_text(report.render_report(result, lang, assignment_title=TITLE, course=COURSE), "utf-8")
            pages[path.stem] = (path, lang)
    for path in dashboard.render_dashboard(cohort(), FakeAssignment(), tmp_path / "dashboard"):
        pages[f"dashboard.{'en' if path.name.endswith('.en.html') else 'fa'}"] = (path, "en" if ".en." in path.name
                                                                                  else "fa")
    return pages


def _requests(driver) -> list[str]:
    """Every URL the page asked the network stack for since the last call (Chrome's DevTools log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _fonts_drawn(driver, selector: str) -> set[str]:
    """The fonts Chromium actually drew the text of the first `selector` with (DevTools' platform fonts)."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"] for f in fonts}


def test_pages_render_rtl_in_vazirmatn_with_nothing_fetched_and_no_console_error(browser, tmp_path):
    from PIL import Image

    pages = _pages(tmp_path)
    assert len(pages) == 6
    browser.get_log("browser"), browser.get_log("performance")  # what starting the browser logged
    for name, (path, lang) in pages.items():
        browser.get(path.as_uri())
        seen = browser.execute_async_script(FONTS_SCRIPT)
        expected = "rtl" if lang == "fa" else "ltr"
        assert (seen["dir"], seen["direction"]) == (expected, expected), name
        assert seen["vazirmatn"] and "Vazirmatn" in seen["loaded"], name  # the embedded faces, loaded
        assert seen["rendered"].startswith("Vazirmatn"), name
        assert "Vazirmatn" in _fonts_drawn(browser, "h1"), name  # what the heading's glyphs were drawn with
        # nothing but the page itself and its own data: URIs (fonts, figures, plots)
        assert not [u for u in seen["resources"] if not u.startswith("data:")], name
        assert not [u for u in _requests(browser) if u != path.as_uri() and not u.startswith("data:")], name
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert errors == [], name  # a CSP violation, a broken image or a script error would be here
        shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("L")
        low, high = shot.getextrema()
        assert high - low > 100 and len(shot.getcolors(2**16) or ()) > 20, name  # text on a page, not blank
