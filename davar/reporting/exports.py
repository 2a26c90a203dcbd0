"""Gradebook exports: grades.csv / grades.xlsx, a Moodle grading worksheet, Gradescope results.json, JUnit XML.

Everything here is built from `SubmissionResult`s alone (plus the `Assignment` for the order of the
questions and its messages), so `davar report` can re-render every format from the gradebook without
re-running a notebook.  The results are views (`davar.book.view`: TA scores merged, lateness computed
there).  The column headers are English (these are machine formats); the text inside is each message
rendered now from its key and values (`catalogue.render`, the assignment's messages first), so
Persian survives.  CSV files are UTF-8 with a BOM, which Excel needs to show Persian names and Moodle
strips on import.

Safety: student ids and messages are student-controlled.  The `csv` module (or pandas) quotes
commas, quotes and newlines; XML goes through ElementTree (escaped) after characters XML 1.0 cannot
carry (ANSI escapes, other control characters) are removed; JSON is written by `json`.  A CSV cell
that a spreadsheet would run as a formula (starting with = + - @ or a tab/CR) gets a leading
apostrophe, the usual neutralisation; in the xlsx file such a value is stored as a string cell
instead, so the value is unchanged.  A student id used as a folder name (Gradescope) is reduced to
safe characters and, when that changed it, suffixed with a hash of the original, so ids never
escape the output folder or collide.

Hidden tests: Gradescope gets every test, hidden ones with visibility "after_published" (Gradescope
keeps them from students until the TA publishes).  JUnit XML (read by CI, which a student may see)
leaves out a hidden test's title and messages unless `reveal_hidden=True`; its outcome and points stay.

One set of numbers (the rule in full is in davar/reporting/report.py's docstring): every score here
is the grade, the points of hidden tests not yet released to students included, as in the student's
report and the dashboard.  While a test is withheld (hidden, and ``[visibility] release_hidden``
false; `report.withheld`), the part of the score earned on withheld tests (`report.hidden_points`)
is said where a person reads the score: grades.csv/xlsx's ``hidden_points`` column, right after
``score`` (empty when nothing is withheld, 0 when the withheld tests earned nothing), and in the
Moodle feedback comment (a student reads it), a line saying the grade includes that many points of
hidden tests whose details are not yet released; the comment's question lines, like the report's,
count only the tests a student is shown (`report.shown_points`).  With `reveal_hidden` (the
comment) or ``release_hidden`` (grades.csv) nothing is withheld and nothing is labelled.

Times: a time a person reads (grades.csv ``submitted_at``, Moodle's "Last modified" columns,
Gradescope's ``extra_data``, JUnit's ``timestamp``) stays ISO 8601 with its UTC offset, a machine
format, but as the same moment in the assignment's zone (``timezone``, `report.local_iso`), never
UTC beside Tehran time.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from html import escape as html_escape
from pathlib import Path
from typing import Any

from davar import catalogue
from davar.assignment import Assignment
from davar.errors import AssignmentError, DavarError
from davar.reporting.report import hidden_points, label_text, local_iso, shown_points, time_zone
from davar.results import Message, SubmissionResult, TestResult

#: The fixed columns of grades.csv / grades.xlsx; one column per question id goes after "status".
#: `hidden_points`: the part of `score` from hidden tests not yet released to students (see above).
LEAD_COLUMNS = ("student", "name", "status")
TAIL_COLUMNS = ("score", "hidden_points", "max_score", "late_days", "penalty_percent", "final_score", "submitted_at")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# ---- shared -------------------------------------------------------------------------------------


def _question_order(results: Sequence[SubmissionResult], assignment: Assignment) -> list[str]:
    """The assignment's question ids in its order, then any others the results carry (older specs)."""
    order = [q.id for q in assignment.questions]
    for r in results:
        order += [q.id for q in r.questions if q.id not in order]
    return order


def _passed(t: TestResult) -> bool:
    return t.outcome == "passed" or (t.outcome in ("partial", "ta_graded") and t.points >= t.max_points)


def _text(message_text: str) -> str:
    """Student-controlled text made safe for XML 1.0 (and readable anywhere): no ANSI, no control chars."""
    return _NOT_XML.sub("", _ANSI.sub("", message_text))


def _csv_cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would otherwise run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _num(value: float, lang: str) -> str:
    return catalogue.format_number(value, lang, "points")


