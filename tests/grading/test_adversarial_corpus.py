"""The adversarial corpus (tests/adversarial: one notebook per attack, written by make.py, each one's result in
expected.toml) graded in one batch with the honest samples, two workers, as `davar grade` grades a class
(issue 13's acceptance): each notebook gets its expected result, every result is in the gradebook, and
afterwards no process of a sandbox uid, no `davar-run-*` cgroup or run folder of the batch's workers remains,
no report shows a student's HTML unescaped, and the harness unpickled nothing a student made.

One batch for all (module scope): ~45 sandboxed runs, about two minutes on two cores.  At a level below
`strict`, the attacks only the strict sandbox contains (`strict = true`: fork, memory, disk) are left out."""

import base64
import importlib.util
import io
import json
import os
import re
import shutil
import sqlite3
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from davar import commands
from davar.book import gradebook
from davar.inside import protocol
from davar.results import ExecutionRecord, SubmissionResult
from davar.run import figures, quota, sandbox

CORPUS = Path(__file__).parents[1] / "adversarial"
EXPECTED: dict[str, dict] = tomllib.loads((CORPUS / "expected.toml").read_text("utf-8"))
LEVEL = sandbox.detect().best
#: The features of issue 13 some expectations depend on, and whether this davar has them.
FEATURES = {"fatal-cell-rerun": "skipped_cell" in {f.name for f in fields(ExecutionRecord)},
            "helper-unreachable": hasattr(protocol, "REQUEST")}
#: A payload's own markup, as the students wrote it (make.py): inside a tag (`<img … onerror=…davar-xss…>`), or
#: right after the tag that carries it (`<script>alert('davar-xss…`, `<b>davar-xss…`): never escaped.
RAW_HTML = re.compile(r"<[^<>]*davar-xss|<script>alert\(.davar-xss|<b>davar-xss", re.IGNORECASE)
#: What html_in_every_text and forges_audit_reports write that must reach a report (escaped).
SHOWN = ("davar-xss-name", "davar-xss-file", "davar-xss-error", "davar-xss-probe", "davar-xss-path",
         "davar-xss-audit", "davar-xss-shim")

pytestmark = pytest.mark.skipif(LEVEL == "none", reason="without a sandbox the corpus attacks this machine")


