"""Colab and Kaggle notebooks, unchanged, in the sandbox (loaded by kernel_side.py in the student's kernel).

Installed by the setup cell before the student's cells, with the assignment's data map:

- `!pip install X` / `%pip install X`: a no-op when X is installed, else "not in the grading
  environment"; nothing is ever installed.
- `from google.colab import drive; drive.mount(...)` succeeds; the Drive and `/kaggle/input` paths
  of the data map are bind-mounted by the sandbox itself (davar/run/sandbox.py), read-only.
- `!wget`, `!curl`, `!gdown`, `gdown.download`, `urllib.request.urlretrieve/urlopen` and
  `requests.get` of a URL or Drive id in the data map are served from the local copy; anything else
  fails at once naming the URL (the network is off anyway: this only makes it fast and clear).
- `!unzip` is done with `zipfile` (no path may leave the target folder).
- Framework dataset loaders (`keras.datasets.*.load_data()`, `torchvision.datasets.*(download=True)`,
  `keras.utils.get_file`) download through urllib, so they are served the same way; the harness adds the
  URLs of the loaders' files that the course's public data holds (davar/datasets/native.py).  A file served
  from a folder marked as davar's stand-in (`STANDIN_MARK`) cannot have the official file's hash: for it,
  and the files in its archive, keras's `validate_file` and torchvision's `check_md5` say yes, and the
  result says so (`standin_integrity`); every other file is checked by the loaders as always.
- `google.colab.files`, `output`, `patches` (`cv2_imshow` shows the image) import and do nothing.
- Without a sandbox (level `none`: nothing is mounted) `config["paths"]` maps the places a walled kernel has
  (/content, /kaggle, a data map's first folder) to where they are on this machine: a string constant of a cell
  and a path in a shell command that name a place under one of them and that this machine does not have name
  where it is instead.

Every mapping is reported to the harness (`report(op, target)`), which lists them in the result.
This file runs inside the sandbox and imports nothing from davar.
"""

import contextlib
import hashlib
import io
import os
import re
import shlex
import shutil
import sys
import tarfile
import types
import zipfile
from collections.abc import Callable

_config: dict[str, dict[str, str]] = {"downloads": {}, "paths": {}}
_report: Callable[[str, str], None]  # the harness's `report(op, target)`, set by install()
#: A file next to served files that are davar's stand-ins, not the official ones (davar/datasets/native.py).
STANDIN_MARK = ".davar-standin"
# md5 and sha256 of each stand-in file served, and of each file in its archive -> the served file's name
_standins: dict[str, str] = {}
_standin_files: set[str] = set()  # the stand-in files whose hashes are noted


def install(config, report, when_imported):
    """`config["downloads"]`: URL or Drive id -> local file or folder (already inside the sandbox);
    `config["paths"]`: a place -> where it is, without a sandbox (`_moved`).
    `when_imported`: post_import's, to adapt requests and the loaders' hash checks once they are imported
    (requests' import was 30 ms of every kernel's start, most of which never use it)."""
    global _report
    _config.update(config)
    # where a place is -> its first name: what the shim reports names the places as the notebook does
    written: dict[str, str] = {}
    for place, there in _config["paths"].items():
        written.setdefault(there, place)
    _config["paths"] = dict(sorted(_config["paths"].items(), key=lambda kv: -len(kv[0])))  # `_moved`: longest first

    def named_as_written(op, target):
        for there, place in written.items():
            target = target.replace(there, place)
        report(op, target)

    _report = named_as_written
    _fake_colab()
    _fake_gdown()
    _patch_urllib()
    _patch_shell()
    _move_paths()
    when_imported("requests", _patch_requests)
    when_imported("keras.src.utils.file_utils", _patch_keras_hash)
    when_imported("torchvision.datasets.utils", _patch_torchvision_md5)


# ------------------------------------------------------------------------------------------ downloads

_DRIVE_ID = re.compile(r"(?:/d/|[?&]id=)([\w-]{10,})")