def _message(m: Message, lang: str, assignment: Assignment) -> str:
    return _text(catalogue.render(m, lang, assignment.messages))


def _zone(assignment: Assignment) -> tzinfo:
    return time_zone(assignment.timezone, assignment=assignment.id)


def _submitted_at(result: SubmissionResult) -> str:
    return result.submitted_at or (result.lateness.submitted_at if result.lateness else "")


def _summary(result: SubmissionResult, lang: str, assignment: Assignment, *, reveal_hidden: bool = True) -> list[str]:
    """Submission notes and the total (with the late penalty when there is one), in one language;
    without `reveal_hidden`, the part of it from hidden tests not yet released, when a test is."""
    total = f"{_num(result.score, lang)} / {_num(result.max_score, lang)}"
    if result.lateness and result.lateness.penalty:
        total += (f" − {catalogue.format_number(result.lateness.penalty, lang, 'percent')}"
                  f" = {_num(result.final_score, lang)}")
    hidden = hidden_points(result, reveal_hidden)
    note = [label_text("moodle_hidden_points", lang, points=_num(hidden, lang))] if hidden is not None else []
    return [*(_message(m, lang, assignment) for m in result.messages), total, *note]


def _question_lines(result: SubmissionResult, lang: str, assignment: Assignment, *, reveal_hidden: bool) -> list[str]:
    """Each question's points ("—" while awaiting a TA; a withheld test's not added in, as in the
    report) and the messages of its tests that did not pass."""
    lines = []
    for q in result.questions:
        points = "—" if q.awaiting_ta else _num(shown_points(q, reveal_hidden), lang)
        lines.append(f"{q.title.get(lang) or q.id}: {points} / {_num(q.max_points, lang)}")
        for t in q.tests:
            if t.outcome == "passed" or (t.hidden and not reveal_hidden):
                continue
            lines += [f"  • {_message(m, lang, assignment)}" for m in t.messages]
    return lines


# ---- grades.csv / grades.xlsx -------------------------------------------------------------------


def grades_table(results: Sequence[SubmissionResult], assignment: Assignment, *, release_hidden: bool | None = None):
    """One row per student: id, name (when the LMS export gives one), status, each question's points
    (empty while a TA still has to grade it), score, hidden_points (the part of the score from hidden
    tests not yet released; empty when none is withheld), max_score, late days, penalty %,
    final_score, submitted_at (in the assignment's zone); a pandas DataFrame.  `release_hidden`
    overrides the assignment's ``[visibility] release_hidden``."""
    import pandas as pd

    release = assignment.visibility.release_hidden if release_hidden is None else release_hidden
    tz = _zone(assignment)

    qids = _question_order(results, assignment)
    if clash := sorted(set(qids) & {*LEAD_COLUMNS, *TAIL_COLUMNS}):
        raise AssignmentError("export_question_clash", assignment=assignment.id, clash=", ".join(clash))
    rows = []
    for r in results:
        by_id = {q.id: q for q in r.questions}
        late = r.lateness
        rows.append({
            "student": r.student, "name": r.display_name, "status": r.status,
            **{qid: (None if qid not in by_id or by_id[qid].awaiting_ta else by_id[qid].points) for qid in qids},
            "score": r.score, "hidden_points": hidden_points(r, release), "max_score": r.max_score,
            "late_days": late.days_late if late else None,
            "penalty_percent": round(late.penalty * 100, 4) if late else None,
            "final_score": r.final_score,
            "submitted_at": local_iso(_submitted_at(r), tz),
        })
    table = pd.DataFrame(rows, columns=[*LEAD_COLUMNS, *qids, *TAIL_COLUMNS])
    numeric = [*qids, "score", "hidden_points", "max_score", "penalty_percent", "final_score"]
    table[numeric] = table[numeric].astype("Float64")  # missing stays missing, never 0
    table["late_days"] = table["late_days"].astype("Int64")
    return table


