"""What every course's stand-in datasets share; the datasets themselves live with their course.

An assignment names each of its datasets in ``[datasets.<name>] standin = "module:function"``: a
module in ``graders/<id>/`` (found by :func:`davar.assignment.course_imports`) holding the offline
stand-in generator and the loaders that graders and template notebooks use, so the grader code is
the same for the real data and the stand-in.  Its docstring says where a TA puts the real data.
Generators build with :mod:`.standin`, which keeps them from ever replacing real data.

On disk, dataset ``<name>`` of assignment ``<id>`` is ``<root>/<id>/public/<name>`` (what the student
sees) and ``<root>/<id>/hidden/<name>`` (never in the sandbox), where ``<root>`` is ``--data``,
``$DAVAR_DATA`` or the repo's ``data/`` (:meth:`davar.assignment.Assignment.data_root`).

When the stand-in is built (never silently where a TA pointed at real data):

- ``davar data ID [--data DIR]`` builds it: the TA asked for it.
- ``davar grade/check/audit-key`` with profile ``standin`` build it only into the default root
  (the repo's ``data/``, neither ``--data`` nor ``$DAVAR_DATA`` given).  With an explicit root that does
  not hold every dataset's folders (:func:`missing`), they stop before grading anyone
  (``commands.prepare_data``): a typo in ``--data`` is an error, never a class graded on stand-in data.
- Profile ``real`` never builds anything: missing data is the same error.

Every result records what it was graded on (`davar.results.DataRecord`, :func:`is_standin`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from davar.datasets import standin

if TYPE_CHECKING:  # course modules import this package, and it stays as light as it was
    from davar.assignment import Assignment


def explicit_root(data_root: Path | None) -> bool:
    """Whether the TA named the data root (``--data`` or ``$DAVAR_DATA``) rather than the default."""
    return data_root is not None or bool(os.environ.get("DAVAR_DATA"))


def missing(assignment: Assignment, data_root: Path | None = None) -> list[Path]:
    """The dataset folders of ``assignment`` that are not under its data root (empty when all are)."""
    root = assignment.data_root(data_root)
    return [folder for name in assignment.datasets for folder in (root / "public" / name, root / "hidden" / name)
            if not folder.is_dir()]


def is_standin(assignment: Assignment, data_root: Path | None = None) -> bool:
    """Whether any of the assignment's datasets under its data root is davar's synthetic stand-in."""
    root = assignment.data_root(data_root)
    return any(standin.is_built(root, name) for name in assignment.datasets)
