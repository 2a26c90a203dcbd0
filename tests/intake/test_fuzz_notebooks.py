"""Fuzzing notebook files into intake, repair, grading and execution (issue 13): whatever a student's editor
or a hostile student saves as a notebook, the harness raises nothing but its keyed `InvalidSubmission`, and
every submission gets a result with a status, its messages worded in fa and en.

`notebook_files` draws the bytes of a file named like a notebook: nbformat 3, 4 and 5 notebooks with odd
content (huge, RTL, control characters, lone surrogates, strange mime bundles, odd or wrongly typed
metadata, missing keys, duplicate or invalid cell ids, attachments), saved in several encodings, then
sometimes damaged (cut off, junk inserted or appended, nesting thousands deep spliced in); JSON that is
not an object; random bytes.  Each property is bounded (`max_examples`, no deadline: a sandboxed kernel
start is seconds), and the execute property draws its few notebooks with a fixed seed (`derandomize`: the
same examples from run to run, though hypothesis draws some values from constants in the modules it has
seen, so which notebooks those are may change with the tests run before it or hypothesis's version).
"""

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import get_args
from unittest import mock

import nbformat
import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from davar import catalogue, results
from davar.assignment import load as load_assignment
from davar.errors import InvalidSubmission
from davar.grading.grade import grade_submission
from davar.intake import inbox, repair
from davar.results import RunStatus, Status, SubmissionResult
from davar.run import execute, sandbox

# ---------------------------------------------------------------- strategies

PIECES = ["\x00", "\x1b[2J", "\r", "\u2028", "\u202e", "\u200f", "\ufeff", "سلام دنیا", "<script>alert(1)</script>",
          "{{ x }}", "{0}", "\\", '"', "\n", "🙂"]
LONE_SURROGATES = ["\ud800", "\udfff", "\udc00x\ud83d"]  # no character: a JSON escape, or bytes that are not UTF-8
_LONE = re.compile("[\ud800-\udfff]")
CODE = ["answer = 42", "print('سلام')", "import sys; sys.stdout.write('\\x1b[2J\\u202e')", "1 / 0",
        "from IPython.display import HTML, display; display(HTML('<script>alert(1)</script>'))",
        "%%time\nx = [i for i in range(10)]", "def f(:\n", "x = 1\n" * 200]
TEXT = st.lists(st.text(max_size=12) | st.sampled_from(PIECES + LONE_SURROGATES), max_size=5).map("".join)
HUGE = st.builds(lambda piece, n: piece * n, st.sampled_from(["ا", "x\n", "\x00", "🙂", "\u202e"]),
                 st.sampled_from([10**4, 10**5, 10**6]))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
MIME = st.sampled_from(["text/plain", "text/html", "image/png", "image/svg+xml", "application/json",
                        "application/javascript", "application/vnd.jupyter.widget-view+json", "text/markdown",
                        "application/pdf", "x/\u202e", ""]) | TEXT
TAGS = st.lists(st.sampled_from(["parameters", "injected-parameters", execute.SETUP_TAG, "raises-exception"]) | TEXT,
                max_size=3)
CELL_ID = st.one_of(st.sampled_from(["answer", "cell-0", "cell-1", "dup", "dup", "x" * 65, "bad id!", ""]), TEXT)
KEYS = ["cell_type", "source", "metadata", "id", "outputs"]


def _merged(fixed: dict, extra: dict) -> dict:
    return {**extra, **fixed}