def write_grades_csv(results: Sequence[SubmissionResult], assignment: Assignment, path: Path, *,
                     release_hidden: bool | None = None) -> Path:
    """`grades.csv`: UTF-8 with BOM (Excel shows Persian), student ids neutralised against formulas."""
    table = grades_table(results, assignment, release_hidden=release_hidden)
    table["student"] = table["student"].map(_csv_cell)
    table["name"] = table["name"].map(_csv_cell)
    path = Path(path)
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_grades_xlsx(results: Sequence[SubmissionResult], assignment: Assignment, path: Path, *,
                      release_hidden: bool | None = None) -> Path:
    """`grades.xlsx` (openpyxl); every text cell is a string cell, never a formula."""
    import pandas as pd

    table = grades_table(results, assignment, release_hidden=release_hidden)
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="grades", index=False)
        sheet = writer.sheets["grades"]
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":  # openpyxl reads a str starting with "=" as a formula
                    cell.data_type = "s"
        sheet.freeze_panes = "B2"
    return path


# ---- Moodle offline grading worksheet -----------------------------------------------------------
#
# The columns are those of Moodle's "Download grading worksheet" (assignment → Submissions →
# "Download grading worksheet", feedback type "Offline grading worksheet" enabled).  Source:
# moodle/moodle mod/assign/gradingtable.php (the download builds its headers from the language
# strings recordid "Identifier", fullname "Full name", the user identity fields such as "Email
# address", status "Status", grade "Grade", maxgrade "Maximum Grade", gradecanbechanged "Grade can
# be changed", lastmodifiedsubmission "Last modified (submission)", lastmodifiedgrade "Last modified
# (grade)", then one column per feedback editor field, "Feedback comments" for the comments plugin),
# and mod/assign/feedback/offline/importgradeslib.php (the upload finds the columns "Identifier",
# "Grade" and "Last modified (grade)" by those header strings, strips the "Participant " prefix from
# the identifier and maps the number with get_user_id_for_uniqueid; feedback columns are matched by
# their header; a row whose grade is empty, out of range or older than Moodle's own grade is skipped).
#
# So the identifier is NOT the student number: it is "Participant <n>" where n is Moodle's
# per-assignment unique id of the user (assign_user_mapping).  The TA downloads the worksheet from
# Moodle once and `moodle_participants` reads it, matching davar's student ids against one of its
# columns (the "ID number" identity field, or the e-mail address or its part before "@").
# Moodle matches headers in the language of the uploading user: download and upload the worksheet
# with Moodle's interface in English (a Persian interface writes and expects Persian headers).

MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments")


@dataclass(frozen=True, slots=True)
class MoodleParticipant:
    identifier: str  # "Participant 123456", from the worksheet Moodle gave the TA
    full_name: str = ""
    email: str = ""
    maximum: float | None = None  # its "Maximum Grade": the Moodle assignment's scale (None when unreadable)


