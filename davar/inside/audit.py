"""Reports attempts to leave the sandbox to the harness; kernel_side.py starts it before the student's code.

An audit hook (PEP 578, cannot be removed once added) sends them as datagrams to the socket the harness
gave (``$DAVAR_AUDIT_SOCKET``): network connections to anything but loopback, URL fetches, shell commands
naming URLs, and file accesses to absolute paths that do not exist in here; what the Colab shim maps
comes through `report` too.  The harness keeps the ones that name real host paths.  The sandbox is what
stops them; this is only how the result can say so.

Without walls (`none`: a laptop without bubblewrap, a CI runner) the harness gives instead what the grading's
sandbox shows of the host (`start`'s `shown`).  A file access there to a path the student's cells name (`Named`)
outside all of that is refused with the error the sandbox gives, FileNotFoundError, and reported: the notebook
fails here as it will in the grading, not only there.  Paths the cells do not name (a library's own files)
are left alone, and so is what the interpreter reads outside Python's audit events (C code).
"""

import ast
import errno
import json
import os
import re
import socket
import sys
import threading
import time

_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
_FILE_EVENTS = {"open", "os.listdir", "os.scandir", "os.chdir", "shutil.copyfile"}
# Paths whose absence is ordinary (interpreter and library probing), never reported.
_QUIET = tuple(p.rstrip("/") + "/" for p in {sys.prefix, sys.base_prefix, "/usr", "/proc", "/sys", "/dev",
                                             "/submission", "/exchange", "/opt/davar"})
_guard = threading.local()
_seen: dict[str, set[str]] = {"file": set(), "network": set(), "shim": set()}
_sock: socket.socket | None = None  # start() opens it when the harness gave a socket
_address = ""
_shown: tuple[str, ...] = ()  # without walls: the host paths the grading's sandbox shows
_named: list[str] = []  # the absolute paths the student's cells name, up to a wildcard (`Named`)
_NAMED_MAX = 1000
#: Seconds in all that reports may wait for room in the harness's queue (about ten datagrams, read as they come):
#: a burst of reports outruns the harness's reader on a busy machine; past this, a full queue drops them.
PATIENCE = 1.0
_waited = 0.0


def start(address, shown=()):
    """Report to the harness's datagram socket at `address` from now on; with `shown` (no walls), refuse what
    lies outside it and the cells name."""
    global _sock, _address, _shown
    _sock, _address = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM), address
    _shown = tuple(p.rstrip("/") for p in shown if p.startswith("/"))
    _sock.setblocking(False)  # a full queue holds the student's code up at most `PATIENCE` in all
    sys.addaudithook(_audit)


def report(kind, op, target):
    """One report of `kind` ("file", "network", "shim"), each target once, at most 100 of a kind."""
    seen = _seen[kind]
    if _sock is None or target in seen or len(seen) >= 100:
        return
    seen.add(target)
    _send(_sock, json.dumps({"kind": kind, "op": op, "target": target[:500]}).encode())


def _send(sock, payload):
    global _waited
    while True:
        try:
            sock.sendto(payload, _address)
            return
        except BlockingIOError:
            if _waited >= PATIENCE:
                return
            time.sleep(0.001)
            _waited += 0.001
        except OSError:
            return


class Named(ast.NodeTransformer):
    """An IPython AST transformer that notes each absolute path a cell names, in a string or where an f-string
    begins (its other parts follow a value), and changes nothing."""

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value.startswith("/") and len(_named) < _NAMED_MAX:
            path = re.split(r"[*?\[{]", node.value, maxsplit=1)[0].rstrip("/")  # a glob's or a template's start
            if path and path not in _named:
                _named.append(path)
        return node

    def visit_JoinedStr(self, node):
        for i, value in enumerate(node.values):
            if i == 0 or isinstance(value, ast.FormattedValue):
                self.visit(value)
        return node


def _refused(path):
    """Without walls: whether the cells name `path` and the grading's sandbox has nothing there (it is neither
    under what it shows nor above it)."""
    folder = path.rstrip("/") + "/"
    return bool(_shown) and any(path.startswith(n) for n in _named) and not any(
        path == s or path.startswith(s + "/") or s.startswith(folder) for s in _shown)


def _audit(event, args):
    if getattr(_guard, "busy", False):
        return
    _guard.busy = True
    refused = None
    try:
        if event in _FILE_EVENTS and args and isinstance(args[0], (str, bytes)):
            path = os.fsdecode(args[0])
            if path and not path.startswith("/"):
                path = os.path.join(os.getcwd(), path)
            path = os.path.normpath(path)
            if _shown:
                if _refused(path):
                    refused = os.fsdecode(args[0])
                    report("file", event, path)
            elif not (path + "/").startswith(_QUIET) and not os.path.lexists(path):
                report("file", event, path)
        elif event == "socket.connect" and len(args) >= 2 and isinstance(args[1], tuple):
            host = str(args[1][0])
            if host and not host.startswith(_LOOPBACK):
                report("network", event, f"{host}:{args[1][1]}")
        elif event == "socket.getaddrinfo" and args and args[0] not in (None, b"", ""):
            host = os.fsdecode(args[0]) if isinstance(args[0], bytes) else str(args[0])
            if host and not host.startswith(_LOOPBACK):
                report("network", event, f"{host}:{args[1]}")
        elif event == "urllib.Request" and args:
            report("network", event, str(args[0]))
        elif event in ("subprocess.Popen", "os.system"):
            words = args[1] if event == "subprocess.Popen" else args[0]
            text = " ".join(map(os.fsdecode, words)) if isinstance(words, (list, tuple)) else os.fsdecode(words)
            if "://" in text:
                report("network", event, text)
    except Exception:
        pass
    finally:
        _guard.busy = False
    if refused is not None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), refused)