def _without(d: dict, keys: list[str]) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def _notebooks(odd: bool):
    """Notebook objects, nbformat 4 (and some 3): every text odd; with `odd`, wrongly typed or missing
    values too (hypothesis repeats a rare choice within one example, so oddness is drawn per notebook)."""
    def rather(common, unusual):
        return common | unusual if odd else common

    texts = st.one_of(TEXT, TEXT, st.sampled_from(CODE), HUGE)
    source = rather(texts | st.lists(texts, max_size=4), JSON)
    bundle = st.dictionaries(MIME, st.one_of(texts, st.lists(TEXT, max_size=3), JSON), max_size=4)
    output = rather(st.fixed_dictionaries(
        {"output_type": rather(st.sampled_from(["stream", "display_data", "execute_result", "error"]), JSON)},
        optional={"name": st.sampled_from(["stdout", "stderr"]) | TEXT, "text": source, "data": bundle,
                  "metadata": rather(bundle, JSON), "execution_count": st.none() | st.integers(), "ename": TEXT,
                  "evalue": TEXT, "traceback": st.lists(TEXT, max_size=3)}), JSON)
    metadata = rather(st.builds(_merged, st.fixed_dictionaries({}, optional={
        "tags": rather(TAGS, JSON),
        "kernelspec": rather(st.fixed_dictionaries({"name": TEXT, "display_name": TEXT}), JSON),
        "language_info": rather(st.fixed_dictionaries({"name": TEXT}), JSON), "collapsed": st.booleans(),
        "jupyter": JSON, "colab": JSON, "widgets": JSON, "papermill": JSON}), st.dictionaries(TEXT, JSON, max_size=2)),
        JSON)
    cell = st.fixed_dictionaries(
        {"cell_type": rather(st.sampled_from(["code", "code", "markdown", "raw"]), st.just("heading") | JSON),
         "source": source, "metadata": metadata},
        optional={"id": rather(CELL_ID, st.none() | st.integers()),
                  "outputs": rather(st.lists(output, max_size=3), JSON),
                  "execution_count": rather(st.none() | st.integers(-3, 10**12), JSON),
                  "attachments": rather(st.dictionaries(TEXT, bundle, max_size=2), JSON)})
    cells = st.lists(rather(cell, st.builds(_without, st.builds(_merged, cell, st.dictionaries(TEXT, JSON, max_size=2)),
                                            st.lists(st.sampled_from(KEYS), max_size=2))), max_size=6)
    v3_cell = st.one_of(
        st.fixed_dictionaries({"cell_type": st.just("code"), "input": source, "language": st.just("python") | TEXT,
                               "metadata": metadata, "outputs": st.lists(output, max_size=2)},
                              optional={"prompt_number": st.none() | st.integers(), "collapsed": st.booleans()}),
        st.fixed_dictionaries({"cell_type": st.sampled_from(["markdown", "heading", "raw"]), "source": source,
                               "metadata": metadata}, optional={"level": rather(st.integers(1, 6), JSON)}))
    v4 = st.fixed_dictionaries(
        {"cells": rather(cells, JSON), "metadata": metadata,
         "nbformat": rather(st.just(4), st.sampled_from([3, 5, 1, "4", None, 4.0, True, -1, 10**40]) | JSON),
         "nbformat_minor": rather(st.integers(0, 5), st.integers() | JSON)})
    v3 = st.fixed_dictionaries(
        {"worksheets": rather(st.lists(st.fixed_dictionaries({"cells": st.lists(v3_cell, max_size=4),
                                                              "metadata": metadata}), min_size=1, max_size=2), JSON),
         "metadata": metadata, "nbformat": rather(st.just(3), JSON), "nbformat_minor": st.integers(0, 3)})
    return st.one_of(v4, v4, v4, v3)


# A file's bytes: "surrogatepass" writes lone surrogates as the invalid UTF-8 (or UTF-16) a buggy tool writes.
ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1256"]


def _saved(nb, encoding: str, ascii_only: bool, indent: int | None, lone_surrogates: bool) -> bytes:
    """`nb` as a file; most files have no lone surrogates (hypothesis would repeat them in every text)."""
    text = json.dumps(nb, ensure_ascii=False)
    if not lone_surrogates:
        text = _LONE.sub("", text)
    if ascii_only or indent:
        text = json.dumps(json.loads(text), ensure_ascii=ascii_only, indent=indent)
    return text.encode(encoding, "replace" if encoding == "cp1256" else "surrogatepass")