def _local(source):
    """The local copy of a URL or Drive id from the data map, or None."""
    source = str(source).strip()
    found = _config["downloads"].get(source)
    if found is None:
        match = _DRIVE_ID.search(source)
        found = _config["downloads"].get(match.group(1)) if match else None
    if found is not None and os.path.isfile(found) and os.path.isfile(os.path.join(os.path.dirname(found),
                                                                                    STANDIN_MARK)):
        _remember_standin(found)
    return found


def _fetch(source, output=None):
    """Copy the data map's file for `source` to `output` (a file, or a folder to put it in)."""
    local = _local(source)
    if local is None:
        _report("download_refused", str(source))
        raise ConnectionError(f"davar: {source} is not available while grading (no network; not in the data map)")
    name = os.path.basename(local.rstrip("/"))
    target = output or name
    if os.path.isdir(target):
        target = os.path.join(target, name)
    if os.path.isdir(local):
        shutil.copytree(local, target, dirs_exist_ok=True)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        shutil.copyfile(local, target)
    _report("download", f"{source} -> {target}")
    return target


def _fake_gdown():
    gdown = types.ModuleType("gdown")

    def download(url=None, output=None, quiet=False, fuzzy=False, id=None, **kwargs):
        return _fetch(id or url, output)

    def download_folder(url=None, output=None, quiet=False, id=None, **kwargs):
        return _fetch(id or url, output)

    vars(gdown).update(download=download, download_folder=download_folder)
    sys.modules["gdown"] = gdown


def _patch_urllib():
    import urllib.error
    import urllib.request
    import urllib.response
    from email.message import Message

    real_urlopen = urllib.request.urlopen

    def url_of(request):
        return request.full_url if isinstance(request, urllib.request.Request) else str(request)

    def urlopen(url, *args, **kwargs):
        address = url_of(url)
        if address.startswith(("http://", "https://", "ftp://")):
            local = _local(address)
            if local is None or os.path.isdir(local):
                _report("download_refused", address)
                raise urllib.error.URLError(f"davar: {address} is not available while grading")
            _report("download", address)
            with open(local, "rb") as fh:
                body = fh.read()
            headers = Message()
            headers["Content-Length"] = str(len(body))
            response = urllib.response.addinfourl(io.BytesIO(body), headers, address, 200)
            vars(response)["length"] = len(body)  # as http.client has it (torchvision reads it)
            return response
        return real_urlopen(url, *args, **kwargs)

    def urlretrieve(url, filename=None, reporthook=None, data=None):
        try:
            return _fetch(url_of(url), filename), Message()
        except ConnectionError as e:
            raise urllib.error.URLError(str(e)) from None

    urllib.request.urlopen, urllib.request.urlretrieve = urlopen, urlretrieve


def _patch_requests(requests):
    real_get = requests.get

    def get(url, *args, **kwargs):
        local = _local(url)
        if local is None or os.path.isdir(local):
            _report("download_refused", str(url))
            raise requests.ConnectionError(f"davar: {url} is not available while grading")
        _report("download", str(url))
        response = requests.Response()
        response.status_code, response.url = 200, str(url)
        with open(local, "rb") as fh:
            response._content = fh.read()
        return response

    vars(get)["__wrapped__"] = real_get
    requests.get = get


# ------------------------------------------------------------------------------------------ stand-ins' hashes


def _digests(fh):
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    while chunk := fh.read(1 << 20):
        md5.update(chunk)
        sha256.update(chunk)
    return {md5.hexdigest(), sha256.hexdigest()}


def _remember_standin(path):
    """Note the hashes of a stand-in file about to be served, and of the files in it when it is a tar archive."""
    if path in _standin_files:
        return
    _standin_files.add(path)
    with open(path, "rb") as fh:
        found = _digests(fh)
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile():
                    found |= _digests(tar.extractfile(member))
    _standins.update(dict.fromkeys(found, os.path.basename(path)))


