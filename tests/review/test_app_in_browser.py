"""The one real browser test of `davar review`: `davar review` started as a TA starts
it, Chromium driven by Selenium (headless; the Debian chromium and chromedriver, never a download), a
manual question graded for two students by keyboard, then `davar report` shows the scores and the comment."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from davar import cli
from davar.book import gradebook

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="chromium and chromedriver are not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True  # 403 without the token: it answers
    except OSError:
        return False
    return True


@pytest.fixture
def server(course, tmp_path):
    """`davar review` running on the course; yields its login URL (read from what it printed)."""
    a, out, submissions = course
    davar = shutil.which("davar", path=str(Path(sys.executable).parent)) or "davar"
    log = tmp_path / "review.log"
    with log.open("w") as sink:
        process = subprocess.Popen([davar, "review", str(a.directory), "--out", str(out), "--submissions",
                                    str(submissions), "--port", str(_free_port()), "--lang", "fa"],
                                   stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "400"})
    try:
        url = None
        for _ in range(300):  # until it has printed its URL and answers (at most ~30 s)
            found = re.search(r"http://\S+/login\?token=[\w-]+", log.read_text("utf-8"))
            if found and _up(found.group(0).split("/login")[0] + "/"):
                url = found.group(0)
                break
            if process.poll() is not None:
                break
            time.sleep(0.1)
        assert url, log.read_text("utf-8")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--lang=fa"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_ta_grades_two_students_by_keyboard_and_the_report_shows_it(course, server, browser):
    from PIL import Image
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    a, out, _ = course
    keys = ActionChains(browser)

    def wait_for(student: str) -> None:
        browser.find_element(By.XPATH, f"//h2[@class='student' and text()='{student}']")

    browser.get(server)
    browser.find_element(By.ID, "name").send_keys("دستیار یک", Keys.ENTER)
    browser.find_element(By.CSS_SELECTOR, "a.question-link[data-question='3']").click()
    wait_for("40010001")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    keys.send_keys("2").perform()  # the second rubric item: 6 points
    assert browser.find_element(By.ID, "points").get_attribute("value") == "6"
    keys.send_keys("c").perform()
    keys.send_keys("پاسخ خوب و کامل").key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    wait_for("40010002")  # saved, and on to the next student
    assert browser.execute_script("return window.pwned === undefined")  # the hostile answer ran nothing
    keys.send_keys("g").perform()
    keys.send_keys("۳").key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    browser.find_element(By.ID, "current")  # the page shows the score now counted
    assert browser.execute_script("return window.pwned === undefined")
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("L")
    low, high = shot.getextrema()
    assert high - low > 100 and len(shot.getcolors(2**16) or ()) > 20  # text and colours, not a blank page

    counted = {s.student: s for s in gradebook.manual(out / a.id / "gradebook.sqlite", a.id)}
    assert {k: (s.points, s.comment, s.source) for k, s in counted.items()} == {
        "40010001": (6, "پاسخ خوب و کامل", "review:دستیار یک"), "40010002": (3, "", "review:دستیار یک")}
    assert cli.main(["report", str(a.directory), "--out", str(out)]) == 0  # `davar report`
    report = (out / a.id / "40010001" / "report.fa.html").read_text("utf-8")
    assert "پاسخ خوب و کامل" in report and "۶" in report