def _damaged(data: bytes, damage: list[tuple[str, float, bytes]]) -> bytes:
    """`data` cut off, or with `junk` inserted or appended, or nesting thousands deep or a number of 5000
    digits spliced in, at a fraction `where` of its length."""
    for how, where, junk in damage:
        at = int(len(data) * where)
        if how == "cut":
            data = data[:at]
        elif how == "insert":
            data = data[:at] + junk + data[at:]
        elif how == "append":
            data += junk
        else:  # where a value is expected (after a ":"): an array nested thousands deep, or a huge number
            colon = data.find(b":", at)
            value = b"[" * (len(junk) * 1000 + 10) + b"]" * (len(junk) * 1000 + 10) if how == "deep" else b"9" * 5000
            data = data[:colon + 1] + value + b"," + data[colon + 1:] if colon >= 0 else data
    return data


SAVED = st.builds(_saved, st.booleans().flatmap(_notebooks), st.sampled_from(ENCODINGS), st.booleans(),
                  st.sampled_from([None, 1]), st.sampled_from([False] * 7 + [True]))
DAMAGE = st.lists(st.tuples(st.sampled_from(["cut", "insert", "append", "deep", "number"]), st.floats(0, 1),
                            st.binary(max_size=12)), min_size=1, max_size=2)
notebook_files = st.sampled_from(range(10)).flatmap(lambda i: [  # mostly notebooks, a few with damage
    st.builds(_damaged, SAVED, DAMAGE),
    st.builds(lambda v, pad: pad + json.dumps(v).encode(), JSON, st.sampled_from([b"", b"\xef\xbb\xbf", b" \n"])),
    st.binary(max_size=300)][i] if i < 3 else SAVED)

# ---------------------------------------------------------------- the properties


def _worded(message) -> None:
    """A stored message renders in both languages, as every report and export renders it."""
    assert catalogue.render(message, "fa") and catalogue.render(message, "en")


def _read(path: Path):
    """`repair.check`'s notebook and notes, or its keyed refusal; nothing else may come out of it."""
    try:
        notes = repair.check(path)
    except InvalidSubmission as e:
        _worded(catalogue.message(e.key, e.values))
        return None, e
    nb, again = repair.load(path)
    assert again == notes
    for note in notes:
        _worded(note)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    nbformat.writes(nb).encode("utf-8")  # what the run writes into the sandbox
    return nb, None


def _file(source: bytes = b'"x = 1"', **top: bytes | None) -> bytes:
    """A small notebook's bytes: one code cell with the JSON text `source`; `top` adds or replaces top-level
    values, also as JSON text, or drops them (None): the fuzzer's finds, spelled as the bytes it found."""
    values = {b"nbformat": b"4", b"nbformat_minor": b"5", b"metadata": b"{}",
              b"cells": b'[{"cell_type": "code", "id": "a", "metadata": {}, "source": %s, "outputs": [], '
                        b'"execution_count": null}]' % source, **{k.encode(): v for k, v in top.items()}}
    return b"{" + b", ".join(b'"%s": %s' % (k, v) for k, v in values.items() if v is not None) + b"}"


# What the fuzzer found (each crashed repair or the run, or was refused for no reason a student could act
# on) -> what becomes of it now: the repair notes, or the refusal.
FOUND = {
    _file(nbformat_minor=b"null"): [],  # TypeError: '>=' between None and int
    _file(b'"x = \\"\\ud800\\""'): ["repair_lone_surrogates"],  # the run could not write it as UTF-8
    _file(b'"x = \xed\xa0\x80"'): "notebook_not_utf8",  # json.loads let a surrogate's bytes through
    _file(metadata=b'{"n": ' + b"9" * 5000 + b"}"): "notebook_bad_json",  # ValueError: more than 4300 digits
    _file(nbformat=b"3", nbformat_minor=b"2", cells=None, worksheets=b'[{"cells": [{"cell_type": "code", '
          b'"input": "x = 1", "outputs": []}]}]'): ["repair_nbformat3"],  # KeyError (None, None): no v3.2 schema
    _file(metadata=b'{"papermill": 1.5}'): [],  # the run failed in papermill: TypeError (item assignment)
}


