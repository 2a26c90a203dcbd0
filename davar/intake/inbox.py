"""Submissions in, as they arrive → `Submission`s: a folder of students, one student's folder, a single
notebook, a zip of any of these, a Moodle "Download all submissions" zip or a Quera-style export.

Layouts (checked in this order, after descending through single wrapping folders):

- **Moodle** (mod/assign "Download all submissions"): one folder per student and submission plugin,
  ``<Full Name>_<participant id>_assignsubmission_file_/<the student's files>`` (Moodle ≥ 3.1, the
  default), or the older flat form with the files themselves named
  ``<Full Name>_<participant id>_assignsubmission_file_<file name>``.  Moodle writes the participant
  id (the number of "Participant <n>" in its grading worksheet) and the full name with any "_" turned
  into a space; the student id is that participant id, the display name the full name.  Folders of
  other plugins (``_assignsubmission_onlinetext_``) are ignored.  Every student of the export is a
  submission, also one with no notebook (its notebooks are then reported missing).
- **Quera-style**: Quera has no documented export format; what it gives a course's staff, as seen
  in the tools course staff write around it, is one folder per student named by the student's
  identity (student number), optionally under a folder named after the problem, holding the
  submitted file(s) and a ``result.txt`` whose header has ``identity: <id>`` and
  ``full name: <name>`` lines.  Those lines give the student id and display name when present.
- **a folder of students**: every sub-folder is one student, named by the folder, notebook or not:
  one with no notebook becomes a `missing` result and one whose notebooks none is clearly the
  assignment's an `invalid_submission` naming them (`Submission.problem`), so no folder of a batch
  goes unaccounted for.  Inside an archive, the sub-folders holding notebooks.
- **one student**: a folder (or zip) holding the assignment's notebook(s) directly; a lone notebook.

Student id and display name: the assignment's ``[intake] student_pattern`` (a regular expression
with named groups ``id`` and optionally ``name``, searched in each student's folder or file name)
wins when it matches; otherwise the layout's own (above).

Notebooks are chosen by the assignment's expected names, matched leniently: case, spaces,
underscores, hyphens and dots do not count, and so do not a copy suffix (``HW2_CNN (1).ipynb``,
``DL_Q4[1].ipynb``, ``HW2_CNN - Copy.ipynb``) or Colab's ``Copy of`` prefix.  An exact name wins,
then the shallowest, then the newest file; two expected names never take the same file.  When the
assignment has one notebook and the student submitted exactly one, that one is taken, whatever its
name.  Students often upload a zip: zips inside a zip (or inside a student's folder of an export
zip) are unpacked once, into a folder named after them; zips inside those are left as files.

Zips are unpacked into a temporary folder (removed when the process exits), refusing the whole
archive with an `InvalidSubmission` for: an entry with an absolute path or ".." (zip-slip), a
symbolic link or special file, a password-protected entry, a duplicate entry, more than
`max_files` entries or more than `max_unpacked_mb` MB unpacked (nested zips count against the
same budget; the declared sizes are checked first and the bytes actually written are counted, so
a lying header does not help).  Entry names that are not flagged UTF-8 are read as UTF-8 when they
are (most zip tools write UTF-8 without the flag), else as the zip standard's cp437.  Each file's
time is the entry's (its UTC extended timestamp when the zip has one, else the DOS time in the
assignment's time zone: Moodle writes the time a file was uploaded), so the submitted-at time of
a submission is its newest notebook's time in the export; for a submission repository (a folder with
`.git`, as in a course's CI) the commit time of its notebooks' last change; otherwise the file's mtime.

What of a student's folder enters the sandbox (`Submission.files`, what the run copies): the notebooks,
and the files the assignment lets in with ``[intake] allow`` (globs such as ``"*.csv"``); nothing else.
The grade is for a model the run trains from the notebook, so a model trained elsewhere (at home, maybe
on a published test split that serves as the hidden set) must not be loadable from a file shipped
beside it.  This is an allow-list, not a deny-list of weight suffixes, because a deny-list
is beaten by a rename: ``torch.load``, ``np.load``, ``pickle`` and ``keras`` read a file of any name, and
any kind of file can hold numbers.  Only the TA knows which other files the handout needs, and says so
in the assignment.  A folder holding a `davar.toml` (a course, or the student bundle a submission
repository commits) is never the student's work: neither its notebooks nor its files are looked at.
Nothing is left out silently: the result lists what was left out, saved models and
arrays (`WEIGHTS`: ``*.pt``, ``*.h5``, ``*.npz``, ``*.pkl``, ...) in one message and the rest in another,
so a TA who sees a needed data file there adds its glob.  A file an `allow` glob lets in under the name of
a text or image kind (``data.csv``) whose first bytes are those of a pickle, HDF5, NumPy, zip, safetensors
or TFLite file is a saved model renamed, and is left out too (`serialised_format`), as is such a file
named ``*.ipynb`` beside the assignment's notebooks.  A glob may let in a
weight kind on purpose (``"*.npz"`` for data the handout gives as arrays).  What is left out is not read:
it counts neither against the submission's size limit nor, beyond its name, in the digest.  The labelled
samples' own files (`SAMPLE_FILES`) are never a student's and are ignored.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath, PurePosixPath
from zoneinfo import ZoneInfo

from davar import catalogue, files
from davar.assignment import COURSE_MARKER, Assignment
from davar.errors import InvalidSubmission, UnsafeFile
from davar.results import Message

COPIED_WITHIN_S = 120  # a class's submissions spread over hours or days; `cp -r` of them, over seconds
IGNORED = {".git", "__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db", "desktop.ini"}
MOODLE = re.compile(r"^(?P<name>.*)_(?P<id>\d+)_assignsubmission_(?P<plugin>[A-Za-z0-9]+)_(?P<rest>.*)$")
QUERA_FIELDS = re.compile(r"^\s*(identity|full name)\s*:\s*(.+?)\s*$", re.MULTILINE)
SAMPLE_FILES = {"expected.toml", "mutations.toml"}  # a labelled sample's outcome and edits (davar.authoring)
# Saved models, weights and arrays, by how their names end (case not counting): PyTorch, Keras/TensorFlow
# (HDF5, .keras, SavedModel, checkpoints, TFLite), NumPy, pickle/joblib, safetensors, ONNX, GGUF.
WEIGHTS = (".pt", ".pth", ".pt2", ".bin", ".ckpt", ".h5", ".hdf5", ".keras", ".pb", ".tflite", ".index",
           ".safetensors", ".npz", ".npy", ".pkl", ".pickle", ".joblib", ".onnx", ".gguf", ".msgpack")
_TF_SHARD = re.compile(r"\.data-\d+-of-\d+$")  # a TensorFlow checkpoint's variables: ckpt.data-00000-of-00001
# Kinds whose content is never a serialised model's: one of those formats under such a name is a rename.
_PLAIN_KINDS = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".md", ".py", ".yaml", ".yml", ".xml", ".html",
                ".svg", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".wav"}
_SNIFFED = _PLAIN_KINDS | {".ipynb"}  # what enters under such a name is read first for a model's signature


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    student: str
    root: Path  # the folder whose files are copied into the sandbox
    notebooks: dict[str, Path]  # the assignment's notebook name -> the submitted file, in the assignment's order
    files: tuple[Path, ...]  # relative to root: what is copied into the sandbox
    digest: str  # sha256 over the submitted files
    submitted_at: str = ""  # ISO time (the export's time of the newest notebook; file mtime for plain folders)
    display_name: str = ""  # the student's name when the export gives one
    # Where `submitted_at` comes from: "export" (an archive's entry times), "git" (the commit time),
    # "file" (the file's modification time), or "file_copied": file times that look like those of a
    # copy (`cp -r` rewrites them), so `submitted_at` is left empty and no late penalty follows from it.
    time_source: str = ""
    # Why this folder cannot be graded although it is a student's: no notebook at all ("no_notebook"), or
    # notebooks none of which is clearly the assignment's ("ambiguous_notebooks", the candidates named).
    # It still becomes a result, so every folder of a batch is accounted for.
    problem: Message | None = None
    # What the result says about the submitted files themselves: entries that are not regular files
    # (links, named pipes, devices, sockets), which are never opened or copied ("submission_skipped").
    notes: tuple[Message, ...] = ()
    # Relative to root: the student's files left out of the sandbox, not being notebooks nor let in by the
    # assignment's `[intake] allow` (module docstring); the notes name them.
    excluded: tuple[Path, ...] = ()


def collect(path: Path, assignment: Assignment, *, trust_file_times: bool = False) -> list[Submission]:
    """Every submission under `path`, sorted by student id.

    File modification times of several students that all lie within `COPIED_WITHIN_S` of each other
    are those of a copy, not of the submissions: they are not used (`time_source` "file_copied", no
    `submitted_at`) unless `trust_file_times`."""
    path = Path(path)
    if not path.exists():
        raise InvalidSubmission("no_such_path", path=str(path))
    intake = _Intake(assignment)
    if path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)) \
            and path.suffix.lower() != ".ipynb":
        folder = _scratch()
        try:
            _extract(path, folder, intake, budget=_Budget(), nested=True)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        found = [dataclasses.replace(s, time_source="export") if s.time_source == "file" else s
                 for s in intake.folder(folder, label=path.stem, unwrap=True)]
    elif path.is_file():
        name = next(iter(_match([path], assignment.notebooks)), assignment.notebooks[0])
        student, display = intake.who(path.stem, default=path.stem)
        real = path.resolve()  # named on the command line: a link to a notebook is the notebook
        found = [_one(real.parent, {name: real}, student=student, display_name=display, only_notebooks=True,
                      limit=intake.max_bytes)]
    else:
        found = intake.folder(path, label=path.name)
    if not found:
        raise InvalidSubmission("no_notebook", expected=", ".join(assignment.notebooks), path=str(path))
    dated = [s for s in found if s.time_source == "file"]
    if not trust_file_times and len(dated) > 1 and _copied(dated):
        found = [dataclasses.replace(s, submitted_at="", time_source="file_copied") if s.time_source == "file" else s
                 for s in found]
    by_id: dict[str, Submission] = {}
    for s in found:
        if s.student in by_id:
            raise InvalidSubmission("duplicate_student", student=s.student, first=str(by_id[s.student].root),
                                    second=str(s.root))
        by_id[s.student] = s
    return [by_id[k] for k in sorted(by_id)]


# ---------------------------------------------------------------- layouts


class _Intake:
    def __init__(self, assignment: Assignment):
        self.assignment = assignment
        pattern = assignment.intake.student_pattern  # checked when assignment.toml was loaded
        self.pattern = re.compile(pattern) if pattern else None
        self.max_bytes = assignment.intake.max_unpacked_mb * 2**20
        self.max_files = assignment.intake.max_files
        self.allow = assignment.intake.allow
        self.zone = ZoneInfo(assignment.timezone)

    def who(self, label: str, *, default: str, name: str = "") -> tuple[str, str]:
        """(student id, display name) for a folder or file called `label`."""
        m = self.pattern.search(label) if self.pattern else None
        if m and m.group("id"):
            default = m.group("id")
            name = (m.groupdict().get("name") or "").strip() or name
        student = re.sub(r"[/\\\x00]", "_", default.strip())
        return (student if student not in ("", ".", "..") else label), name

    def folder(self, folder: Path, *, label: str, unwrap: bool = False) -> list[Submission]:
        """The submissions in a folder; with `unwrap` (an archive), single folders wrapping the rest are
        looked through, and an archive that is none of the layouts is one student's, named `label`."""
        expected, top = self.assignment.notebooks, folder
        while True:
            entries = _entries(folder)
            if any(MOODLE.match(p.name) for p in entries):
                return self.moodle(folder, entries)
            if _match([p for p in entries if p.is_file()], expected):  # one student's folder
                student, display = self.quera(folder) or self.who(label, default=label)
                return [self.student(folder, student, display)]
            if not (unwrap and len(entries) == 1 and entries[0].is_dir()):
                break
            folder = entries[0]  # "submissions/", a problem's name, the student's own folder
        found = []
        for d in entries:  # a folder of students: every folder is one (in an archive: one with notebooks)
            if d.is_dir() and (not unwrap or _notebook_files(d)):
                student, display = self.quera(d) or self.who(d.name, default=d.name)
                found.append(self.student(d, student, display))
        if not found and unwrap and _match(_notebook_files(top), expected, lone=len(expected) == 1):
            return [self.student(top, *self.who(label, default=label))]
        return found

    def quera(self, folder: Path) -> tuple[str, str] | None:
        """(id, name) from a Quera-style result.txt, through `student_pattern` like a folder name."""
        try:  # a regular file of at most 1 MB (davar.files): a pipe or a link there is no result.txt
            text = files.read_bytes(folder / "result.txt", limit=2**20, beneath=folder).decode("utf-8", "replace")
        except (OSError, UnsafeFile):
            return None
        fields = dict(QUERA_FIELDS.findall(text))
        if "identity" not in fields:
            return None
        return self.who(folder.name, default=fields["identity"], name=fields.get("full name", ""))

    def moodle(self, folder: Path, entries: list[Path]) -> list[Submission]:
        """One submission per participant of a Moodle download (folders or the older flat files)."""
        people: dict[str, dict] = {}
        for p in entries:
            m = MOODLE.match(p.name)
            if not m:
                continue
            who = people.setdefault(m["id"], {"label": f"{m['name']}_{m['id']}", "name": m["name"].strip(),
                                              "root": None, "flat": []})
            if m["plugin"] != "file":
                continue
            if p.is_dir() and not m["rest"]:
                who["root"], who["label"] = p, p.name
            elif m["rest"] and not p.is_dir():  # a pipe or a device there is refused when it is copied
                who["flat"].append((m["rest"], p))
        found = []
        for pid, who in people.items():
            root, refused = who["root"], []
            if root is None:  # the flat layout: the student's files, their Moodle prefix taken off
                root = _scratch()
                for rest, p in who["flat"]:
                    try:
                        files.copy_file(p, root / Path(rest).name, limit=self.max_bytes, beneath=folder,
                                        keep_times=True)
                    except UnsafeFile:
                        refused.append(p.name)
            student, display = self.who(who["label"], default=pid, name=who["name"])
            submission = self.student(root, student, display)
            if refused:
                submission = dataclasses.replace(submission, notes=(*submission.notes, _skipped(refused)))
            found.append(submission)
        return found

    def student(self, folder: Path, student: str, display: str) -> Submission:
        expected = self.assignment.notebooks
        candidates = _notebook_files(folder)
        notebooks = _match(candidates, expected, lone=len(expected) == 1)
        root = folder
        if notebooks:  # the folder holding them, so the notebook's relative paths work
            root = Path(os.path.commonpath([p.parent for p in notebooks.values()]))
        found = _one(root, notebooks, student=student, display_name=display, limit=self.max_bytes, allow=self.allow)
        if notebooks:
            return found
        where = {"expected": ", ".join(expected), "path": str(folder)}
        problem = catalogue.message("ambiguous_notebooks", {
            **where, "candidates": ", ".join(str(p.relative_to(folder)) for p in candidates)}) if candidates \
            else catalogue.message("no_notebook", where)
        return dataclasses.replace(found, problem=problem)


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name not in IGNORED and not p.name.startswith(".")
                  and not p.is_symlink())


