"""`constraints.txt`: the versions `make demo` and `make test` install.  Everything the setup asks for (davar's
dependencies, requirements.txt, requirements-test.txt, the course's `[environment]` packages) and what those
depend on must be pinned there at the version this suite runs with, so that a fresh clone installs what passed."""

from pathlib import Path

from davar import commands
from davar.public import bundle

ROOT = Path(__file__).parent.parent


def _lines(name: str) -> list[str]:
    return [ln.split("#")[0].strip() for ln in (ROOT / name).read_text("utf-8").splitlines()
            if ln.split("#")[0].strip()]


def test_every_package_the_setup_installs_is_pinned_at_the_version_the_suite_runs_with(read_pins):
    roots = ["davar", *_lines("requirements.txt"), *_lines("requirements-test.txt"), "tox-current-env",
             *commands.requirements()]
    installed = bundle.pinned(roots)  # their versions here, torch's `+cpu` dropped as `make lock` drops it
    pins = read_pins(ROOT / "constraints.txt")
    del installed["davar"]
    assert len(installed) > 100  # torch, tensorflow, jupyter, pytest, ... and their dependencies
    unpinned = sorted(set(installed) - set(pins))
    assert not unpinned, f"not in constraints.txt (`make lock`): {unpinned}"
    moved = {n: (pins[n], v) for n, v in installed.items() if v != pins[n]}
    assert not moved, f"installed at other versions than constraints.txt pins (pinned, installed): {moved}"


def test_a_lock_keeps_the_header_drops_local_labels_and_pins_pip_itself(read_pins):
    text = (ROOT / "constraints.txt").read_text("utf-8")
    assert text.startswith("# ") and "make lock" in text.split("\n\n")[0]
    pins = read_pins(ROOT / "constraints.txt")
    assert pins["torch"] == "2.13.0" and "pip" in pins and "davar" not in pins
    assert not [v for v in pins.values() if "+" in v]