@pytest.mark.parametrize("data", FOUND, ids=range(len(FOUND)))
def test_what_the_fuzzer_found_is_repaired_or_refused(tmp_path, data):
    path = tmp_path / "hw.ipynb"
    path.write_bytes(data)
    nb, refused = _read(path)
    if refused:
        assert refused.key == FOUND[data]
    else:
        assert [n.key for n in repair.load(path)[1]] == FOUND[data] and nb.cells[0].source.startswith("x = ")
        assert "papermill" not in nb.metadata


def _found(test):
    """`test` with each of the fuzzer's finds as an explicit example."""
    for data in FOUND:
        test = example(data=data)(test)
    return test


@settings(database=None, max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=notebook_files)
@_found
def test_repair_repairs_or_refuses_with_a_key(data):
    """Whatever the file holds, repair gives a valid notebook the run can write, or a keyed refusal."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hw.ipynb"
        path.write_bytes(data)
        _read(path)


GRADER = '''
import pytest

@pytest.mark.davar(question="1", points=1)
def test_runs_without_the_kernel():
    pass
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """An assignment whose one grader needs no kernel: grading an accepted notebook starts none."""
    graders = tmp_path_factory.mktemp("fuzz") / "graders" / "fuzz"
    graders.mkdir(parents=True)
    (graders / "assignment.toml").write_text(
        'id = "fuzz"\ntitle = { fa = "آزمون", en = "fuzz" }\nnotebooks = ["hw.ipynb"]\n'
        '[limits]\ncell_timeout_s = 30\ntotal_timeout_s = 60\nmemory_mb = 1024\n'
        '[[questions]]\nid = "1"\npoints = 1\ntitle = { fa = "یک", en = "one" }\n')
    (graders / "test_fuzz.py").write_text(GRADER)
    return load_assignment(graders)


NAMES = st.sampled_from(["hw.ipynb", "HW (1).ipynb", "Copy of hw.ipynb", "تمرین.ipynb", "hw.IPYNB", "hw.ipynb.txt",
                         "\u202ebnypi.hw", " hw .ipynb", "-hw.ipynb", "a\nb.ipynb"])


@settings(database=None, max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=notebook_files, name=NAMES, how=st.sampled_from(["folder", "zip", "file"]))
def test_intake_and_grading_always_give_a_result_with_a_status(tiny, data, name, how):
    """A folder of students, its zip or the lone file becomes a submission, and grading it gives a result
    that stores and renders: `invalid_submission` with repair's reason for a refused notebook, else graded."""
    with tempfile.TemporaryDirectory() as folder:
        student = Path(folder) / "subs" / "s1"
        student.mkdir(parents=True)
        (student / name).write_bytes(data)
        path = {"folder": student.parent, "file": student / name, "zip": Path(folder) / "subs.zip"}[how]
        if how == "zip":
            with zipfile.ZipFile(path, "w") as zf:
                zf.write(student / name, f"s1/{name}")
        try:
            [submission] = inbox.collect(path, tiny)
        except InvalidSubmission as e:  # a zip holding no notebook at all
            assert how == "zip" and e.key == "no_notebook"
            return
        result = grade_submission(submission, tiny, level="none")
        assert isinstance(result, SubmissionResult) and result.status in get_args(Status)
        assert results.from_json(result.to_json()) == result  # as the gradebook and result.json keep it
        for message in result.messages:
            _worded(message)
        if submission.problem is not None:
            assert result.status in ("missing", "invalid_submission")
            return
        _, refused = _read(submission.notebooks["hw.ipynb"])
        if refused:
            assert result.status == "invalid_submission" and result.messages[0].key == refused.key
        else:
            assert result.status == "graded", [catalogue.render(m, "en") for m in result.messages]


