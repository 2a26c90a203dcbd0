"""Runs INSIDE the sandbox as the kernel's entry point: ``python kernel_side.py -f CONNECTION_FILE``.

Before any of the student's code, it:

1. loads this folder's modules (davar/inside, bound read-only at /opt/davar; see ``__init__.py``) under private
   names, and starts the audit hook when the harness gave ``$DAVAR_AUDIT_SOCKET``;
2. binds the bridge's requests (`ops.bind`: everything they use captured now), then takes the private
   modules out of ``sys.modules`` and the folder off ``sys.path``: no ``import`` reaches any of it after this;
3. initialises an ordinary ipykernel and registers, in its shell handlers, the handler of ``protocol.REQUEST``
   messages, which answers each with ``protocol.REPLY`` once the reply file is written;
4. installs the Colab/Kaggle shim configured by ``$DAVAR_SHIM`` and the CUDA-on-CPU shim (both adapt libraries
   once they are imported: `post_import`), and without walls the audit's note of the paths the cells name
   (`audit.Named`); then starts the kernel, which imports the assignment's frameworks.
"""

import importlib.util
import json
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


# Each before the modules that import it: ops.py imports all but audit and the shims (colab_shim, cuda_shim and
# post_import, which the shims are given).
protocol, audit, models, snapshots, colab_shim, cuda_shim, post_import, ops = (
    _sibling(name) for name in ("protocol", "audit", "models", "snapshots", "colab_shim", "cuda_shim", "post_import",
                                "ops"))


def bind():
    """The bridge's `answer` (ops.bind), bound to the harness's exchange folders and to the snapshot's place
    in the working folder the kernel starts in; afterwards nothing of this folder is importable."""
    answer = ops.bind(exchange_in=os.environ.get(protocol.ENV_EXCHANGE_IN, "/exchange/in"),
                      exchange_out=os.environ.get(protocol.ENV_EXCHANGE_OUT, "/exchange/out"),
                      snapshot=os.path.join(os.getcwd(), protocol.SNAPSHOT))
    for name in [n for n in sys.modules if n.startswith("_davar")]:
        del sys.modules[name]
    sys.path[:] = [p for p in sys.path if p != _HERE]
    return answer


def serve(kernel, answer) -> None:
    """Register the handler of the bridge's requests in `kernel`'s shell handlers: each request is answered
    by `answer` on the notebook's namespace, then by a small REPLY message whose parent is the request.
    What it calls is captured here, before the student's code."""
    send, shell, reply = kernel.session.send, kernel.shell, protocol.REPLY

    def davar_request(stream, idents, msg):
        content = msg.get("content")
        written = answer(content if isinstance(content, dict) else {}, shell.user_ns)
        send(stream, reply, {"status": "ok" if written else "error"}, parent=msg, ident=idents)

    kernel.shell_handlers[protocol.REQUEST] = davar_request


def main():
    shown = json.loads(os.environ.get(protocol.ENV_AUDIT_SHOWN) or "[]")  # set without walls only
    if os.environ.get(protocol.ENV_AUDIT_SOCKET):
        audit.start(os.environ[protocol.ENV_AUDIT_SOCKET], shown)
    answer = bind()
    shim, report = json.loads(os.environ.get(protocol.ENV_SHIM) or "{}"), audit.report
    # ipykernel's debugger off: nobody attaches one to a graded kernel, and its import (debugpy and pydevd) was
    # 80-90 ms of every kernel's start, a sixth of it.  A module that is None in sys.modules raises ImportError,
    # which ipykernel takes for "debugpy is not installed"; a student's own `import debugpy` still works after.
    sys.modules["debugpy"] = None  # type: ignore[assignment]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize()
    del sys.modules["debugpy"]
    # exit() or quit() in a cell does nothing: ipykernel would stop its event loop 0.1 s later and leave the
    # process hanging, and whether the graders' requests came in before that was a race (measured: the first
    # submission of a worker lost the tests after it in about 1 run of 3).
    app.kernel.shell.ask_exit = lambda: None
    serve(app.kernel, answer)
    def said(op, target):
        report("shim", op, target)

    post_import.install(said)  # where a patch that fails is reported
    colab_shim.install(shim, said, when_imported=post_import.when_imported)
    cuda_shim.install(said, when_imported=post_import.when_imported)
    if shown:  # after the shim's, which names where Colab's places are here
        app.kernel.shell.ast_transformers.append(audit.Named())
    app.start()


if __name__ == "__main__":
    main()
