"""Run a function on a module right after it is imported (loaded by kernel_side.py in the student's kernel).

The shims adapt libraries a student imports when they like (torch, keras, torchvision), and they must be in
place before the cell that imported them goes on.  `when_imported(name, patch)` calls ``patch(module)`` at
once when the module is already imported, else right after its code has run, from a finder first on
``sys.meta_path`` that wraps the module's own loader (the approach of wrapt's post-import hooks, PEP 369).
A patch that raises is reported and leaves the import as it was: a shim never breaks a student's import.
This file runs inside the sandbox and imports nothing from davar.
"""

import sys
import threading
from collections.abc import Callable

_pending: dict[str, list[Callable]] = {}
_lock = threading.RLock()
_said: list[Callable[[str, str], None]] = []  # the harness's `report(op, target)`, once install() is called


def install(report):
    """Report a patch that failed with `report(op, target)` (the harness's)."""
    _said[:] = [report]


def when_imported(name, patch):
    """Call ``patch(module)`` once module `name` is imported (now, when it already is)."""
    with _lock:
        if name in sys.modules:
            _apply(name, sys.modules[name], [patch])
            return
        _pending.setdefault(name, []).append(patch)
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())


def _apply(name, module, patches):
    for patch in patches:
        try:
            patch(module)
        except Exception as e:  # the library changed under the shim: it stays as it is, and the result says so
            for report in _said:
                report("patch_failed", f"{name}: {type(e).__name__}: {e}"[:300])


class _Finder:
    """Finds nothing itself: for a module with patches pending, it asks the finders after it and has the
    module's own loader run the patches once the module's code has run."""

    _busy = threading.local()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _pending or getattr(self._busy, "name", None) == fullname:
            return None
        self._busy.name = fullname
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._busy.name = None
        loader = spec and spec.loader
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec  # not found, or a loader shared by many modules (builtin, frozen): left alone
        run = loader.exec_module

        def exec_module(module):
            run(module)
            with _lock:
                patches = _pending.pop(fullname, [])
            _apply(fullname, module, patches)

        try:
            vars(loader)["exec_module"] = exec_module  # on this loader object: one module's, made for this import
        except (AttributeError, TypeError):  # a loader that will not take it: no patch, the import goes on
            return spec
        return spec

    def invalidate_caches(self):
        pass
