"""Results round-trip through JSON and the gradebook; history is kept."""

import dataclasses
import json

from davar.book import gradebook
from davar.results import (
    DataRecord,
    ExecutionRecord,
    Message,
    QuestionResult,
    SandboxRecord,
    SubmissionResult,
    TestResult,
    from_dict,
    from_json,
)


def make(score=2.0, student="s1"):
    t = TestResult(id="a", title={"fa": "الف", "en": "a"}, outcome="passed" if score else "failed", points=score,
                   max_points=2.0, messages=(Message(key="k", values={"x": 1}, fa="ف", en="e"),))
    return SubmissionResult(assignment="x", student=student, digest="d", status="graded",
                            questions=(QuestionResult(id="1", title={"fa": "۱", "en": "1"}, max_points=2.0, tests=(t,)),),
                            executions=(ExecutionRecord(notebook="nb.ipynb", status="ok"),), sandbox=SandboxRecord(level="strict", network=False),
                            graded_at="2026-11-23T10:00:00+00:00")


def test_json_round_trip_recomputes_totals():
    r = make()
    again = from_json(r.to_json())
    assert again == r and again.score == 2.0 and again.max_score == 2.0


def test_the_disk_quota_facts_round_trip():
    """What a run's disk held (`disk_used_mb`, "disk_limit") and what the level did not enforce come back as
    written; a record from before them reads with their defaults."""
    r = dataclasses.replace(make(), executions=(ExecutionRecord(notebook="nb.ipynb", status="error", reason="disk_limit",
                                                                disk_used_mb=64.5),),
                            sandbox=SandboxRecord(level="basic", network=False, limits={"disk_mb": 64},
                                                  not_enforced=("memory_mb", "disk_mb")))
    assert from_json(r.to_json()) == r
    old = json.loads(make().to_json())
    del old["sandbox"]["not_enforced"], old["executions"][0]["disk_used_mb"]
    again = from_dict(old)
    assert again.sandbox.not_enforced == () and again.execution.disk_used_mb is None


def test_what_a_level_without_walls_let_through_or_refused_round_trips():
    net = {"kind": "network", "op": "socket.connect", "target": "192.0.2.1:80"}
    mine = {"kind": "file", "op": "open", "target": "/home/ali/train.csv"}
    r = dataclasses.replace(make(), sandbox=SandboxRecord(level="none", network=True, not_blocked=(net,),
                                                          refused=(mine,)))
    assert from_json(r.to_json()) == r
    old = json.loads(make().to_json())
    del old["sandbox"]["not_blocked"], old["sandbox"]["refused"]  # a record from before they were kept
    assert from_dict(old).sandbox.not_blocked == () and from_dict(old).sandbox.refused == ()


def test_gradebook_keeps_history_and_gives_the_latest(tmp_path):
    db = tmp_path / "g.sqlite"
    gradebook.add(db, make(0.0))
    gradebook.add(db, make(2.0))
    gradebook.add(db, make(0.0, student="s2"))
    assert [r.score for r in gradebook.history(db, "x", "s1")] == [0.0, 2.0]
    assert [(r.student, r.score) for r in gradebook.latest(db, "x")] == [("s1", 2.0), ("s2", 0.0)]


def test_bonus_points_count_on_top_of_the_maximum():
    r = make()
    bonus = QuestionResult(id="b", title={"fa": "", "en": ""}, max_points=5.0, bonus=True, tests=(
        TestResult(id="x", title={"fa": "", "en": ""}, outcome="passed", points=5.0, max_points=5.0),))
    r = SubmissionResult(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "questions": (*r.questions, bonus)})
    assert r.score == 7.0 and r.max_score == 2.0
    assert from_json(r.to_json()) == r


def test_late_penalty_gives_the_final_score_and_round_trips():
    from davar.results import Lateness

    r = dataclasses.replace(make(), lateness=Lateness(submitted_at="2023-11-25T10:00:00+03:30",
                                                      deadline="2023-11-24T23:59:00+03:30", late_s=36060.0,
                                                      days_late=1, penalty=0.25, policy="per_day"))
    assert r.score == 2.0 and r.final_score == 1.5 and r.to_dict()["final_score"] == 1.5
    assert from_json(r.to_json()) == r


def test_schema_1_results_still_load():
    data = json.loads(make().to_json())
    data["execution"] = {k: v for k, v in data.pop("executions")[0].items() if k != "notebook"}
    data.update(schema_version=1, notebook="HW2_CNN.ipynb")
    again = from_dict(data)
    assert again.executions[0].notebook == "HW2_CNN.ipynb" and again.execution.status == "ok"


def test_new_records_store_a_message_as_its_key_variant_and_values():
    from davar import catalogue
    from davar.results import SCHEMA_VERSION

    m = catalogue.message("missing_name", {"name": "conv2d_2"}, variant="fail")
    r = dataclasses.replace(make(), messages=(m,), submitted_at="2023-11-25T10:00:00+03:30")
    data = json.loads(r.to_json())
    assert data["schema_version"] == SCHEMA_VERSION == 3
    assert data["messages"] == [{"key": "missing_name", "values": {"name": "conv2d_2"}, "variant": "fail"}]
    assert data["submitted_at"] == "2023-11-25T10:00:00+03:30" and from_json(r.to_json()) == r


def test_schema_2_results_still_load_with_their_text_and_submission_time():
    data = json.loads(make().to_json())
    data["schema_version"] = 2
    del data["submitted_at"]
    data["messages"] = [{"key": "gone_key", "values": {}, "fa": "متن قدیمی", "en": "old text"}]
    data["lateness"] = {"submitted_at": "2023-11-25T10:00:00+03:30", "deadline": "2023-11-24T23:59:00+03:30",
                        "late_s": 36060.0, "days_late": 1, "penalty": 0.1, "policy": "per_day"}
    again = from_dict(data)
    assert again.schema_version == 3 and again.submitted_at == "2023-11-25T10:00:00+03:30"
    assert again.messages == (Message(key="gone_key", fa="متن قدیمی", en="old text"),)
    assert again.questions[0].tests[0].messages[0].en == "e"


def test_the_data_a_result_was_graded_on_round_trips_and_older_records_have_none():
    r = dataclasses.replace(make(), data=DataRecord(profile="standin", digest="ab" * 32, standin=True))
    assert from_json(r.to_json()) == r and from_json(r.to_json()).data.standin
    older = json.loads(make().to_json())
    del older["data"]  # a schema-3 record written before the field existed
    assert from_dict(older).data is None
    schema_2 = json.loads(make().to_json()) | {"schema_version": 2}
    del schema_2["data"]
    assert from_dict(schema_2).data is None