def moodle_participants(worksheet: Path, *, key: str = "ID number") -> dict[str, MoodleParticipant]:
    """Student id → participant, from a grading worksheet downloaded from Moodle.

    `key` is the worksheet column that holds davar's student ids: an identity field such as
    "ID number" or "Username", or "Email address" (then the part before "@" matches too).  The
    participant number of "Identifier" ("Participant 123456") always matches too: it is the id a
    student graded from Moodle's "Download all submissions" zip has, so that round trip needs no key.
    """
    with open(worksheet, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        if "Identifier" not in columns or key not in columns:
            raise DavarError("moodle_worksheet_columns", worksheet=str(worksheet), column=key,
                             columns=", ".join(columns) or "—")
        found: dict[str, MoodleParticipant] = {}
        for row in reader:
            who = MoodleParticipant(identifier=row["Identifier"].strip(), full_name=row.get("Full name") or "",
                                    email=row.get("Email address") or "", maximum=_grade(row.get("Maximum Grade")))
            value = (row[key] or "").strip()
            if not who.identifier:
                continue
            if number := re.search(r"(\d+)\s*$", who.identifier):
                found.setdefault(number.group(1), who)
            if not value:
                continue
            found[value] = who
            if key == "Email address" and "@" in value:
                found.setdefault(value.split("@", 1)[0], who)
    return found


def _grade(text: str | None) -> float | None:
    """A grade as the worksheet writes it ("100.00", or "100,00" in some locales); None when it is not one."""
    try:
        return float((text or "").strip().replace(",", "."))
    except ValueError:
        return None


def write_moodle_worksheet(results: Sequence[SubmissionResult], assignment: Assignment, path: Path,
                           participants: Mapping[str, MoodleParticipant], *, maximum: float | None = None,
                           lang: str = "fa", reveal_hidden: bool = False) -> list[str]:
    """A worksheet to upload with "Upload grading worksheet"; returns the students it had no participant for.

    Grade: the final score (after the late penalty), rescaled to the Moodle assignment's maximum grade
    (`maximum`, else the worksheet's "Maximum Grade" column, else the assignment's points), and at most
    that maximum (Moodle skips a grade above it, bonus or not); empty while a TA still has to grade a
    question, so Moodle leaves that grade alone. Feedback comments: the summary in `lang` as HTML-
    escaped text with <br> line breaks (Moodle stores it as HTML), with the points of hidden tests not
    yet released said, unless `reveal_hidden`. "Last modified (grade)" is the grading time, so a grade a
    TA changed in Moodle afterwards is kept unless the upload ticks "Allow updating records that have
    been modified more recently"; both "Last modified" times are in the assignment's zone.
    """
    tz = _zone(assignment)
    missing = [r.student for r in results if r.student not in participants]
    path = Path(path)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(MOODLE_COLUMNS)
        for r in results:
            if r.student not in participants:
                continue
            who = participants[r.student]
            top = next(m for m in (maximum, who.maximum, r.max_score) if m is not None)
            if any(q.awaiting_ta for q in r.questions):
                grade = ""
            else:
                scaled = r.final_score * top / r.max_score if r.max_score else 0.0
                grade = f"{min(max(scaled, 0.0), top):.2f}"
            lines = [*_summary(r, lang, assignment, reveal_hidden=reveal_hidden),
                     *_question_lines(r, lang, assignment, reveal_hidden=reveal_hidden)]
            feedback = "<br>".join(html_escape(line) for line in lines)
            out.writerow([who.identifier, _csv_cell(who.full_name), _csv_cell(who.email), r.status, grade,
                          f"{top:.2f}", "Yes", local_iso(_submitted_at(r), tz),
                          local_iso(r.graded_at or datetime.now(UTC).isoformat(timespec="seconds"), tz), feedback])
    return missing


# ---- Gradescope ---------------------------------------------------------------------------------
#
# The autograder results format (gradescope/autograder_samples docs/specs.md, "Output format"; also
# https://gradescope-autograders.readthedocs.io/en/latest/specs/): top-level "score" (overrides the
# sum of the tests), "execution_time", "output", "tests" with "score", "max_score", "status"
# ("passed"/"failed"), "name", "number", "output", "tags", "visibility" ("hidden", "after_due_date",
# "after_published", "visible") and "extra_data".  The top-level output defaults to "simple_format"
# (rendered as HTML) and tests to "text"; every format is set to "text" explicitly so student output
# is never rendered as markup.


def gradescope_results(result: SubmissionResult, assignment: Assignment, *, lang: str = "en") -> dict[str, Any]:
    """One student's Gradescope `results.json` as a dict.  Tests still awaiting a TA are left out
    (Gradescope grades manual questions itself); the top-level score is the final score."""
    order = {qid: i for i, qid in enumerate(_question_order([result], assignment))}
    tests = []
    for q in sorted(result.questions, key=lambda q: order[q.id]):
        for number, t in enumerate((t for t in q.tests if t.outcome != "manual"), start=1):
            title = " — ".join(x for x in (q.title.get(lang) or q.id, t.title.get(lang)) if x)
            tests.append({
                "name": title, "number": f"{order[q.id] + 1}.{number}", "score": t.points, "max_score": t.max_points,
                "status": "passed" if _passed(t) else "failed",
                "output": "\n".join(_message(m, lang, assignment) for m in t.messages),
                "visibility": "after_published" if t.hidden else "visible", "tags": [q.id],
                "extra_data": {"question": q.id, "test": t.id, "outcome": t.outcome},
            })
    late = result.lateness
    return {
        "score": result.final_score,
        "execution_time": round(sum(e.wall_s for e in result.executions)),
        "output": "\n".join(_summary(result, lang, assignment)),
        "output_format": "text", "test_output_format": "text", "test_name_format": "text",
        "tests": tests,
        "extra_data": {"assignment": result.assignment, "student": result.student, "status": result.status,
                       "score": result.score, "max_score": result.max_score, "final_score": result.final_score,
                       "days_late": late.days_late if late else None, "penalty": late.penalty if late else None,
                       "submitted_at": local_iso(_submitted_at(result), _zone(assignment)) or None,
                       "graded_at": local_iso(result.graded_at, _zone(assignment))},
    }


def safe_name(student: str) -> str:
    """A student id as one safe path component: letters (any script), digits, '.', '_', '-'.
    An id that had to change gets a hash suffix, so two ids never share a folder."""
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in student).lstrip(".")
    if name == student and name:
        return name
    return f"{name[:60] or 'student'}-{hashlib.sha256(student.encode('utf-8')).hexdigest()[:10]}"


