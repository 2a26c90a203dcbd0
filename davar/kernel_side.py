"""Runs INSIDE the sandbox as the kernel's entry point: ``python kernel_side.py -f CONNECTION_FILE``.

It only uses the standard library and what the student's environment has (numpy, and torch or keras
when the notebook uses them); it cannot import davar, which is not visible in the sandbox.

1. An audit hook (PEP 578, cannot be removed once added) reports attempts to leave the sandbox to the
   harness as datagrams on ``$DAVAR_AUDIT_SOCKET``: network connections to anything but loopback,
   URL fetches, shell commands naming URLs, and file accesses to absolute paths that do not exist in
   here.  The harness keeps the ones that name real host paths.  The sandbox is what stops them; this
   is only how the result can say so.
2. The module registers itself as ``_davar`` so the harness can run ``_davar.call(...)`` etc. with
   ``silent=True``.  Every request writes ``out/<rid>.json``: a descriptor of plain data, with arrays in
   ``.npy`` files beside it (never pickles).  Student exceptions become ``{"error": ...}`` replies.
3. Then it starts an ordinary ipykernel.
"""

import json
import os
import sys
import threading
import traceback

EXCHANGE_IN = os.environ.get("DAVAR_EXCHANGE_IN", "/exchange/in")
EXCHANGE_OUT = os.environ.get("DAVAR_EXCHANGE_OUT", "/exchange/out")
_AUDIT_SOCKET = os.environ.get("DAVAR_AUDIT_SOCKET", "")
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
_FILE_EVENTS = {"open", "os.listdir", "os.scandir", "os.chdir", "shutil.copyfile"}
# Paths whose absence is ordinary (interpreter and library probing), never reported.
_QUIET = tuple(p.rstrip("/") + "/" for p in {sys.prefix, sys.base_prefix, "/usr", "/proc", "/sys", "/dev",
                                             "/submission", "/exchange", "/opt/davar"})
_guard = threading.local()
_seen = {"file": set(), "network": set()}


def _report(kind, op, target):
    seen = _seen[kind]
    if target in seen or len(seen) >= 100:
        return
    seen.add(target)
    try:
        _sock.sendto(json.dumps({"kind": kind, "op": op, "target": target[:500]}).encode(), _AUDIT_SOCKET)
    except OSError:
        pass


def _audit(event, args):
    if getattr(_guard, "busy", False):
        return
    _guard.busy = True
    try:
        if event in _FILE_EVENTS and args and isinstance(args[0], (str, bytes)):
            path = os.fsdecode(args[0])
            if path and not path.startswith("/"):
                path = os.path.join(os.getcwd(), path)
            path = os.path.normpath(path)
            if not (path + "/").startswith(_QUIET) and not os.path.lexists(path):
                _report("file", event, path)
        elif event == "socket.connect" and len(args) >= 2 and isinstance(args[1], tuple):
            host = str(args[1][0])
            if host and not host.startswith(_LOOPBACK):
                _report("network", event, f"{host}:{args[1][1]}")
        elif event == "socket.getaddrinfo" and args and args[0] not in (None, b"", ""):
            host = os.fsdecode(args[0]) if isinstance(args[0], bytes) else str(args[0])
            if host and not host.startswith(_LOOPBACK):
                _report("network", event, f"{host}:{args[1]}")
        elif event == "urllib.Request" and args:
            _report("network", event, str(args[0]))
        elif event in ("subprocess.Popen", "os.system"):
            words = args[1] if event == "subprocess.Popen" else args[0]
            text = " ".join(map(os.fsdecode, words)) if isinstance(words, (list, tuple)) else os.fsdecode(words)
            if "://" in text:
                _report("network", event, text)
    except Exception:
        pass
    finally:
        _guard.busy = False


# --------------------------------------------------------------------------- replies


def _user_ns():
    from IPython import get_ipython

    return get_ipython().user_ns


def _jsonable(obj):
    json.dumps(obj, allow_nan=True)
    return obj


def _as_array(obj):
    """numpy view of an array-like from numpy, torch or tensorflow, without copying types over."""
    import numpy as np

    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor
        obj = obj.detach().cpu().numpy()
    elif hasattr(obj, "numpy") and not isinstance(obj, np.ndarray):  # tf tensor
        obj = obj.numpy()
    arr = np.asarray(obj)
    if arr.dtype.hasobject:
        raise TypeError(f"array of Python objects ({type(obj).__name__}) cannot be sent")
    return arr


def _encode(obj, stem, counter):
    """Plain-data descriptor of a value; arrays go to .npy files next to the reply."""
    import numpy as np

    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"json": obj}
    if isinstance(obj, np.generic):
        return {"json": obj.item()}
    if isinstance(obj, (list, tuple)) and not any(hasattr(x, "shape") for x in obj):
        try:
            return {"json": _jsonable(list(obj))}
        except (TypeError, ValueError):
            pass
    if isinstance(obj, (list, tuple)):
        return {"list": [_encode(x, stem, counter) for x in obj]}
    if isinstance(obj, dict):
        return {"dict": {str(k): _encode(v, stem, counter) for k, v in obj.items()}}
    if hasattr(obj, "shape") or hasattr(obj, "__array__"):
        counter[0] += 1
        name = f"{stem}-{counter[0]}.npy"
        np.save(os.path.join(EXCHANGE_OUT, name), _as_array(obj), allow_pickle=False)
        return {"npy": name}
    raise TypeError(f"a {type(obj).__name__} is not plain data")