def _make() -> ModuleType:
    """tests/adversarial/make.py (the notebooks' sources, `plant`), under a name of its own."""
    spec = importlib.util.spec_from_file_location("adversarial_make", CORPUS / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs_here(want: dict) -> bool:
    return LEVEL == "strict" or not want.get("strict")


def _cases():
    for name, want in EXPECTED.items():
        marks = []
        if not _runs_here(want):
            marks.append(pytest.mark.skip(reason="only the strict sandbox contains it"))
        elif want.get("needs") and not FEATURES[want["needs"]]:
            marks.append(pytest.mark.xfail(reason=f"needs {want['needs']} (issue 13)", strict=False))
        yield pytest.param(name, marks=marks, id=name)


@dataclass(frozen=True)
class Batch:
    out: Path  # the assignment's reports folder
    results: dict[str, SubmissionResult]
    graded: tuple[str, ...]  # the students in the batch
    workers: frozenset[int]  # the pids of every worker the driver (this process) started


@pytest.fixture(scope="module")
def batch(tmp_path_factory, leftovers) -> Batch:
    """The corpus copied with its assignment, what git cannot hold planted (make.plant), graded in one batch."""
    root = tmp_path_factory.mktemp("adversarial")
    for top in ("graders", "reference"):
        shutil.copytree(CORPUS / top, root / top)
    graded = tuple(name for name, want in EXPECTED.items() if _runs_here(want))
    for name in graded:
        shutil.copytree(CORPUS / "submissions" / name, root / "subs" / name)
    graders, data = root / "graders" / "adv", root / "data"
    commands.build_data(assignment=str(graders), data_root=data)
    _make().plant(root / "subs", hidden=data / "adv" / "hidden", graders=graders)
    workers: set[int] = set()
    results = commands.grade(assignment=str(graders), path=root / "subs", out=root / "out", sandbox_level=LEVEL,
                             data_root=data, workers=2,
                             on_running=lambda _: workers.update(leftovers.children(os.getpid())))
    return Batch(out=root / "out" / "adv", results={r.student: r for r in results}, graded=graded,
                 workers=frozenset(workers))


def test_the_table_names_every_notebook_of_the_corpus():
    make = _make()
    on_disk = {p.name for p in (CORPUS / "submissions").iterdir() if p.is_dir()}
    assert set(EXPECTED) == set(make.NOTEBOOKS) == on_disk
    assert len(EXPECTED) >= 30 and all(want.get("why") for want in EXPECTED.values())
    assert {want["needs"] for want in EXPECTED.values() if "needs" in want} <= set(FEATURES)


def _shown(result: SubmissionResult) -> str:
    """What a failed assertion shows of a result."""
    return json.dumps({
        "status": result.status, "score": result.score, "messages": [m.key for m in result.messages],
        "reasons": [e.reason for e in result.executions],
        "tests": {t.id: (t.outcome, [m.key for m in t.messages]) for q in result.questions for t in q.tests},
        "blocked": [b["target"][:80] for b in result.sandbox.blocked][:10]}, ensure_ascii=False)


@pytest.mark.parametrize("name", list(_cases()))
def test_each_notebook_gets_its_expected_result(batch, name):
    want, result = EXPECTED[name], batch.results[name]
    shown = _shown(result)
    assert result.status in ([want["status"]] if isinstance(want["status"], str) else want["status"]), shown
    assert result.score == want["score"], shown
    assert set(want.get("messages", ())) <= {m.key for m in result.messages}, shown
    for key, values in want.get("message_values", {}).items():
        assert any(m.key == key and values.items() <= m.values.items() for m in result.messages), shown
    assert set(want.get("test_messages", ())) <= {m.key for q in result.questions for t in q.tests
                                                  for m in t.messages}, shown
    assert set(want.get("blocked", ())) <= {b["target"] for b in result.sandbox.blocked}, shown
    if "reason" in want:
        assert result.execution.reason == want["reason"], shown
    if "disk_used_mb_max" in want:
        assert result.execution.disk_used_mb is not None and result.execution.disk_used_mb <= want["disk_used_mb_max"]
    if "figures" in want:
        assert len([f for f in result.figures if f.data]) == want["figures"], shown
    assert result.sandbox.level == LEVEL
    for notebook in {f.notebook for f in result.figures}:  # only PNGs davar wrote, as many as it keeps
        assert len([f for f in result.figures if f.notebook == notebook and f.data]) <= figures.MAX_FIGURES
    for f in result.figures:
        if f.data:
            with Image.open(io.BytesIO(base64.b64decode(f.data))) as image:
                assert image.format == "PNG" and max(image.size) <= figures.MAX_SIDE


def test_every_result_is_in_the_gradebook_once_and_in_its_folder(batch):
    book = batch.out / "gradebook.sqlite"
    with sqlite3.connect(book) as db:
        students = sorted(student for (student,) in db.execute("SELECT student FROM results"))
    assert students == sorted(batch.graded) == sorted(batch.results)
    for text in gradebook.latest_json(book, "adv"):
        student = json.loads(text)["student"]
        assert (batch.out / student / "result.json").read_text("utf-8") == text, student
        assert (batch.out / student / "report.en.html").is_file() and (batch.out / student / "report.fa.html").is_file()


def test_the_batch_leaves_nothing_running_or_behind(batch, leftovers):
    assert batch.workers, "no worker seen"
    assert leftovers.sandboxed(batch.workers) == []  # the daemons, sleeps and fork bombs included
    assert leftovers.runs(batch.workers) == []  # cgroups, run folders, disk images
    assert leftovers.escaped() == []  # no process of a sandbox uid outside a run's cgroup, whoever's
    assert not [run for run in quota.mounted_runs() if any(f"davar-run-{w}-" in str(run) for w in batch.workers)]
    assert not Path(_make().UNPICKLED).exists()  # the harness never unpickled the decoy or the object arrays


def test_the_reports_escape_everything_the_students_wrote(batch):
    pages = {p: p.read_text("utf-8") for p in batch.out.rglob("*.html")}
    assert len(pages) >= 2 * len(batch.graded)
    raw = {str(p.relative_to(batch.out)): m.group(0) for p, html in pages.items() if (m := RAW_HTML.search(html))}
    assert raw == {}
    everything = "".join(pages.values())
    assert [marker for marker in SHOWN if marker not in everything] == []  # they did reach the pages, escaped
