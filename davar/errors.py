"""Every exception davar raises on purpose, in one place.

Two families: ``DavarError`` is a problem of the harness or its configuration (a TA fixes it);
``GradeFailure`` and the ``BridgeError`` family are about the submission and end up as a test
outcome with a fa/en message, never as a crash of the batch.

A ``DavarError`` carries no English sentence: it is a catalogue key and its values, as a grader's
message is, and the TA reads it in their language (``text(lang)``, what the CLI prints with --lang or
$DAVAR_LANG); ``str()`` is the English text, for logs and tracebacks.  It renders itself, so this module
imports `davar.catalogue`: that module depends on nothing of davar but `davar.results` (the `Message`
of the details), so it sits below the errors in the import-linter layers (pyproject.toml) and every
stage above can raise a keyed error without a cycle or a lazy import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from davar import catalogue
from davar.results import Message


class DavarError(Exception):
    """The harness cannot do what it was asked (bad assignment spec, weak sandbox, ...).

    `key` names the catalogue message (davar/catalogue.toml) and `values` fill it; `details` are one
    message per sub-problem (each bad row of a TA's CSV, ...), printed under it.  Identifiers, paths and
    commands are values, never translated:

        raise AssignmentError("assignment_unknown", name="hw3", root=str(root), ids="hw1, hw2", closest="hw2")
    """

    def __init__(self, key: str, details: Sequence[Message] = (), /, **values: Any):
        # `args` is what pickling rebuilds the error from (a worker's error reaches the driver); `values`
        # come back with the instance's __dict__.
        super().__init__(key, tuple(details))
        self.key, self.values, self.details = key, values, tuple(details)

    def text(self, lang: str) -> str:
        """The message in `lang` (fa or en), then each detail on its own indented line."""
        try:
            head = catalogue.text(self.key, lang, self.values)
        except (KeyError, IndexError, ValueError, TypeError):  # a key or value the catalogue lacks: a bug,
            head = f"{self.key} {self.values!r}"  # but the error being reported must still be seen
        return "\n".join([head, *(f"  {catalogue.render(m, lang)}" for m in self.details)])

    def __str__(self) -> str:
        return self.text("en")


class AssignmentError(DavarError):
    """An assignment's `assignment.toml` or graders are inconsistent, or no course or assignment is found."""


class AuthoringError(DavarError):
    """A master notebook or a sample's mutations cannot be turned into notebooks (`davar assign`)."""


class SandboxUnavailable(DavarError):
    """The requested sandbox level is not available on this host."""


class InvalidSubmission(DavarError):
    """A submission cannot be graded at all; its message is the student's (status `invalid_submission`)."""


class DataNotFound(DavarError):
    """An assignment's data is not where the command looked (``data_not_found``, ``data_not_found_real``);
    nothing was graded or built."""


class ScoresError(DavarError):
    """A TA's manual scores cannot be imported, listed or deleted (`davar scores`); `details` are one
    message per problem row of the CSV."""


class UnsafeFile(DavarError):
    """The harness refused to open, read or copy a file a student controls (`davar.files`): it is not a
    regular file (``file_refused``, `kind` a link, a named pipe, a device, a socket, a folder: the values of
    `davar.files.KINDS`) or it is larger than the caller's limit (``file_too_large``, `kind` "too_large").
    Its caller makes it a result: a refused reply, a note, an invalid submission."""

    @property
    def kind(self) -> str:
        return str(self.values.get("kind", "too_large"))


class SnapshotUnusable(DavarError):
    """A namespace snapshot cannot be stored or serve a regrade (`davar.grading.snapshot_store`): the kernel's
    container or a manifest is not laid out as davar writes it (``snapshot_malformed``), or a stored value's
    bytes are gone or changed (``snapshot_blob_missing``, ``snapshot_blob_altered``).  Its caller makes it a
    note: the snapshot is not kept, or the notebook runs for real."""


class SnapshotIncomplete(DavarError):
    """A grader asked a notebook restored from its snapshot about a value the snapshot left out
    (``snapshot_value_dropped``: too large and unread when it was saved, or not picklable), listed its
    models when the snapshot may lack one (``snapshot_models_dropped``), or got an error from the student's code
    there, which the restore may have caused (``snapshot_student_raised``).  Raised by `davar.probe.bridge.Sub`;
    the regrade is then discarded and the submission graded by running its notebooks (`davar.grading.grade`)."""


class DiskSpaceLow(DavarError):
    """The host has too little free disk for a batch or a run to start (`davar.run.quota`): the message
    names the path, the free and the needed space (``disk_space_low``, ``disk_space_low_batch``,
    ``disk_space_low_reports``)."""


class GradeFailure(AssertionError):
    """Raised by a grader (through `davar.expect`/`davar.fail`): the submission got something wrong."""

    def __init__(self, key: str, **values: Any):
        super().__init__(key, values)
        self.key, self.values = key, values


class BridgeError(GradeFailure):
    """Talking to the student's kernel did not give a usable answer."""


class MissingName(BridgeError):
    def __init__(self, name: str):
        super().__init__("missing_name", name=name)


class StudentCodeRaised(BridgeError):
    def __init__(self, name: str, error: str, traceback: str):
        super().__init__("student_raised", name=name, error=error)
        self.traceback = traceback


class KernelUnavailable(BridgeError):
    """The kernel is dead, was killed after a timeout, or never started."""

    def __init__(self, reason: str = "kernel_gone"):
        super().__init__("kernel_unavailable", reason=reason)


class NotebookMissing(KernelUnavailable):
    """The test's question lives in a notebook the submission does not have."""

    def __init__(self, notebook: str):
        BridgeError.__init__(self, "notebook_missing", notebook=notebook)


class ReplyRejected(BridgeError):
    """The kernel's reply was not plain data (a pickle, an oversize file, a symlink, bad JSON).  `why` is
    text, or the same in each language (``{"fa": …, "en": …}``: a refused file's `UnsafeFile` words)."""

    def __init__(self, name: str, why: str | Mapping[str, str]):
        super().__init__("reply_rejected", name=name, why=why)


class BridgeTimeout(BridgeError):
    def __init__(self, name: str, seconds: float):
        super().__init__("bridge_timeout", name=name, seconds=seconds)


class NotReplayed(BridgeError):
    """A regrade answered from the replies the last grading got (`davar.probe.bridge.Replay`) asked what they
    do not hold (another request, or the same one in another order): that regrade is discarded and graded
    again with the notebook's snapshot restored into a kernel (`davar.grading.grade`)."""

    def __init__(self, name: str):
        super().__init__("not_replayed", name=name)