def _decode_arg(desc):
    import numpy as np

    if "npy" in desc:
        return np.load(os.path.join(EXCHANGE_IN, os.path.basename(desc["npy"])), allow_pickle=False)
    return desc["json"]


def _reply(rid, fn):
    path = os.path.join(EXCHANGE_OUT, f"{rid}.json")
    try:
        reply = {"ok": fn()}
    except _Missing as e:
        reply = {"missing": str(e)}
    except BaseException as e:  # the student's code raised: report it as data
        tb = traceback.format_exception(type(e), e, e.__traceback__)
        reply = {"error": {"type": type(e).__name__, "message": str(e)[:2000], "traceback": "".join(tb)[-8000:]}}
    tmp = path + ".part"
    with open(tmp, "w") as f:
        json.dump(reply, f)
    os.replace(tmp, path)


class _Missing(Exception):
    pass


def _lookup(name):
    ns = _user_ns()
    head, *rest = name.split(".")
    if head not in ns:
        raise _Missing(name)
    obj = ns[head]
    for part in rest:
        if not hasattr(obj, part):
            raise _Missing(name)
        obj = getattr(obj, part)
    return obj


def has(rid, name):
    def run():
        try:
            obj = _lookup(name)
        except _Missing:
            return {"json": {"exists": False}}
        return {"json": {"exists": True, "type": type(obj).__name__, "callable": callable(obj)}}

    _reply(rid, run)


def value(rid, name):
    _reply(rid, lambda: _encode(_lookup(name), rid, [0]))


def call(rid, name, args):
    _reply(rid, lambda: _encode(_lookup(name)(*[_decode_arg(a) for a in args]), rid, [0]))


def source(rid, name):
    import inspect

    _reply(rid, lambda: {"json": inspect.getsource(_lookup(name))})


def _framework(obj):
    mro = [f"{c.__module__}.{c.__name__}" for c in type(obj).__mro__]
    if "torch.nn.modules.module.Module" in mro:
        return "torch"
    if any(m.startswith(("keras.", "tf_keras.", "tensorflow.")) and m.endswith(".Model") for m in mro):
        return "keras"
    return None


def _torch_info(model):
    layers = []
    for qual, m in model.named_modules():
        if next(iter(m.children()), None) is not None:
            continue  # containers: their leaves are listed
        params = sum(p.numel() for p in m.parameters(recurse=False))
        layers.append({"name": qual, "type": type(m).__name__, "module": type(m).__module__,
                       "params": params, "config": {"repr": m.extra_repr()[:500]}})
    return {"framework": "torch", "class": type(model).__name__, "layers": layers,
            "params": sum(p.numel() for p in model.parameters()),
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def _keras_info(model):
    layers = []
    for layer in model.layers:
        try:
            config = _jsonable(layer.get_config())
        except (TypeError, ValueError, NotImplementedError):
            config = {}
        try:
            shape = list(layer.output.shape)
        except (AttributeError, ValueError):
            shape = None
        layers.append({"name": layer.name, "type": type(layer).__name__, "module": type(layer).__module__,
                       "params": int(layer.count_params()) if layer.built else 0, "config": config,
                       "output_shape": shape})
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    return {"framework": "keras", "class": type(model).__name__, "layers": layers,
            "params": int(model.count_params()), "trainable_params": trainable}


def model_info(rid, name):
    def run():
        obj = _lookup(name)
        kind = _framework(obj)
        if kind is None:
            return {"json": {"framework": None, "class": type(obj).__name__}}
        return {"json": _torch_info(obj) if kind == "torch" else _keras_info(obj)}

    _reply(rid, run)


def predict(rid, name, args):
    """Raw forward pass of a model on grader-made inputs (eval mode, no gradients)."""

    def run():
        model = _lookup(name)
        x = _decode_arg(args[0])
        if _framework(model) == "torch":
            import torch

            was_training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    param = next(model.parameters(), None)
                    t = torch.from_numpy(x)
                    if param is not None:
                        t = t.to(device=param.device, dtype=param.dtype if t.is_floating_point() else t.dtype)
                    return _encode(model(t), rid, [0])
            finally:
                model.train(was_training)
        return _encode(model.predict(x, verbose=0), rid, [0])

    _reply(rid, run)


def find_models(rid):
    def run():
        found = {}
        for k, v in list(_user_ns().items()):
            if not k.startswith("_") and _framework(v):
                found[k] = {"framework": _framework(v), "class": type(v).__name__}
        return {"json": found}

    _reply(rid, run)


def main():
    global _sock
    sys.modules["_davar"] = sys.modules[__name__]
    if _AUDIT_SOCKET:
        import socket

        _sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        _sock.setblocking(False)  # a full queue drops reports; it must never stall the student's code
        sys.addaudithook(_audit)
    sys.path[:] = [p for p in sys.path if p != os.path.dirname(os.path.abspath(__file__))]
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance()


if __name__ == "__main__":
    main()
