"""The requests the harness's bridge makes in the kernel, answered as plain data; kernel_side.py registers
this module as ``_davar``.

The bridge runs ``_davar.<op>(request_id, ...)`` with ``silent=True`` (the ops are ``protocol.OPS``; the
setup cell also calls `install_shim`).  Every request writes ``out/<rid>.json``, one of ``protocol.REPLIES``:
a descriptor of plain data, with arrays in ``.npy`` files beside it (never pickles).  Student exceptions
become ``{"error": ...}`` replies, a name the notebook lacks ``{"missing": name}``.

Its siblings are imported by the private names kernel_side.py loaded them under, before this module.
"""

import json
import os
import traceback

import _davar_audit as audit
import _davar_colab_shim as colab_shim
import _davar_models as models
import _davar_protocol as protocol
import _davar_snapshots as snapshots

EXCHANGE_IN = os.environ.get(protocol.ENV_EXCHANGE_IN, "/exchange/in")
EXCHANGE_OUT = os.environ.get(protocol.ENV_EXCHANGE_OUT, "/exchange/out")

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


# --------------------------------------------------------------------------- the ops


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


def model_info(rid, name):
    def run():
        obj = _lookup(name)
        kind = models.framework(obj)
        if kind is None:
            return {"json": {"framework": None, "class": type(obj).__name__}}
        return {"json": models.torch_info(obj) if kind == "torch" else models.keras_info(obj)}

    _reply(rid, run)


def model_graph(rid, name):
    """The model's graph (torch: without shapes; those need an example input, see ``model_trace``)."""

    def run():
        obj = _lookup(name)
        if models.framework(obj) is None:
            return {"json": {"graph": None, "graph_error": f"not a model: {type(obj).__name__}"}}
        return {"json": models.graph(obj)}

    _reply(rid, run)


def predict(rid, name, args):
    """Raw forward pass of a model on grader-made inputs (eval mode, no gradients)."""

    def run():
        model = _lookup(name)
        x = _decode_arg(args[0])
        if models.framework(model) == "torch":
            return _encode(models.forward(model, model, x), rid, [0])
        return _encode(model.predict(x, verbose=0), rid, [0])

    _reply(rid, run)


def model_trace(rid, name, args):
    """What a pass on the example input ``args[0]`` shows: ``{"info": model_info with each layer's
    output shape, "graph": ..., "graph_error": ...}`` (torch; a Keras model already knows its shapes,
    so its info and graph come back as they are)."""

    def run():
        model = _lookup(name)
        x = _decode_arg(args[0])
        if models.framework(model) == "torch":
            info = models.torch_info(model, models.torch_shapes(model, x))
        elif models.framework(model) == "keras":
            info = models.keras_info(model)
        else:
            return {"json": {"info": {"framework": None, "class": type(model).__name__}}}
        return {"json": {"info": info, **models.graph(model, x)}}

    _reply(rid, run)


def find_models(rid):
    def run():
        found = {}
        for k, v in list(_user_ns().items()):
            if not k.startswith("_") and models.framework(v):
                found[k] = {"framework": models.framework(v), "class": type(v).__name__}
        return {"json": found}

    _reply(rid, run)


def install_shim(config):
    """Colab/Kaggle compatibility (colab_shim.py), called by the setup cell; what it maps is reported."""
    colab_shim.install(config, lambda op, target: audit.report("shim", op, target))


def snapshot(rid):
    """Save the notebook's namespace for a later regrade (snapshots.py), in the kernel's working folder."""
    _reply(rid, lambda: {"json": snapshots.save(_user_ns(), protocol.SNAPSHOT)})


def restore(rid):
    """Load a `snapshot` into this (fresh) kernel's namespace."""
    _reply(rid, lambda: {"json": snapshots.restore(_user_ns(), protocol.SNAPSHOT)})