def _notebook_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED and not d.startswith(".")
                         and not os.path.lexists(Path(dirpath) / d / COURSE_MARKER))
        out += [Path(dirpath) / f for f in sorted(names) if f.lower().endswith(".ipynb") and not f.startswith(".")
                and files.is_regular(Path(dirpath) / f)]  # a link or a pipe named .ipynb is no notebook
    return out


_COPY_SUFFIX = re.compile(r"(\s*(\(\d+\)|\[\d+\]|-\s*copy(\s*\(\d+\))?|\s+copy(\s*\d+)?))+$")


def _key(name: str) -> str:
    """A file name as it is compared with an expected name: `HW2_CNN (1).ipynb` → `hw2cnn`."""
    stem = name[:-6] if name.lower().endswith(".ipynb") else name
    stem = re.sub(r"^copy\s*of\s*", "", stem.strip().lower())
    stem = _COPY_SUFFIX.sub("", stem)
    return re.sub(r"[\s_\-.]+", "", stem)


def _match(files: list[Path], expected: tuple[str, ...], *, lone: bool = False) -> dict[str, Path]:
    """Expected notebook name → the submitted file, in the assignment's order.  A name whose lenient
    form another expected name shares is matched exactly only; with `lone`, a single expected name
    takes the only notebook there is."""
    keys = [_key(e) for e in expected]
    out = {}
    for e, k in zip(expected, keys, strict=True):
        lenient = keys.count(k) == 1
        found = [p for p in files if p.name == e or (lenient and _key(p.name) == k)]
        if found:
            out[e] = min(found, key=lambda p: (p.name != e, len(p.parts), -p.stat().st_mtime, str(p)))
    if not out and lone and len(files) == 1:
        out[expected[0]] = files[0]
    return out


