"""davar's batch benchmark (issues 5 and 12): one run, the same notebooks, one table, one JSON line.

    python bench/run.py              # the issue's sizes (40 trivial, 500 for memory, ~30 s training)
    python bench/run.py --quick      # smaller counts, a few minutes
    python bench/run.py --help

Rows (README.md says what each one measures): the nbclient floor and the seconds of the student's cells; davar
per submission (sandbox on, 3 graders); Otter-Grader `otter run` and `nbgrader autograde` on the same notebook
and checks, davar and nbgrader again on a class of 12 of them, and both peers on the trivial notebook (each
installed by this script into its own virtualenv under bench/.venvs/); regrade from a snapshot vs the full run
of a notebook that trains ~30 s (by a new `davar grade`, and on a Dask worker kept running between the
commands); trivial submissions with the warm pool and without it, on 1 and 2 workers; the local pool vs a Dask
LocalCluster; an `import torch` notebook against its own floor; the driver's peak RSS over a large batch; the
snapshot store's bytes per student.
The last line on stdout is a JSON object with the headline figures; every goal is issue 12's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import fixtures
import nbclient
import nbformat
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
PEERS = {  # virtualenv -> what pip installs there (pinned: the versions the numbers were taken with)
    "otter": ["otter-grader==7.0.0", "ipykernel", "numpy"],
    "nbgrader": ["nbgrader==0.9.6", "ipykernel", "numpy"],
}
err = Console(stderr=True)

# Issue 12's goals for the JSON keys: the text shown in the table, and the test.
GOALS = {
    "overhead_ratio": ("≤ 0.85× floor", lambda v: v <= 0.85),
    "trivial_ratio": ("≤ 0.6× floor", lambda v: v <= 0.6),
    "torch_ratio": ("≤ 0.5× floor", lambda v: v <= 0.5),
    "vs_nbgrader": ("≥ 1.8×", lambda v: v >= 1.8),
    "vs_otter": ("≥ 2.3×", lambda v: v >= 2.3),
    "vs_nbgrader_trivial": ("≥ 3×", lambda v: v >= 3),
    "vs_otter_trivial": ("≥ 6×", lambda v: v >= 6),
    "speedup_2_workers": ("≥ 1.8×", lambda v: v >= 1.8),
    "regrade_speedup": ("≥ 20×", lambda v: v >= 20),
    "regrade_speedup_cluster": ("≥ 20×", lambda v: v >= 20),  # the same, on a worker kept between commands
    "dask_vs_local": ("≥ 0.9×", lambda v: v >= 0.9),
    "driver_rss_mb": ("flat, ≤ 300 MB", lambda v: v <= 300),
    "snapshot_mb_per_student": ("≤ 10 MB", lambda v: v <= 10),
}


@dataclass
class Row:
    name: str
    n: int
    wall_s: float | None  # the whole measured step
    per_sub_s: float | None = None
    vs_floor: str = ""
    vs_peers: str = ""
    goal: str = ""
    ok: bool | None = None
    note: str = ""


def goal(key: str, value: float | None) -> dict:
    """The goal and met columns of the row that carries `key`."""
    text, test = GOALS[key]
    return {"goal": text, "ok": None if value is None else bool(test(value))}


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - started, value


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ------------------------------------------------------------------------------ peers' virtualenvs

def ensure_venv(name: str) -> Path:
    """bench/.venvs/<name> with PEERS[name] installed (once; reused by later runs)."""
    venv = VENVS / name
    if not (venv / ".installed").exists():
        err.print(f"[bold]installing {' '.join(PEERS[name])} into {venv} (once)[/]")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PEERS[name]], check=True)
        (venv / ".installed").write_text(" ".join(PEERS[name]))
    return venv


def venv_env(venv: Path) -> dict[str, str]:
    """The environment a tool of that virtualenv runs with (its bin first: nbgrader calls `alembic`,
    and the `python3` kernel the peers start is that virtualenv's interpreter)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**env, "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}


# ------------------------------------------------------------------------------ measurements

def nbclient_floor(folder: Path) -> tuple[list[float], list[float]]:
    """Execute each student's notebook with nbclient alone (no sandbox, no graders): seconds each, and the
    seconds its cells ran, the student's own compute that no harness can hide (nbclient's timing of each
    cell: from its input on IOPub to its execute_reply)."""
    times, cells = [], []
    for student in sorted(folder.iterdir()):
        nb = nbformat.read(student / "hw.ipynb", as_version=4)
        t, _ = timed(nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={
            "metadata": {"path": str(student)}}).execute)
        times.append(t)
        cells.append(sum((datetime.fromisoformat(c.metadata.execution["shell.execute_reply"])
                          - datetime.fromisoformat(c.metadata.execution["iopub.execute_input"])).total_seconds()
                         for c in nb.cells if c.cell_type == "code"))
    return times, cells


