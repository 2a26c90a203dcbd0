"""Runs INSIDE the sandbox as the kernel's entry point: ``python kernel_side.py -f CONNECTION_FILE``.

It loads this folder's modules (davar/inside, bound read-only at /opt/davar; see ``__init__.py``) under
private names, registers ``ops.py`` as ``_davar`` for the harness's bridge, starts the audit hook when the
harness gave ``$DAVAR_AUDIT_SOCKET``, takes the folder off ``sys.path`` and starts an ordinary ipykernel.
"""

import importlib.util
import os
import sys
from types import ModuleType

_HERE = os.path.dirname(os.path.abspath(__file__))


def _sibling(name: str) -> ModuleType:
    """A module of this folder, loaded under a private name, ``_davar_<name>``, the name the modules loaded
    after it import it by: the folder is not left on the student's sys.path, so a student's own
    `protocol.py` or `models.py` neither shadows one of them nor is shadowed by it."""
    spec = importlib.util.spec_from_file_location(f"_davar_{name}", os.path.join(_HERE, f"{name}.py"))
    assert spec is not None and spec.loader is not None  # a .py file always has a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# Each before the modules that import it: ops.py imports all the others.
protocol, audit, models, snapshots, colab_shim, ops = (
    _sibling(name) for name in ("protocol", "audit", "models", "snapshots", "colab_shim", "ops"))


def main():
    sys.modules[protocol.MODULE] = ops
    if os.environ.get(protocol.ENV_AUDIT_SOCKET):
        audit.start(os.environ[protocol.ENV_AUDIT_SOCKET])
    sys.path[:] = [p for p in sys.path if p != _HERE]
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance()


if __name__ == "__main__":
    main()