def _commit_time(root: Path, notebooks: dict[str, Path]) -> str:
    """For a submission repository (CI), the commit time of its notebooks' last change; else ""."""
    if not (root / ".git").exists() or not notebooks:
        return ""
    try:
        done = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%cI", "--",
                               *(str(p.relative_to(root)) for p in notebooks.values())],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _one(root: Path, notebooks: dict[str, Path], *, student: str, display_name: str = "",
         only_notebooks: bool = False, limit: int, allow: tuple[str, ...] = ()) -> Submission:
    """A lone notebook brings only itself; a student's folder brings its notebooks and the files `allow`
    lets in (module docstring), at most `limit` bytes in all (else its `problem` is "submission_too_large");
    the rest is listed in "submission_excluded" notes.  Links, named pipes, devices and sockets are never
    opened nor copied: they are listed in a "submission_skipped" note (`davar.files`)."""
    if only_notebooks:
        tree = files.Tree(files=tuple(PurePath(p.relative_to(root)) for p in notebooks.values()), skipped=(),
                          size=sum(p.stat().st_size for p in notebooks.values()))
    else:
        tree = files.scan_tree(root, ignore=IGNORED, marker=COURSE_MARKER)
    entering, weights, others = admit([r for r in tree.files if r.name not in SAMPLE_FILES], allow)
    left_out = sorted([*weights, *others])
    h, problem = hashlib.sha256(), None
    for rel in left_out:  # its name only: what is not copied cannot change the grade, but the note can
        h.update(b"left out\0" + str(rel).encode() + b"\0")
    kept: list[Path] = []
    skipped = [str(r) for r, _ in tree.skipped]
    size = tree.size - sum(_size(root / r) for r in (*left_out, *(r for r in tree.files if r.name in SAMPLE_FILES)))
    over = size > limit
    renamed: list[PurePath] = []
    if not over:  # nothing is read of a submission already known to be too large
        own = {PurePath(p.relative_to(root)) for p in notebooks.values()}
        suspect = {r for r in entering if r not in own and _kind(r) in _SNIFFED}
        kept, changed, renamed, over = _digest(h, root, entering, limit, sniff=suspect)
        skipped += changed
    if over:
        problem = catalogue.message("submission_too_large", {"size_mb": round(size / 2**20, 1),
                                                              "limit_mb": limit // 2**20})
    # when it was handed in: its notebooks' times, else its other files' (a folder with only a PDF was handed
    # in too; a left-out file's time is read, never its content)
    times = [p.stat().st_mtime for p in (notebooks.values() or kept or [root / r for r in left_out])]
    committed = _commit_time(root, notebooks)
    submitted = committed or (datetime.fromtimestamp(max(times), tz=UTC).isoformat(timespec="seconds") if times else "")
    notes = [_skipped(skipped)] if skipped else []
    notes += [_excluded(kind, found, allow) for kind, found in (("weights", weights), ("renamed", renamed),
                                                               ("other", others)) if found]
    return Submission(student=student, root=root, notebooks=notebooks, files=tuple(p.relative_to(root) for p in kept),
                      digest=h.hexdigest(), submitted_at=submitted, display_name=display_name,
                      time_source="git" if committed else "file" if submitted else "", problem=problem,
                      notes=tuple(notes), excluded=tuple(Path(r) for r in sorted([*left_out, *renamed])))


def admit(rels: list[PurePath], allow: tuple[str, ...]) -> tuple[list[PurePath], list[PurePath], list[PurePath]]:
    """A student's files by name (relative to the submission's folder): (those that enter the sandbox:
    notebooks and what an `allow` glob matches, the saved models and arrays left out, the others left out)."""
    entering: list[PurePath] = []
    weights: list[PurePath] = []
    others: list[PurePath] = []
    for rel in rels:
        lower = PurePosixPath(rel.as_posix().lower())
        if lower.suffix == ".ipynb" or any(lower.match(glob.lower()) for glob in allow):
            entering.append(rel)
        elif lower.name.endswith(WEIGHTS) or _TF_SHARD.search(lower.name):
            weights.append(rel)
        else:
            others.append(rel)
    return entering, weights, others


def serialised_format(head: bytes) -> str | None:
    """The serialised-model or array format whose signature `head` (a file's first bytes) starts with, if any:
    what `torch.save` (zip; pickle before 1.6), Keras (HDF5; zip for .keras), NumPy (.npy; zip for .npz),
    pickle/joblib (protocol 2 and up), safetensors (a little-endian header length, then JSON) and TFLite write."""
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "HDF5"
    if head.startswith(b"\x93NUMPY"):
        return "NumPy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if head[4:8] == b"TFL3":
        return "TFLite"
    if len(head) >= 10 and head[8:10] == b'{"' and 0 < int.from_bytes(head[:8], "little") < 2**30:
        return "safetensors"
    return None


def _size(path: Path) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def _kind(rel: PurePath) -> str:
    return PurePosixPath(rel.as_posix().lower()).suffix


def _digest(h, root: Path, rels: list[PurePath], limit: int, *,
            sniff: Collection[PurePath] = ()) -> tuple[list[Path], list[str], list[PurePath], bool]:
    """Feed each file's path and bytes to `h`, reading at most `limit` bytes in all; the files read, those
    that are no longer regular files (left out), those of `sniff` that hold a serialised model or array
    (left out: `serialised_format`), and whether the limit was passed."""
    kept: list[Path] = []
    changed: list[str] = []
    renamed: list[PurePath] = []
    for rel in rels:
        check = rel in sniff
        try:
            with files.open_file(root / rel, limit=limit, beneath=root) as f:
                chunk = f.read(min(files.CHUNK, limit + 1))
                if check and serialised_format(chunk[:16]):
                    renamed.append(rel)
                    continue
                h.update(str(rel).encode() + b"\0")
                while chunk:
                    limit -= len(chunk)
                    if limit < 0:  # it grew since it was listed
                        return kept, changed, renamed, True
                    h.update(chunk)
                    chunk = f.read(min(files.CHUNK, limit + 1))
        except UnsafeFile as e:
            if e.kind == "too_large":
                return kept, changed, renamed, True
            changed.append(str(rel))
            continue
        kept.append(root / rel)
    return kept, changed, renamed, False


def _skipped(entries: list[str]) -> Message:
    """The note naming what of a submission is not a regular file (the first ten)."""
    shown = ", ".join(sorted(entries)[:10]) + (", …" if len(entries) > 10 else "")
    return catalogue.message("submission_skipped", {"count": len(entries), "entries": shown})


def _excluded(kind: str, entries: list[PurePath], allow: tuple[str, ...]) -> Message:
    """The note naming the files of one `kind` (weights, renamed, other) left out of the sandbox (the first ten),
    with what the assignment lets in besides notebooks."""
    names = sorted(str(e) for e in entries)
    shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
    return catalogue.message("submission_excluded", {"count": len(entries), "entries": shown,
                                                     "allowed": ", ".join(allow)},
                             variant=kind if kind == "renamed" or not allow else f"{kind}_allowed")


def _copied(submissions: list[Submission]) -> bool:
    """Whether the students' file times are a copy's: all within `COPIED_WITHIN_S` of each other."""
    times = [datetime.fromisoformat(s.submitted_at).timestamp() for s in submissions]
    return max(times) - min(times) <= COPIED_WITHIN_S


# ---------------------------------------------------------------- zips, unpacked safely


@dataclass
class _Budget:
    files: int = 0
    bytes: int = 0
    nested: list[tuple[Path, Path]] = field(default_factory=list)


def _scratch() -> Path:
    """A temporary folder that lives until this process exits (the submissions are graded from it)."""
    folder = Path(tempfile.mkdtemp(prefix="davar-intake-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _extract(archive: Path, dest: Path, intake: _Intake, *, budget: _Budget, nested: bool, shown: str = "") -> None:
    """Unpack `archive` into `dest`, or refuse it whole (module docstring).  With `nested`, the zips it
    holds are unpacked too (into a folder named after each), but not the zips inside those."""
    shown = shown or archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InvalidSubmission("zip_unreadable", archive=shown, error=str(e)[:200] or type(e).__name__) from None
    inner = []
    with zf:
        infos = zf.infolist()
        budget.files += len(infos)
        if budget.files > intake.max_files:
            raise InvalidSubmission("zip_too_many_files", archive=shown, limit=intake.max_files)
        if budget.bytes + sum(i.file_size for i in infos) > intake.max_bytes:
            raise InvalidSubmission("zip_too_large", archive=shown, limit_mb=intake.max_bytes // 2**20)
        seen: set[str] = set()
        for info in infos:
            name = _entry_name(info)
            rel = _safe_relative(name, shown)
            if rel is None or IGNORED & set(rel.parts):
                continue
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip tool wrote no file type
            if info.create_system == 3 and kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise InvalidSubmission("zip_special_file", archive=shown, entry=name[:200])
            if info.flag_bits & 0x1:
                raise InvalidSubmission("zip_encrypted", archive=shown, entry=name[:200])
            if str(rel) in seen:
                raise InvalidSubmission("zip_duplicate_entry", archive=shown, entry=name[:200])
            seen.add(str(rel))
            target = dest.joinpath(*rel.parts)
            try:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "xb") as out:
                    while chunk := src.read(2**20):
                        budget.bytes += len(chunk)
                        if budget.bytes > intake.max_bytes:
                            raise InvalidSubmission("zip_too_large", archive=shown, limit_mb=intake.max_bytes // 2**20)
                        out.write(chunk)
            except FileExistsError:
                raise InvalidSubmission("zip_duplicate_entry", archive=shown, entry=name[:200]) from None
            except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as e:
                raise InvalidSubmission("zip_unreadable", archive=shown, error=f"{name[:100]}: {e}"[:200]) from None
            when = _entry_time(info, intake.zone)
            if when is not None:
                os.utime(target, (when, when))
            if nested and target.suffix.lower() == ".zip":
                inner.append((target, rel))
    for target, rel in inner:
        folder = target.with_suffix("")
        if folder.exists():
            folder = target.with_name(target.name + ".unpacked")
        folder.mkdir()
        _extract(target, folder, intake, budget=budget, nested=False, shown=f"{shown}/{rel}")
        target.unlink()


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name; one not flagged UTF-8 that is valid UTF-8 is read as UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _safe_relative(name: str, shown: str) -> PurePosixPath | None:
    """The entry's path inside the archive, or InvalidSubmission when it would land outside it."""
    clean = name.replace("\\", "/")
    parts = clean.split("/")
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean) or ".." in parts or "\x00" in clean:
        raise InvalidSubmission("zip_unsafe_path", archive=shown, entry=name[:200])
    parts = [p for p in parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _entry_time(info: zipfile.ZipInfo, zone: ZoneInfo) -> float | None:
    """The entry's modification time: its extended timestamp (UTC) when present, else its DOS time
    (local time of whoever zipped it, taken to be the assignment's time zone)."""
    extra, i = info.extra, 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i:i + 4])
        body = extra[i + 4:i + 4 + size]
        if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
            return float(struct.unpack("<i", body[1:5])[0])
        i += 4 + size
    try:
        return datetime(*info.date_time, tzinfo=zone).timestamp()
    except ValueError:
        return None