def davar_grade(assignment: Path, subs: Path, out: Path, level: str, **kwargs):
    """`davar grade` in this process (it is the driver), from an empty output folder unless told."""
    from davar import commands

    if not kwargs.pop("keep", False):
        shutil.rmtree(out, ignore_errors=True)
    return timed(commands.grade, assignment=str(assignment), path=subs, out=out, sandbox_level=level,
                 allow_weak_sandbox=True, **kwargs)


def scores_ok(results, expected: float) -> bool:
    return bool(results) and all(r.status == "graded" and r.score == expected for r in results)


def otter_per_submission(work: Path, subs: Path, venv: Path, *, trivial: bool = False) -> tuple[list[float], bool]:
    """`otter generate` once (setup, not timed), then `otter run` on each submission."""
    root = fixtures.build_otter(work, trivial=trivial)
    points = len(fixtures.TRIVIAL_TESTS if trivial else fixtures.WORK_TESTS)
    env = venv_env(venv)
    otter = str(venv / "bin" / "otter")
    subprocess.run([otter, "generate", "-o", "autograder.zip"], cwd=root, env=env, check=True, capture_output=True)
    times, ok = [], True
    for student in sorted(subs.iterdir()):
        out = root / "results" / student.name
        out.mkdir(parents=True)
        t, _ = timed(subprocess.run, [otter, "run", "--no-logo", "-a", "autograder.zip", "-o", str(out),
                                      str(student / "hw.ipynb")], cwd=root, env=env, check=True, capture_output=True)
        times.append(t)
        tests = json.loads((out / "results.json").read_text())["tests"]
        ok &= sum(t.get("score") or 0 for t in tests) == points
    return times, ok


NBGRADER_SCORES = """\
import json, sys
from nbgrader.api import Gradebook
with Gradebook("sqlite:///gradebook.db") as gb:
    print(json.dumps({s: gb.find_submission("bench", s).score for s in sys.argv[1:]}))
"""


def nbgrader_per_submission(work: Path, subs: Path, venv: Path, epochs: int | None) -> tuple[float, int, bool]:
    """`nbgrader generate_assignment` (setup, not timed) makes the release notebook each student
    starts from; every student's submitted copy is then autograded by one `nbgrader autograde`.
    `epochs` None: the trivial notebook."""
    root = fixtures.build_nbgrader(work, epochs=epochs)
    points = len(fixtures.TRIVIAL_TESTS if epochs is None else fixtures.WORK_TESTS)
    env = venv_env(venv)
    nbgrader = str(venv / "bin" / "nbgrader")
    subprocess.run([nbgrader, "generate_assignment", "bench", "--force"], cwd=root, env=env, check=True,
                   capture_output=True)
    students = sorted(s.name for s in subs.iterdir())
    for s in students:
        (root / "submitted" / s / "bench").mkdir(parents=True)
        shutil.copyfile(root / "release" / "bench" / "hw.ipynb", root / "submitted" / s / "bench" / "hw.ipynb")
    t, _ = timed(subprocess.run, [nbgrader, "autograde", "bench", "--force"], cwd=root, env=env, check=True,
                 capture_output=True)
    found = subprocess.run([str(venv / "bin" / "python"), "-c", NBGRADER_SCORES, *students], cwd=root, env=env,
                           check=True, capture_output=True, text=True)
    scores = json.loads(found.stdout)
    return t, len(students), all(v == points for v in scores.values())


