"""`davar review` over HTTP (Starlette's TestClient): login, grading, security, concurrency, progress."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from davar import commands
from davar.book import gradebook
from davar.reporting import report as report_mod
from davar.review import app as review_app

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def review(course):
    a, out, submissions = course
    return review_app.prepare(assignment=a, out=out, submissions=submissions, lang="fa", token="the-token")


def _client(review, name="TA one"):
    client = TestClient(review_app.create_app(review), base_url=BASE)
    response = client.post("/login", data={"token": "the-token", "name": name, "lang": "en"})
    assert response.status_code == 200, response.text  # followed the redirect to the index
    return client


def _form(page: str) -> dict[str, str]:
    """The hidden fields of the grading form of a page."""
    form = page[page.index('id="grade"'):]
    return dict(re.findall(r'name="(csrf|version|next)" value="([^"]*)"', form)[:3])


def test_no_token_no_session_is_403(review):
    client = TestClient(review_app.create_app(review), base_url=BASE)
    assert client.get("/").status_code == 403
    assert client.get("/q/3/40010001").status_code == 403
    assert client.get("/login").status_code == 403
    assert client.get("/login?token=wrong").status_code == 403
    assert client.post("/login", data={"token": "wrong", "name": "x"}).status_code == 403
    assert client.post("/q/3/40010001", data={"points": "1"}).status_code == 403
    assert client.get("/login?token=the-token").status_code == 200


def test_a_score_lands_in_the_gradebook_with_who_and_when_and_in_the_report(review, course):
    a, out, _ = course
    client = _client(review)
    page = client.get("/q/3/40010001").text
    assert "تقطیر دانش" in page and "NOT THE ANSWER" not in page and "print" in page  # the answer's cells only
    assert "States the purpose" in page  # the rubric
    response = client.post("/q/3/40010001", data={**_form(page), "points": "۷٫۵", "comment": "توضیح خوب",
                                                   "lang": ""}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/q/3/40010002")
    [score] = gradebook.manual(review.book, "m")
    assert (score.student, score.question, score.points, score.source) == ("40010001", "3", 7.5, "review:TA one")
    assert score.imported_at
    shown = client.get("/q/3/40010001").text  # the time in the assignment's zone and the TA's calendar, not ISO
    assert score.imported_at not in shown and report_mod.format_timestamp(
        score.imported_at, "en", ZoneInfo(a.timezone)) in shown
    assert "1 of 2" in client.get("/").text  # progress of the question
    commands.report_all(assignment=str(a.directory), out=out)
    report = (out / "m" / "40010001" / "report.fa.html").read_text("utf-8")
    assert "توضیح خوب" in report
    dashboard = (out / "m" / "index.html").read_text("utf-8")
    assert 'href="http://127.0.0.1:8765/q/3"' in dashboard  # the class dashboard links to the review


def test_a_hostile_answer_is_sanitized_and_nothing_external_may_load(review):
    client = _client(review)
    response = client.get("/q/3/40010002")
    page = response.text
    answer = page[page.index('class="answer"'):page.index('class="grading"')]
    assert "<script" not in answer and "onerror" not in answer and "javascript:" not in answer
    assert "127.0.0.1:9" not in answer and "example.invalid" not in answer
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "img-src 'self' data:" in csp and "default-src 'none'" in csp


def test_a_post_without_the_form_token_or_from_another_site_is_refused(review):
    client = _client(review)
    fields = _form(client.get("/q/3/40010001").text)
    assert client.post("/q/3/40010001", data={"points": "3", "version": "0"}).status_code == 403
    assert client.post("/q/3/40010001", data={**fields, "csrf": "forged", "points": "3"}).status_code == 403
    assert client.post("/q/3/40010001", data={**fields, "points": "3"},
                       headers={"origin": "https://evil.example"}).status_code == 403
    assert gradebook.manual(review.book, "m") == []


def test_two_tas_saving_the_same_score_one_conflict_both_attempts_kept(review):
    first, second = _client(review, "TA one"), _client(review, "TA two")
    form_1 = _form(first.get("/q/3/40010001").text)
    form_2 = _form(second.get("/q/3/40010001").text)  # both saw version 0
    assert first.post("/q/3/40010001", data={**form_1, "points": "6"}, follow_redirects=False).status_code == 303
    conflict = second.post("/q/3/40010001", data={**form_2, "points": "9"})
    assert conflict.status_code == 409 and "another TA" in conflict.text
    history = gradebook.manual_history(review.book, "m", "40010001", "3")
    assert [(s.points, s.source, counts) for s, counts in history] == [(6, "review:TA one", True),
                                                                        (9, "review:TA two", False)]
    assert [s.points for s in gradebook.manual(review.book, "m")] == [6]  # the first counts, nothing overwritten
    again = _form(conflict.text)  # the conflict page carries the version now counted: saving again replaces it
    assert second.post("/q/3/40010001", data={**again, "points": "9"}, follow_redirects=False).status_code == 303
    assert [s.points for s in gradebook.manual(review.book, "m")] == [6, 9]


def test_points_out_of_range_are_refused(review):
    client = _client(review)
    fields = _form(client.get("/q/3/40010001").text)
    assert client.post("/q/3/40010001", data={**fields, "points": "11"}).status_code == 400
    assert client.post("/q/3/40010001", data={**fields, "points": "a lot"}).status_code == 400
    assert gradebook.manual(review.book, "m") == []


def test_an_override_of_an_automatic_test_with_its_reason(review):
    client = _client(review)
    page = client.get("/q/3/40010001").text
    csrf = _form(page)["csrf"]
    client.post("/q/3/40010001", data={"csrf": csrf, "action": "override", "test": "t", "points": "2",
                                       "reason": "copied"})
    [o] = gradebook.overrides(review.book, "m")
    assert (o.test, o.points, o.reason, o.by) == ("t", 2, "copied", "TA one")


def test_a_ta_edits_the_rubric_and_every_ta_sees_it(review):
    first, second = _client(review, "TA one"), _client(review, "TA two")
    csrf = _form(first.get("/q/3/40010001").text)["csrf"]
    assert first.post("/q/3/40010001", data={"csrf": csrf, "action": "rubric", "rubric": "no points | x"}
                      ).status_code == 400
    first.post("/q/3/40010001", data={"csrf": csrf, "action": "rubric",
                                      "rubric": "۳ | هدف | The purpose\n7 | ضرر | The loss\n"})
    page = second.get("/q/3/40010002").text
    assert "The purpose" in page and "States the purpose" not in page and 'data-points="3.0"' in page
