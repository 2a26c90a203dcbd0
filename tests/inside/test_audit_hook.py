"""The audit hook without walls (`none`): which file accesses it refuses as the grading's sandbox would not have
them.  Only the rules, in this process: `start` adds a hook no one can remove, which the kernel side does and
tests/test_cli.py runs."""

import ast

import pytest

from davar.inside import audit

CELLS = '''
import glob, os
rows = open("/home/ali/data/train.csv").read()
images = glob.glob("/home/ali/imgs/*.png")
runs = f"/srv/runs/{os.getpid()}/log.txt"
here, everything, mine, parent = os.listdir("/"), "/", "/tmp/mine.csv", "/run"
'''


@pytest.fixture
def cells_named(monkeypatch):
    """The rules after the cells above ran in a kernel whose grading's sandbox shows /usr, /tmp and /run/davar."""
    monkeypatch.setattr(audit, "_named", [])
    monkeypatch.setattr(audit, "_shown", ("/usr", "/tmp", "/run/davar"))
    tree = ast.parse(CELLS)
    assert ast.dump(audit.Named().visit(tree)) == ast.dump(ast.parse(CELLS))  # notes, changes nothing
    return audit._named


def test_the_paths_the_cells_name_are_noted_up_to_a_wildcard(cells_named):
    assert cells_named == ["/home/ali/data/train.csv", "/home/ali/imgs", "/srv/runs", "/tmp/mine.csv", "/run"]


@pytest.mark.parametrize("path", ["/home/ali/data/train.csv", "/home/ali/imgs", "/home/ali/imgs/cat.png",
                                  "/srv/runs/812/log.txt", "/run/user/0"])
def test_a_path_the_cells_name_outside_what_the_sandbox_shows_is_refused(cells_named, path):
    assert audit._refused(path)


@pytest.mark.parametrize("path", [
    "/home/ali/notes.txt",  # not named
    "/etc/mime.types",  # a library's own file
    "/tmp/mine.csv",  # /tmp: the sandbox has one
    "/usr/share/zoneinfo/UTC",
    "/",  # named, and there in the sandbox too
    "/run", "/run/davar/run-1/work/x.csv",  # above and under what the sandbox shows
])
def test_what_the_cells_do_not_name_or_the_sandbox_has_is_left_alone(cells_named, path):
    assert not audit._refused(path)


def test_walled_off_nothing_is_refused(cells_named, monkeypatch):
    monkeypatch.setattr(audit, "_shown", ())
    assert not audit._refused("/home/ali/data/train.csv")