def write_gradescope(results: Sequence[SubmissionResult], assignment: Assignment, directory: Path, *,
                     lang: str = "en") -> list[Path]:
    """`DIRECTORY/<student>/results.json` for every student."""
    written = []
    for r in results:
        path = Path(directory) / safe_name(r.student) / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(gradescope_results(r, assignment, lang=lang), ensure_ascii=False, indent=2), "utf-8")
        written.append(path)
    return written


# ---- JUnit XML ----------------------------------------------------------------------------------
#
# The de-facto schema CI systems read (Jenkins/GitLab/GitHub test reporters, pytest's junitxml):
# <testsuites> of <testsuite name tests failures errors skipped time timestamp>, each with
# <testcase classname name time> holding at most one <failure>, <error> or <skipped message>.
# One testsuite per student, one testcase per test: passed → nothing; failed, partial (and a TA
# grade below full points) → <failure>; a grader error → <error>; not run, skipped, awaiting a TA
# → <skipped>; the message is the English text.


def junit_xml(results: Sequence[SubmissionResult], assignment: Assignment, *,
              reveal_hidden: bool = False) -> ET.Element:
    """The <testsuites> element for every student."""
    order = {qid: i for i, qid in enumerate(_question_order(results, assignment))}
    hidden_word = catalogue.text("term_hidden", "en")
    root = ET.Element("testsuites", name=assignment.id)
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    total_time = 0.0
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=_text(r.student))
        props = ET.SubElement(suite, "properties")
        for name, value in (("status", r.status), ("score", r.score), ("max_score", r.max_score),
                            ("final_score", r.final_score), ("days_late", r.lateness.days_late if r.lateness else ""),
                            ("penalty", r.lateness.penalty if r.lateness else "")):
            ET.SubElement(props, "property", name=name, value=str(value))
        counts = dict.fromkeys(totals, 0)
        hidden_count = 0
        time = 0.0
        for q in sorted(r.questions, key=lambda q: order[q.id]):
            for t in q.tests:
                shown = reveal_hidden or not t.hidden
                if not shown:
                    hidden_count += 1
                title = t.title.get("en") if shown else ""
                name = f"{t.id} — {title}" if title else (t.id if shown else f"{hidden_word} {hidden_count}")
                case = ET.SubElement(suite, "testcase", classname=f"{_text(r.assignment)}.{q.id}", name=_text(name),
                                     time=f"{t.duration_s:.3f}")
                counts["tests"] += 1
                time += t.duration_s
                text = "\n".join(_message(m, "en", assignment) for m in t.messages) if shown else ""
                message = (text.splitlines() or [""])[0] if shown else hidden_word
                points = f"{t.points:g} / {t.max_points:g}"
                if _passed(t):
                    continue
                if t.outcome == "error":
                    kind, tag = "errors", "error"
                elif t.outcome in ("not_run", "skipped", "manual"):
                    kind, tag = "skipped", "skipped"
                else:
                    kind, tag = "failures", "failure"
                counts[kind] += 1
                element = ET.SubElement(case, tag, message=message or points, type=t.outcome)
                if tag != "skipped":
                    element.text = f"{points}\n{text}" if text else points
        for m in r.messages:
            ET.SubElement(suite, "system-out").text = _message(m, "en", assignment)
        suite.set("tests", str(counts["tests"]))
        for kind in ("failures", "errors", "skipped"):
            suite.set(kind, str(counts[kind]))
        suite.set("time", f"{time:.3f}")
        if r.graded_at:
            suite.set("timestamp", local_iso(r.graded_at, _zone(assignment)))
        for kind in totals:
            totals[kind] += counts[kind]
        total_time += time
    for kind, n in totals.items():
        root.set(kind, str(n))
    root.set("time", f"{total_time:.3f}")
    return root


def write_junit(results: Sequence[SubmissionResult], assignment: Assignment, path: Path, *,
                reveal_hidden: bool = False) -> Path:
    path = Path(path)
    tree = ET.ElementTree(junit_xml(results, assignment, reveal_hidden=reveal_hidden))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