def driver_rss(assignment: Path, subs: Path, out: Path, level: str, workers: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, str(HERE / "rss_driver.py"), str(assignment), str(subs), str(out),
                           "--workers", str(workers), "--level", level], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ the run

def snapshot_mb_per_student(reports: Path, level: str) -> tuple[float, int]:
    """Grade the digits sample corpus (submissions/iust-dl-1403-hw2, stand-in data) and return the snapshot
    store's size over its students with a snapshot (`Store.bytes_per_student`: shared data counted once),
    in MB, and how many students.  `never_ends` is left out: it only waits out its cell limit, and a
    timed-out kernel leaves no snapshot."""
    from davar.grading.snapshot_store import Store

    corpus = HERE.parent / "submissions" / "iust-dl-1403-hw2"
    subs = reports / "digits-subs"
    shutil.rmtree(subs, ignore_errors=True)
    for student in sorted(corpus.iterdir()):
        if student.is_dir() and student.name != "never_ends":
            shutil.copytree(student, subs / student.name)
    _, results = davar_grade(HERE.parent / "graders" / "iust-dl-1403-hw2", subs, reports / "digits", level, workers=1)
    store = Store(reports / "digits" / "iust-dl-1403-hw2" / "snapshots")
    return store.bytes_per_student() / 2**20, len(results)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller counts: 10 trivial, 100 for memory, 10 s training")
    p.add_argument("--work-subs", type=int, default=3, help="submissions of the numpy notebook per tool (3)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of the numpy notebook's tools (3)")
    p.add_argument("--class-subs", type=int, help="numpy submissions graded as one class by davar and nbgrader "
                                                  "(12; 0 skips)")
    p.add_argument("--epochs", type=int, default=300, help="epochs of the numpy notebook (300: ~1.7 s at load 1.5)")
    p.add_argument("--trivial", type=int, help="trivial submissions for 1 vs 2 workers and Dask (40)")
    p.add_argument("--peer-trivial", type=int, default=6, help="trivial submissions for the floor and the peers (6)")
    p.add_argument("--torch-subs", type=int, default=6, help="submissions of the `import torch` notebook (6)")
    p.add_argument("--rss-subs", type=int, help="trivial submissions for the driver's memory (500; 0 skips)")
    p.add_argument("--train-seconds", type=float, help="training time of the regrade notebook (30)")
    p.add_argument("--no-peers", action="store_true", help="skip Otter-Grader and nbgrader")
    p.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster row")
    p.add_argument("--out", type=Path, default=HERE / "out", help="work folder (bench/out)")
    args = p.parse_args()
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    trivial = args.trivial or (10 if args.quick else 40)
    class_subs = args.class_subs if args.class_subs is not None else (6 if args.quick else 12)
    rss_subs = args.rss_subs if args.rss_subs is not None else (100 if args.quick else 500)
    train_seconds = args.train_seconds or (10.0 if args.quick else 30.0)

    from davar.run import sandbox

    level = sandbox.detect().best
    began, load_before = time.perf_counter(), load()
    venvs = {} if args.no_peers else {name: ensure_venv(name) for name in PEERS}
    setup_s = time.perf_counter() - began

    work = args.out / "work"
    sets = fixtures.build(work, work_subs=args.work_subs, class_subs=class_subs, trivial=trivial,
                          peer_trivial=args.peer_trivial, torch_subs=args.torch_subs, rss_subs=rss_subs,
                          epochs=args.epochs, train_seconds=train_seconds)
    graders = work / "graders"
    reports = args.out / "reports"
    rows: list[Row] = []
    figures: dict[str, float | None] = dict.fromkeys(GOALS)

    err.print(f"sandbox {level}; load {load_before}; warming up")
    davar_grade(graders / "bench-trivial", sets["warmup"], reports / "warmup", level, workers=1)

    # 1-2. the floor, davar and the peers on the numpy notebook, in alternating rounds: each key is the median of
    # its rounds' ratios, so that the machine getting faster or slower between two tools' turns does not decide it
    # (n, s) a round; "cells": the seconds the floor's notebooks spent in their cells
    runs: dict[str, list[tuple[int, float]]] = {"floor": [], "cells": [], "davar": [], "otter": [], "nbgrader": []}
    ok = dict.fromkeys(runs, True)
    for r in range(args.rounds):
        err.print(f"numpy notebook, round {r + 1} of {args.rounds}: the floor, davar{', the peers' if venvs else ''}")
        floor, cells = nbclient_floor(sets["work"])
        runs["floor"].append((len(floor), sum(floor)))
        runs["cells"].append((len(cells), sum(cells)))
        t, results = davar_grade(graders / "bench-work", sets["work"], reports / "work", level, workers=1)
        runs["davar"].append((len(results), t))
        ok["davar"] &= scores_ok(results, 3)
        if venvs:
            times, fine = otter_per_submission(work, sets["work"], venvs["otter"])
            runs["otter"].append((len(times), sum(times)))
            ok["otter"] &= fine
            t, n, fine = nbgrader_per_submission(work, sets["work"], venvs["nbgrader"], args.epochs)
            runs["nbgrader"].append((n, t))
            ok["nbgrader"] &= fine

    def per_sub(tool: str) -> list[float]:
        return [t / n for n, t in runs[tool]]

    def ratios(a: str, b: str) -> list[float]:
        return [x / y for x, y in zip(per_sub(a), per_sub(b), strict=True)]

    def spread(values: list[float]) -> str:
        return "rounds " + " / ".join(f"{v:.2f}" for v in values)

    def numpy_row(name: str, tool: str, **kwargs) -> Row:
        return Row(name, sum(n for n, _ in runs[tool]), sum(t for _, t in runs[tool]), statistics.median(per_sub(tool)),
                   f"{statistics.median(ratios(tool, 'floor')):.2f}×", **kwargs)

    figures["overhead_ratio"] = statistics.median(ratios("davar", "floor"))
    # what a ratio would be if davar cost nothing but the student's cells (its one worker runs them one after another)
    figures["overhead_ratio_bound"] = statistics.median(ratios("cells", "floor"))
    cells_s = statistics.median(per_sub("cells"))
    rows.append(numpy_row("nbclient floor (numpy notebook)", "floor",
                          note=f"{args.epochs} epochs of a numpy MLP, no sandbox, no grading; its cells "
                               f"{cells_s:.2f} s"))
    rows.append(numpy_row(f"davar grade, sandbox {level}, 3 graders", "davar",
                          **goal("overhead_ratio", figures["overhead_ratio"]),
                          note=(spread(ratios("davar", "floor")) if ok["davar"] else "WRONG SCORES")
                          + f"; cells alone {figures['overhead_ratio_bound']:.2f}×"))
    for tool, name, key in (("otter", "Otter-Grader `otter run` (no container)", "vs_otter"),
                            ("nbgrader", "nbgrader autograde (one call, all students)", "vs_nbgrader")):
        if runs[tool]:
            figures[key] = statistics.median(ratios(tool, "davar"))
            figures[f"{key}_bound"] = statistics.median(ratios(tool, "cells"))
            rows.append(numpy_row(name, tool, vs_peers=f"davar {figures[key]:.2f}× faster", **goal(key, figures[key]),
                                  note=(spread(ratios(tool, "davar")) if ok[tool] else "WRONG SCORES")
                                  + f"; cells alone {figures[f'{key}_bound']:.2f}×"))

    # 2b. a class: the same notebook, more students in one batch, where the batch's start and end are spread over
    # them (davar's first kernel and worker, nbgrader's start-up); against the rounds' floor and cells ("harness":
    # seconds a submission beyond its cells)
    if class_subs:
        err.print(f"numpy notebook, a class of {class_subs}: davar{', nbgrader' if venvs else ''}")
        floor_s = statistics.median(per_sub("floor"))
        t, results = davar_grade(graders / "bench-work", sets["class"], reports / "class", level, workers=1)
        davar_s = t / len(results)
        figures["overhead_ratio_class"] = davar_s / floor_s
        rows.append(Row(f"davar grade, a class of {len(results)} (numpy notebook)", len(results), t, davar_s,
                        f"{figures['overhead_ratio_class']:.2f}×",
                        note=("" if scores_ok(results, 3) else "WRONG SCORES ") + f"harness {davar_s - cells_s:.2f} s"))
        if venvs:
            t, n, fine = nbgrader_per_submission(work, sets["class"], venvs["nbgrader"], args.epochs)
            figures["vs_nbgrader_class"] = t / n / davar_s
            figures["vs_nbgrader_class_bound"] = t / n / cells_s
            rows.append(Row(f"nbgrader autograde, the same {n} (one call)", n, t, t / n, f"{t / n / floor_s:.2f}×",
                            f"davar {figures['vs_nbgrader_class']:.2f}× faster",
                            note=("" if fine else "WRONG SCORES ") + f"harness {t / n - cells_s:.2f} s; cells alone "
                            f"{figures['vs_nbgrader_class_bound']:.2f}×"))

    # 3. regrade from the snapshot vs the full run (only a grader changes in between): by a new `davar grade`,
    # then on a Dask cluster kept running between the commands (README: "Kernels kept warm between commands")
    def regrade(out: str, threshold: float, key: str, full_name: str, regrade_name: str, **kwargs) -> None:
        err.print(f"{regrade_name}: the full run of a {train_seconds:g} s training notebook, then the regrade")
        full_t, first = davar_grade(graders / "bench-train", sets["train"], reports / out, level, workers=1, **kwargs)
        fixtures.write_train_graders(work, threshold)
        regrade_t, again = davar_grade(graders / "bench-train", sets["train"], reports / out, level, workers=1,
                                       keep=True, **kwargs)
        figures[key] = full_t / regrade_t
        rows.append(Row(full_name, len(first), full_t, full_t / len(first),
                        note="" if scores_ok(first, 2) else "WRONG SCORES"))
        rows.append(Row(regrade_name, len(again), regrade_t, regrade_t / len(again),
                        vs_peers=f"{figures[key]:.1f}× faster than that full run", **goal(key, figures[key]),
                        note=regraded(again, "snapshot_replayed")))
        # a grader asking the kernel something new (predictions on other rows): the snapshot restored in a kernel
        fixtures.write_train_graders(work, threshold, rows=400)
        restored_t, restored = davar_grade(graders / "bench-train", sets["train"], reports / out, level, workers=1,
                                           keep=True, **kwargs)
        figures[f"{key}_restored"] = full_t / restored_t
        rows.append(Row(f"{regrade_name[:-1]}, asking something new)", len(restored), restored_t,
                        restored_t / len(restored), vs_peers=f"{full_t / restored_t:.1f}× faster than that full run",
                        note=regraded(restored, "snapshot_regraded")))
        fixtures.write_train_graders(work, 0.5)

    def regraded(results: list, how: str) -> str:
        """What the row's note says when its results are not all right: scores, or how they were regraded."""
        return (("" if scores_ok(results, 2) else "WRONG SCORES ")
                + ("" if all(any(m.key == how for m in r.messages) for r in results) else f"NOT {how}"))

    regrade("train", 0.6, "regrade_speedup", f"full run, torch training ~{train_seconds:g} s",
            "regrade from snapshot (a grader changed)")
    if not args.no_dask:
        from distributed import LocalCluster

        from davar.run import sandbox

        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            regrade("train-cluster", 0.65, "regrade_speedup_cluster", "full run on a running Dask worker",
                    "regrade there (a grader changed)", cluster=cluster.scheduler_address)
        sandbox.remove_stale()  # what the closed cluster's worker left

    # 4. the trivial notebook: harness cost only; the pool on and off, 1 and 2 workers, Dask
    err.print("trivial floor")
    tfloor, _ = nbclient_floor(sets["peer-trivial"])
    trivial_floor = statistics.mean(tfloor)
    rows.append(Row("nbclient floor (trivial notebook)", len(tfloor), sum(tfloor), trivial_floor, "1.00×",
                    note="`answer = 42`"))
    err.print(f"{trivial} trivial, 1 worker")
    t1, r1 = davar_grade(graders / "bench-trivial", sets["trivial"], reports / "trivial-1", level, workers=1)
    err.print(f"{trivial} trivial, 1 worker, cold")
    tc, rc = davar_grade(graders / "bench-trivial", sets["trivial"], reports / "trivial-cold", level, workers=1,
                         warm=False)
    err.print(f"{trivial} trivial, 2 workers")
    t2, r2 = davar_grade(graders / "bench-trivial", sets["trivial"], reports / "trivial-2", level, workers=2)
    err.print(f"{trivial} trivial, 2 workers, cold")
    t2c, r2c = davar_grade(graders / "bench-trivial", sets["trivial"], reports / "trivial-2-cold", level, workers=2,
                           warm=False)
    trivial_s = t1 / len(r1)
    figures["trivial_ratio"] = trivial_s / trivial_floor
    figures["speedup_2_workers"] = t1 / t2
    # without the pool: how two workers scale where one worker leaves the second core idle (README, item 16)
    figures["speedup_2_workers_cold"] = tc / t2c
    rows.append(Row("davar, trivial, 1 worker", len(r1), t1, trivial_s, f"{figures['trivial_ratio']:.2f}×",
                    **goal("trivial_ratio", figures["trivial_ratio"]), note="" if scores_ok(r1, 1) else "WRONG SCORES"))
    rows.append(Row("davar, trivial, 1 worker, cold (warm=False)", len(rc), tc, tc / len(rc),
                    f"{tc / len(rc) / trivial_floor:.2f}×", f"the pool: {tc / t1:.2f}× faster",
                    note="" if scores_ok(rc, 1) else "WRONG SCORES"))
    rows.append(Row("davar, trivial, 2 workers (local pool)", len(r2), t2, t2 / len(r2),
                    f"{t2 / len(r2) / trivial_floor:.2f}×", f"{figures['speedup_2_workers']:.2f}× the throughput of 1",
                    **goal("speedup_2_workers", figures["speedup_2_workers"]),
                    note="" if scores_ok(r2, 1) else "WRONG SCORES"))
    rows.append(Row("davar, trivial, 2 workers, cold (warm=False)", len(r2c), t2c, t2c / len(r2c),
                    f"{t2c / len(r2c) / trivial_floor:.2f}×",
                    f"{figures['speedup_2_workers_cold']:.2f}× the throughput of 1 cold",
                    note="" if scores_ok(r2c, 1) else "WRONG SCORES"))
    if not args.no_dask:
        err.print(f"{trivial} trivial, Dask LocalCluster of 2")
        td, rd = davar_grade(graders / "bench-trivial", sets["trivial"], reports / "trivial-dask", level, workers=2,
                             cluster="local")
        figures["dask_vs_local"] = t2 / td
        rows.append(Row("davar, trivial, Dask LocalCluster (2 workers)", len(rd), td, td / len(rd),
                        f"{td / len(rd) / trivial_floor:.2f}×",
                        f"{figures['dask_vs_local']:.2f}× the local pool's throughput",
                        **goal("dask_vs_local", figures["dask_vs_local"]),
                        note="" if scores_ok(rd, 1) else "WRONG SCORES"))
    if venvs:
        err.print("otter run, trivial")
        times, ok = otter_per_submission(work, sets["peer-trivial"], venvs["otter"], trivial=True)
        figures["vs_otter_trivial"] = statistics.mean(times) / trivial_s
        rows.append(Row("Otter-Grader `otter run`, trivial", len(times), sum(times), statistics.mean(times),
                        f"{statistics.mean(times) / trivial_floor:.2f}×",
                        f"davar (1 worker) {figures['vs_otter_trivial']:.2f}× faster",
                        **goal("vs_otter_trivial", figures["vs_otter_trivial"]), note="" if ok else "WRONG SCORES"))
        err.print("nbgrader autograde, trivial")
        t, n, ok = nbgrader_per_submission(work, sets["peer-trivial"], venvs["nbgrader"], None)
        figures["vs_nbgrader_trivial"] = t / n / trivial_s
        rows.append(Row("nbgrader autograde, trivial (one call)", n, t, t / n, f"{t / n / trivial_floor:.2f}×",
                        f"davar (1 worker) {figures['vs_nbgrader_trivial']:.2f}× faster",
                        **goal("vs_nbgrader_trivial", figures["vs_nbgrader_trivial"]),
                        note="" if ok else "WRONG SCORES"))

    # 5. an `import torch` notebook: the framework a warm kernel has imported already, against its own floor
    err.print("torch floor")
    cfloor, _ = nbclient_floor(sets["torch"])
    torch_floor = statistics.mean(cfloor)
    rows.append(Row("nbclient floor (torch notebook)", len(cfloor), sum(cfloor), torch_floor, "1.00×",
                    note="`import torch`, a tensor op, `answer = 42`"))
    err.print(f"{args.torch_subs} torch, 1 worker")
    tt, rt = davar_grade(graders / "bench-torch", sets["torch"], reports / "torch", level, workers=1)
    figures["torch_ratio"] = tt / len(rt) / torch_floor
    rows.append(Row("davar, torch notebook, 1 worker", len(rt), tt, tt / len(rt), f"{figures['torch_ratio']:.2f}×",
                    **goal("torch_ratio", figures["torch_ratio"]), note="" if scores_ok(rt, 1) else "WRONG SCORES"))

    # 6. the driver's memory over a large batch
    if rss_subs:
        err.print(f"{rss_subs} trivial, driver memory (2 workers)")
        rss = driver_rss(graders / "bench-trivial", sets["rss"], reports / "rss", level, workers=2)
        figures["driver_rss_mb"] = rss["peak_mb"]
        flat = rss["rss_at_100pct_mb"] - rss["rss_at_25pct_mb"] <= 20
        per_sub = rss["wall_s"] / max(rss["count"], 1)
        rows.append(Row("driver peak RSS, trivial batch, 2 workers", rss["count"], rss["wall_s"], per_sub,
                        f"{per_sub / trivial_floor:.2f}×",
                        f"peak {rss['peak_mb']:.0f} MB; after 25/50/75/100 % of results "
                        + "/".join(f"{rss[f'rss_at_{q}pct_mb']:.0f}" for q in (25, 50, 75, 100)) + " MB",
                        GOALS["driver_rss_mb"][0], rss["peak_mb"] <= 300 and flat,
                        "" if rss["graded"] == rss["count"] == rss_subs else f"only {rss['graded']} graded"))

    # 7. the snapshot store's size per student (what a regrade keeps), digits sample corpus
    err.print("digits sample corpus: snapshot bytes per student")
    mb, n = snapshot_mb_per_student(reports, level)
    figures["snapshot_mb_per_student"] = mb
    rows.append(Row("snapshot store per student, digits sample corpus", n, None, None, vs_peers=f"{mb:.1f} MB",
                    **goal("snapshot_mb_per_student", mb), note="store bytes ÷ students with a snapshot"))

    total = time.perf_counter() - began
    table = Table(title=f"davar batch benchmark · sandbox {level} · {os.cpu_count()} cores · load before "
                        f"{load_before}, after {load()} · {total - setup_s:.0f} s (+ {setup_s:.0f} s setup)")
    for column in ("measure", "n", "total s", "s / submission", "× floor", "vs peers / goal", "goal", "met", "note"):
        table.add_column(column, justify="right" if column in ("n", "total s", "s / submission", "× floor") else "left")
    for r in rows:
        table.add_row(r.name, str(r.n), "" if r.wall_s is None else f"{r.wall_s:.1f}",
                      "" if r.per_sub_s is None else f"{r.per_sub_s:.2f}", r.vs_floor, r.vs_peers, r.goal,
                      {True: "yes", False: "NO", None: ""}[r.ok], r.note)
    Console(width=200).print(table)
    print(json.dumps({k: None if v is None else round(v, 3) for k, v in figures.items()}
                     | {"wall_s": round(total, 1), "load": load()}))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