# ---------------------------------------------------------------- in the sandbox

LEVEL = "strict" if sandbox.detect().best == "strict" else "none"
# papermill replaces a cell tagged as its injected parameters (one an earlier papermill run left) by its own
PAPERMILLS = "injected-parameters"
SLOT = sandbox.Slot(index=11)  # no other test uses it, and its uid is this process's alone (`claim_uid`)


def _processes_of(uid: int) -> list[int]:
    """The processes running as `uid` (any namespace); an exited one its parent has yet to reap runs nothing."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue  # gone meanwhile
        if int(fields["Uid"].split()[1]) == uid and not fields["State"].strip().startswith(("Z", "X")):
            found.append(int(status.parent.name))
    return found


@settings(database=None, max_examples=3, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=notebook_files)
@example(data=_file(metadata=b'{"papermill": 1.5}'))  # papermill failed on it in the run (TypeError)
def test_accepted_notebooks_run_to_a_status_and_leave_nothing_behind(tiny, data):
    """A few notebooks intake accepts (drawn with a fixed seed), each run in a fresh sandbox: a record with
    a status and one entry per code cell, and afterwards no kernel, no process of the slot's uid, no cgroup,
    and nothing in the folder the run folder was made in."""
    with tempfile.TemporaryDirectory() as folder:
        student, parent = Path(folder) / "s1", Path(folder) / "runs"
        student.mkdir()
        parent.mkdir()
        (student / "hw.ipynb").write_bytes(data)
        nb, refused = _read(student / "hw.ipynb")
        assume(refused is None)
        [submission] = inbox.collect(student, tiny)
        with mock.patch.object(tempfile, "tempdir", str(parent)), \
                execute.run(submission, tiny, notebook="hw.ipynb", level=LEVEL, slot=SLOT,
                            data_root=Path(folder) / "data") as live:
            record, bridge, rundir = live.execution, live.bridge, live.workdir.parent
            kernel = bridge.km.provisioner.pid if bridge else None
        assert record.status in get_args(RunStatus)
        assert [c.index for c in record.cells] == [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        if record.status == "ok" and not any(PAPERMILLS in c.metadata.get("tags", []) for c in nb.cells):
            # every cell ran ("error": tagged raises-exception); nbclient skips blank ones
            assert all(c.status in ("ok", "error") for c in record.cells if nb.cells[c.index].source.strip()), \
                record.cells
        assert list(parent.iterdir()) == []
        if kernel is not None:
            with pytest.raises(ProcessLookupError):
                os.kill(kernel, 0)
        if LEVEL == "strict":
            assert _processes_of(SLOT.uid) == []
            assert not any((parent / rundir.name).exists() for parent in sandbox.CGROUP_PARENTS)


def test_a_student_cell_tagged_like_the_runs_own_keeps_its_record(tiny, tmp_path):
    """Found by the fuzzer: a student's cell tagged as davar's setup cell was taken for it, and the cells
    after it numbered wrongly (the re-run without a fatal cell would then leave out the wrong one)."""
    student = tmp_path / "s1"
    student.mkdir()
    cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": [execute.SETUP_TAG]}),
             nbformat.v4.new_code_cell("answer = 42")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), student / "hw.ipynb")
    [submission] = inbox.collect(student, tiny)
    with execute.run(submission, tiny, notebook="hw.ipynb", level=LEVEL, slot=SLOT, data_root=tmp_path) as live:
        assert live.execution.status == "ok"
        assert [c.status for c in live.execution.cells] == ["ok", "ok"]  # today: ["ok", "not_run"]
