"""Reports attempts to leave the sandbox to the harness; kernel_side.py starts it before the student's code.

An audit hook (PEP 578, cannot be removed once added) sends them as datagrams to the socket the harness
gave (``$DAVAR_AUDIT_SOCKET``): network connections to anything but loopback, URL fetches, shell commands
naming URLs, and file accesses to absolute paths that do not exist in here; what the Colab shim maps
comes through `report` too.  The harness keeps the ones that name real host paths.  The sandbox is what
stops them; this is only how the result can say so.
"""

import json
import os
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
#: Seconds in all that reports may wait for room in the harness's queue (about ten datagrams, read as they come):
#: a burst of reports outruns the harness's reader on a busy machine; past this, a full queue drops them.
PATIENCE = 1.0
_waited = 0.0


def start(address):
    """Report to the harness's datagram socket at `address` from now on."""
    global _sock, _address
    _sock, _address = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM), address
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
