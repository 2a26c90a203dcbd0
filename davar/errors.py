"""Every exception davar raises on purpose, in one place.

Two families: ``DavarError`` is a problem of the harness or its configuration (a TA fixes it);
``GradeFailure`` and the ``BridgeError`` family are about the submission and end up as a test
outcome with a fa/en message, never as a crash of the batch.
"""

from __future__ import annotations

from typing import Any


class DavarError(Exception):
    """The harness cannot do what it was asked (bad assignment spec, weak sandbox, ...)."""


class AssignmentError(DavarError):
    """An assignment's `assignment.toml` or graders are inconsistent."""


class AuthoringError(DavarError):
    """A master notebook or a sample's mutations cannot be turned into notebooks (`davar assign`)."""


class SandboxUnavailable(DavarError):
    """The requested sandbox level is not available on this host."""


class InvalidSubmission(DavarError):
    """A submission cannot be graded at all; `key` and `values` name the catalogue message."""

    def __init__(self, key: str, **values: Any):
        super().__init__(key, values)
        self.key, self.values = key, values


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
    """The kernel's reply was not plain data (a pickle, an oversize file, a symlink, bad JSON)."""

    def __init__(self, name: str, why: str):
        super().__init__("reply_rejected", name=name, why=why)


class BridgeTimeout(BridgeError):
    def __init__(self, name: str, seconds: float):
        super().__init__("bridge_timeout", name=name, seconds=seconds)