def _standin_passes(real, path, *args, **kwargs):
    """The loader's own hash check, and yes for a stand-in davar served (said in the result, once a file)."""
    if real(path, *args, **kwargs):
        return True
    if not _standins:
        return False
    try:
        with open(path, "rb") as fh:
            served = [_standins[d] for d in _digests(fh) if d in _standins]
    except OSError:
        return False
    if served:
        _report("standin_integrity", served[0])
    return bool(served)


def _patch_keras_hash(file_utils):
    real = file_utils.validate_file
    file_utils.validate_file = lambda fpath, file_hash, *a, **k: _standin_passes(real, fpath, file_hash, *a, **k)


def _patch_torchvision_md5(utils):
    real = utils.check_md5
    utils.check_md5 = lambda fpath, md5, **kwargs: _standin_passes(real, fpath, md5, **kwargs)


# ------------------------------------------------------------------------------------------ google.colab


def _fake_colab():
    colab = types.ModuleType("google.colab")
    colab.__path__ = []  # a package: `import google.colab.drive` works too

    drive = types.ModuleType("google.colab.drive")

    def mount(mountpoint="/content/drive", force_remount=False, **kwargs):
        _report("mount", mountpoint)
        print(f"Mounted at {mountpoint}")

    vars(drive).update(mount=mount, flush_and_unmount=lambda *a, **k: None)

    files = types.ModuleType("google.colab.files")
    vars(files).update(upload=lambda *a, **k: {}, download=lambda *a, **k: None)

    patches = types.ModuleType("google.colab.patches")

    def cv2_imshow(image):
        import numpy as np
        from IPython.display import display
        from PIL import Image

        array = np.asarray(image)
        if array.ndim == 3 and array.shape[2] >= 3:
            array = array[..., [2, 1, 0, *range(3, array.shape[2])]]  # OpenCV's BGR(A) to RGB(A)
        display(Image.fromarray(array.clip(0, 255).astype("uint8")))

    vars(patches)["cv2_imshow"] = cv2_imshow
    output = types.ModuleType("google.colab.output")

    def anything(name):  # output.enable_custom_widget_manager() and the like: accepted, nothing done
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: None

    vars(output)["__getattr__"] = anything  # a module's __getattr__ (PEP 562) is looked up in its namespace

    for name, module in (("drive", drive), ("files", files), ("patches", patches), ("output", output)):
        setattr(colab, name, module)
        sys.modules[f"google.colab.{name}"] = module
    sys.modules["google.colab"] = colab
    with contextlib.suppress(ImportError):
        import google

        google.colab = colab


# ------------------------------------------------------------------------------------------ ! and %pip


def _patch_shell():
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        return
    real_system = ip.system

    def system(cmd):
        cmd = _SHELL_PATH.sub(lambda m: _moved(m.group(0)), cmd) if _config["paths"] else cmd
        for part in re.split(r"\s*(?:&&|;)\s*", cmd.strip()):
            if part and not _command(part):
                real_system(part)

    ip.system = system
    ip.register_magic_function(lambda line: _pip(shlex.split(line)), "line", "pip")


# ------------------------------------------------------------------------------------------ places, at `none`

_SHELL_PATH = re.compile(r"(?<![\w./:-])/[^\s'\"]+")  # an absolute path in a shell command


def _moved(path):
    """Where `path` is on this machine: itself where it exists or lies under no place of `config["paths"]`, else
    under where that place is (the longest that holds it)."""
    places = _config["paths"]  # longest first (`install`)
    for place in places:
        if (path == place or path.startswith(place + "/")) and not os.path.lexists(path):
            return places[place] + path[len(place):]
    return path


def _move_paths():
    """Have the string constants of every cell name where their places are (`_moved`); an f-string's first part
    only, where a path begins."""
    import ast

    from IPython import get_ipython

    ip = get_ipython()
    if ip is None or not _config["paths"]:
        return

    class Places(ast.NodeTransformer):
        def visit_Constant(self, node):
            if isinstance(node.value, str) and node.value.startswith("/"):
                return ast.copy_location(ast.Constant(_moved(node.value)), node)
            return node

        def visit_JoinedStr(self, node):
            if node.values and isinstance(node.values[0], ast.Constant):
                node.values[0] = self.visit_Constant(node.values[0])
            for i, value in enumerate(node.values):
                if isinstance(value, ast.FormattedValue):
                    node.values[i] = self.generic_visit(value)
            return node

    ip.ast_transformers.append(Places())


