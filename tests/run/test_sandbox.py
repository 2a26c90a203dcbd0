"""Containment: what a notebook in the strict sandbox can and cannot do (ARCHITECTURE.md §2)."""

from pathlib import Path

import pytest

from davar import assignment
from davar.intake import inbox
from davar.probe.bridge import Sub
from davar.run import execute, sandbox

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"

strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "graders" / "walls").mkdir(parents=True)
    (tmp_path / "graders" / "walls" / "assignment.toml").write_text(
        'id = "walls"\ntitle = { fa = "دیوار", en = "walls" }\nnotebooks = ["notebook.ipynb"]\n'
        "[limits]\nmemory_mb = 512\npids = 64\ncell_timeout_s = 60\ntotal_timeout_s = 120\n")
    public = tmp_path / "data" / "walls" / "public"
    public.mkdir(parents=True)
    (public / "images.txt").write_text("public\n")
    hidden = tmp_path / "data" / "walls" / "hidden"
    hidden.mkdir()
    (hidden / "labels.csv").write_text("file,label\n")
    return assignment.load(tmp_path / "graders" / "walls")


def run(spec, name):
    sub = inbox.collect(NOTEBOOKS / name, spec)[0]
    return execute.run(sub, spec, notebook=spec.notebooks[0], level="strict")


@strict
def test_network_files_and_privileges_are_walled_off(spec, repo):
    with run(spec, "probes_sandbox_walls") as live:
        assert live.execution.status == "ok", live.execution
        sub = Sub(live)
        f = sub.value("findings")
        assert f["uid"] >= sandbox.BASE_UID and f["cap_eff"] == "0000000000000000"
        assert f["internet"] == "OSError" or f["internet"].endswith("Error") and f["internet"] != "allowed"
        assert f["dns"] != "allowed"
        assert f["write_usr"] != "allowed" and f["data_writable"] != "allowed"
        assert "home" not in f["host_root"] and "srv" not in f["host_root"]
        assert f["hostname"] == "sandbox" and f["pids"] < 10  # host processes are invisible
        for secret in (spec.hidden_data() / "labels.csv", repo / "graders" / "iust-dl-1403-hw2" / "test_q5.py",
                       repo / "README.md", Path("/etc/shadow")):
            assert secret.exists()
            assert sub.call("try_read", str(secret)) in ("FileNotFoundError", "PermissionError"), secret
        assert sub.call("try_read", "/data/images.txt") == "read 7"
        blocked = {b["target"] for b in live.sandbox_record().blocked}
    assert str(spec.hidden_data() / "labels.csv") in blocked and "1.1.1.1:53" in blocked


@strict
def test_memory_limit_kills_the_kernel_and_says_so(spec):
    with run(spec, "eats_memory") as live:
        assert live.execution.status == "dead"
        assert live.execution.reason == "memory_limit"
        assert live.bridge is None


@strict
def test_pids_limit_stops_a_thread_bomb(spec):
    with run(spec, "forks_too_much") as live:
        assert live.execution.status == "error"
        assert live.execution.error_name in ("RuntimeError", "BlockingIOError", "OSError")
        assert live.execution.failing_cell == 1


@strict
def test_a_killed_kernel_is_dead_not_completed(spec):
    with run(spec, "kills_kernel") as live:
        assert live.execution.status == "dead" and live.execution.reason == "kernel_died"
        assert live.execution.failing_cell == 1


@strict
def test_output_beyond_the_limit_is_cut(spec, tmp_path):
    import dataclasses

    import nbformat

    small = dataclasses.replace(spec, base_limits=dataclasses.replace(spec.base_limits, output_mb=1))
    with execute.run(inbox.collect(NOTEBOOKS / "floods_output", small)[0], small, notebook=small.notebooks[0], level="strict") as live:
        assert live.execution.status == "ok"
        outputs = nbformat.read(live.output_notebook, as_version=4).cells[-1].outputs
    assert outputs[0].text == "[davar: output truncated]\n"


def test_gpu_slots_see_one_device_each(tmp_path, monkeypatch):
    """Simulated (no GPU here): slots spread over the devices, each binds only its own device node."""
    assert [(s.index, s.gpu) for s in sandbox.gpu_slots(["0", "1"], per_gpu=2)] == [(0, "0"), (1, "0"), (2, "1"), (3, "1")]
    assert sandbox.cpu_slots(1)[0].threads is None and all(s.threads >= 1 for s in sandbox.cpu_slots(2))
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).touch()
    assert sandbox.gpu_device_nodes("1", tmp_path) == [str(tmp_path / n) for n in ("nvidia1", "nvidiactl", "nvidia-uvm")]
    monkeypatch.setattr(sandbox, "gpu_device_nodes", lambda gpu: [f"/dev/nvidia{gpu}", "/dev/nvidiactl"])
    paths = sandbox.Paths(work=tmp_path / "w", ipc=tmp_path / "i", exchange_in=tmp_path / "in", exchange_out=tmp_path / "out")
    basic = sandbox.strategy("basic")
    argv = basic.kernel_command(paths=paths, limits=assignment.Limits(), slot=sandbox.Slot(3, "1"), cgroup=None,
                                env={}, inside=tmp_path)
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--dev-bind"]
    assert binds == ["/dev/nvidia1", "/dev/nvidiactl"]
    assert "--dev-bind" not in basic.kernel_command(paths=paths, limits=assignment.Limits(), slot=sandbox.Slot(3),
                                                    cgroup=None, env={}, inside=tmp_path)


def test_each_level_is_one_strategy(tmp_path):
    """What a level means, without starting a kernel: how the kernel starts, as whom, what it sees."""
    paths = sandbox.Paths(work=tmp_path / "w", ipc=tmp_path / "i", exchange_in=tmp_path / "in",
                          exchange_out=tmp_path / "o")
    limits, slot, env = assignment.Limits(), sandbox.Slot(2), {"HOME": sandbox.WORK}
    none, basic, strict = (sandbox.strategy(level) for level in ("none", "basic", "strict"))
    assert (none.walled, none.network, none.uid(slot)) == (False, True, None)
    assert (basic.walled, basic.network, basic.uid(slot)) == (True, False, None)
    assert (strict.walled, strict.network, strict.uid(slot)) == (True, False, sandbox.BASE_UID + 2)
    assert none.seen(paths.work, sandbox.WORK) == str(paths.work)
    assert basic.seen(paths.work, sandbox.WORK) == strict.seen(paths.work, sandbox.WORK) == sandbox.WORK
    assert none.cgroup("run", limits) is None and basic.cgroup("run", limits) is None

    def argv(box):
        return box.kernel_command(paths=paths, limits=limits, slot=slot, cgroup=None, env=env, inside=tmp_path)

    assert argv(none)[1:] == [str(tmp_path / "kernel_side.py"), "-f", "{connection_file}"]
    assert "--unshare-net" in argv(basic) and "--setenv" in argv(basic) and "setpriv" not in " ".join(argv(basic))
    plain = argv(strict)
    assert plain[:3] == ["/bin/sh", "-c", 'exec "$@"'] and f"--cpu={limits.cpu_s}" in plain
    assert f"--reuid={slot.uid}" in plain and "--unshare-user" not in plain
    assert plain[-3:] == [sandbox.KERNEL_SIDE, "-f", "{connection_file}"]
