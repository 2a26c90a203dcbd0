"""What the harness's bridge and the kernel side agree on; standard library only, imported by both.

The bridge sends a REQUEST message on the kernel's shell channel, content ``{"rid", "op", "name", "args"}``
(``op`` one of OPS; ``args`` the JSON text of a list of VALUES, for OPS_WITH_ARGS); the handler kernel_side.py
bound when the kernel started writes ``<rid>.json`` in the exchange folder, one of REPLIES, whose values are
plain-data descriptors (VALUES): JSON, or an .npy file beside the reply, nested in lists and dicts.  Then it
answers with a small REPLY message (parent: the request), content ``{"status": "ok"}`` once the reply file
is written, ``{"status": "error"}`` when it could not be.  Replies travel as files, never in messages.
"""

#: The shell message types of a request and of its answer.
REQUEST, REPLY = "davar_request", "davar_reply"
#: The requests the bridge may make, and those of them that carry arguments (as VALUES).
OPS = frozenset({"has", "value", "call", "source", "model_info", "model_graph", "predict", "model_trace",
                 "find_models", "snapshot", "restore", "call_observed"})
OPS_WITH_ARGS = frozenset({"call", "predict", "model_trace", "call_observed"})
#: A reply is one of: {"ok": VALUE}, {"missing": name}, {"error": {"type", "message", "traceback"}}.
REPLIES = ("ok", "missing", "error")
#: A value is one of: {"json": ...}, {"npy": file name}, {"list": [VALUE, ...]}, {"dict": {key: VALUE}}.  An
#: argument {"npy": file name, "as": "torch"} reaches the student's function as a torch tensor.
VALUES = ("json", "npy", "list", "dict")
#: The kernel's namespace snapshot, in its working folder (never unpickled by the harness).
SNAPSHOT = ".davar-snapshot.pkl"
#: Environment variables the harness sets for the kernel: the exchange folders, the audit socket, the
#: Colab/Kaggle shim's configuration (JSON, colab_shim.install's `config`), and without walls the host paths the
#: grading's sandbox shows (JSON, audit.start's `shown`).
ENV_EXCHANGE_IN, ENV_EXCHANGE_OUT, ENV_AUDIT_SOCKET = "DAVAR_EXCHANGE_IN", "DAVAR_EXCHANGE_OUT", "DAVAR_AUDIT_SOCKET"
ENV_SHIM, ENV_AUDIT_SHOWN = "DAVAR_SHIM", "DAVAR_AUDIT_SHOWN"