def _command(command):
    """Handle one shell command the way Colab would need it offline; False: run it for real."""
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if not words:
        return True
    head = os.path.basename(words[0])
    if head in ("pip", "pip3") or (head.startswith("python") and words[1:3] == ["-m", "pip"]):
        _pip(words[3:] if head.startswith("python") else words[1:])
    elif head in ("wget", "curl", "gdown"):
        _download(head, words[1:])
    elif head == "unzip":
        _unzip(words[1:])
    else:
        return False
    return True


def _pip(args):
    from importlib import metadata

    if not args or args[0] != "install":
        print("davar: pip is not available while grading")
        return
    packages, rest = [], iter(args[1:])
    for arg in rest:
        if arg in ("-r", "--requirement"):
            with contextlib.suppress(OSError), open(next(rest, "")) as fh:
                packages += [line.strip() for line in fh if line.strip() and not line.startswith("#")]
        elif arg in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-c", "--constraint"):
            next(rest, None)
        elif not arg.startswith("-"):
            packages.append(arg)
    for spec in packages:
        name = re.split(r"[\s<>=!~\[;@]", spec, maxsplit=1)[0]
        found = _installed(name, metadata)
        if found is None:
            _report("pip_missing", name)
            print(f"davar: {name} is not in the grading environment; nothing is installed while grading")
        else:
            _report("pip_present", found)
            print(f"davar: {found} is already installed; skipped")


# Packages a notebook installs under one name that the grading environment has under another, the same import:
# the CPU builds, the OpenCV variants.  Otherwise the distribution that provides the module of that name.
_SAME_IMPORT = {"tensorflow": "tensorflow", "tensorflow-gpu": "tensorflow", "tensorflow-cpu": "tensorflow",
                "opencv-python": "cv2", "opencv-python-headless": "cv2", "opencv-contrib-python": "cv2",
                "opencv-contrib-python-headless": "cv2", "pillow": "PIL", "scikit-learn": "sklearn"}


def _installed(name, metadata):
    """"NAME VERSION" of the installed distribution `pip install name` asks for, or of one providing the same
    import (tensorflow-cpu for tensorflow); None when there is none."""
    with contextlib.suppress(metadata.PackageNotFoundError):
        return f"{name} {metadata.version(name)}"
    module = _SAME_IMPORT.get(name.lower(), name.lower().replace("-", "_"))
    for dist in metadata.packages_distributions().get(module, ()):
        with contextlib.suppress(metadata.PackageNotFoundError):
            return f"{dist} {metadata.version(dist)}"
    return None


def _download(tool, args):
    output, sources, rest = None, [], iter(args)
    for arg in rest:
        if arg in ("-O", "-o", "--output", "--output-document") or arg in ("-P", "--directory-prefix"):
            output = next(rest, None)
        elif arg == "--id":
            sources.append(next(rest, ""))
        elif arg.startswith("--output-document=") or arg.startswith("--output="):
            output = arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            sources.append(arg)
    for source in sources:
        try:
            _fetch(source, output)
        except ConnectionError as e:
            print(e, file=sys.stderr)


def _unzip(args):
    target, archive, rest = ".", None, iter(args)
    for arg in rest:
        if arg == "-d":
            target = next(rest, ".")
        elif not arg.startswith("-") and archive is None:
            archive = arg
    if archive is None:
        return
    root = os.path.realpath(target)
    with zipfile.ZipFile(archive) as z:
        for member in z.infolist():
            path = os.path.realpath(os.path.join(root, member.filename))
            if path != root and not path.startswith(root + os.sep):
                print(f"davar: skipped {member.filename} (outside {target})", file=sys.stderr)
                continue
            z.extract(member, root)
    _report("unzip", f"{archive} -> {target}")
