"""What the harness's bridge and the kernel side agree on; standard library only, imported by both.

The bridge asks by executing `__import__(MODULE).<op>(request_id, ...)` in the kernel; the kernel side
answers with `<request_id>.json` in the exchange folder, one of REPLIES, whose values are plain-data
descriptors (VALUES): JSON, or an .npy file beside the reply, nested in lists and dicts.
"""

#: The name the kernel side registers itself under in the kernel's sys.modules.
MODULE = "_davar"
#: The requests the bridge may make, and those of them that carry arguments (as VALUES).
OPS = frozenset({"has", "value", "call", "source", "model_info", "model_graph", "predict", "model_trace",
                 "find_models", "snapshot", "restore"})
OPS_WITH_ARGS = frozenset({"call", "predict", "model_trace"})
#: A reply is one of: {"ok": VALUE}, {"missing": name}, {"error": {"type", "message", "traceback"}}.
REPLIES = ("ok", "missing", "error")
#: A value is one of: {"json": ...}, {"npy": file name}, {"list": [VALUE, ...]}, {"dict": {key: VALUE}}.
VALUES = ("json", "npy", "list", "dict")
#: The kernel's namespace snapshot, in its working folder (never unpickled by the harness).
SNAPSHOT = ".davar-snapshot.pkl"
#: Environment variables the harness sets for the kernel.
ENV_EXCHANGE_IN, ENV_EXCHANGE_OUT, ENV_AUDIT_SOCKET = "DAVAR_EXCHANGE_IN", "DAVAR_EXCHANGE_OUT", "DAVAR_AUDIT_SOCKET"
