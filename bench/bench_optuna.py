"""Optuna: what SpecweaveCallback adds to a study's wall time, side by side in one run (issue 21).

    python bench/bench_optuna.py            # 200 trials on two workers, 3 interleaved rounds
    python bench/bench_optuna.py --quick    # 40 trials, 1 round, for a smoke run
    python bench/bench_optuna.py --profile  # one tracked worker under cProfile (CPU time; runs written in
                                            # the callback, as cProfile sees one thread), the top entries

Two worker processes share one sqlite storage (as `optuna` workers on one machine do), each running half
the trials of one study with the default sampler (TPE, seeded) on a cheap objective: a few ms of numpy work
(`--work-ms`), BLAS on one thread. Setups, each on a fresh study and a fresh project (a git repository with
one commit, as a real project is):

- `none`: `study.optimize(objective)`, no tracking;
- `callback`: `callbacks=[SpecweaveCallback()]`, one run per trial written after it ends;
- `decorator`: the objective wrapped by `cb.track_in_specweave()` and logging its loss at 5 steps into the
  trial's own run, `callbacks=[cb]`;
- `... + finish`: the same plus `cb.finish(study)` in one worker (parameter importance, the parent closed;
  Optuna's importance module imports scikit-learn, about a second once per process); `(no importance)`:
  `cb.finish(study, importance=False)`, the parent closed without it.

The study's wall time is from the first worker's `optimize` call until the last worker's trials are all
written: `optimize` returned and, tracked, `cb.flush()` found the writer thread's queue empty (a process
cannot exit before that; the runs still queued when the loop returns are part of tracking's cost). The
loop's return alone is printed beside it. Processes are started and optuna imported before the clock
starts: the workers wait at a barrier file. Target: tracking
adds <= 5% to it. Rounds are interleaved so a busy minute on a shared machine hits every setup alike; the
best of the rounds is shown, beside the CPU seconds of both workers (every thread: the callback's writer,
the flusher and the capture threads too), which a shared machine's load disturbs less than the wall time.

What a trial's run costs: its files. A trial's run written by the callback (after the trial) creates 6
files and folders: the id's claim, the folder, metadata.yaml once (written at its end: the run is recorded
in one go, `write_at_end`), params.json, metrics.json and the summary (the `optuna:` field goes with the
metadata write, a trial's few points straight into the summary, with no live log and no object); a trial's
run opened by the decorator writes metadata.yaml when it starts too. Creating a file costs 20 to 800 us on
this VM's disk depending on the folder it lands in, and the same study has measured +26% and +15% an hour
apart. The rest is the core's Python (about 1.2 ms a run in a quiet process; about twice that, in CPU time,
with both of this VM's two cores busy) and, for trials that may be the best, the parent's lock and the engine's
best-trial query (skipped for the trials a known one beats). The objective's own work (the "objective's
work" column) is the same with and without tracking.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SPECWEAVE_QUIET", "1")

from bench._common import REPO, clean, git, scratch

SCRIPT = Path(__file__).resolve()
SETUPS = ("none", "callback", "decorator", "decorator+finish", "decorator+finish(no importance)")


def worker(storage: str, setup: str, n_trials: int, work_ms: float, go: Path, finish: bool, profile: bool,
           importance: bool = True) -> None:
    """One worker process: wait for `go`, optimize, print start/end times (and the profile) as JSON."""
    import numpy as np
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    from specweave.optuna import SpecweaveCallback

    rng = np.random.default_rng(os.getpid())
    size = 96
    matrix = rng.standard_normal((size, size))
    per_matmul = _calibrate(matrix)
    repeats = max(1, round(work_ms / 1000 / per_matmul))

    spent = [0.0]  # CPU seconds inside the objective's own work: what contention does to the user's code

    def work(x: float, y: float) -> float:
        started = time.thread_time()
        m = matrix
        for _ in range(repeats):
            m = np.tanh(m @ matrix * 0.01)
        spent[0] += time.thread_time() - started
        return float((x - 1) ** 2 + (y + 2) ** 2 + abs(m).mean() * 1e-6)

    callbacks = []
    if setup == "none":
        def objective(trial: optuna.Trial) -> float:
            return work(trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5))
    elif setup == "callback":
        callbacks = [SpecweaveCallback("bench", background=not profile)]

        def objective(trial: optuna.Trial) -> float:
            return work(trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5))
    else:
        cb = SpecweaveCallback("bench", background=not profile)
        callbacks = [cb]

        @cb.track_in_specweave()
        def objective(trial: optuna.Trial) -> float:
            x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
            loss = work(x, y)
            for step in range(5):
                cb.experiment.log_metric("loss", loss * (5 - step), step=step)
            return loss

    study = optuna.load_study(study_name="bench", storage=storage)
    while not go.exists():
        time.sleep(0.005)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU: waits for the database left out
        profiler.enable()
    start, cpu = time.time(), time.process_time()  # CPU: every thread of the process (flusher, capture too)
    study.optimize(objective, n_trials=n_trials, callbacks=callbacks)
    optimized = time.time()
    if callbacks:  # the runs still queued on the writer thread: the process cannot end before they are written
        callbacks[0].flush()
    written, cpu_written = time.time(), time.process_time()
    if finish and callbacks:
        callbacks[0].finish(study, importance=importance)
    end, cpu_end = time.time(), time.process_time()
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(30)
        stats.print_callees("optuna_cb.py.*(__call__|_record)|trial_runs.py.*(objective|mark)")
        stats.print_callees("sweeps.py.*(mark_best|mark_set|child)|optuna_cb.py.*_best|trial_runs.py.*_best")
        print(out.getvalue(), file=sys.stderr)
    print(json.dumps({"start": start, "optimized": optimized, "written": written, "end": end, "repeats": repeats,
                      "cpu_written": cpu_written - cpu, "cpu_end": cpu_end - cpu, "work": spent[0]}))


def _calibrate(matrix) -> float:
    import numpy as np

    best = float("inf")
    for _ in range(50):
        t = time.perf_counter()
        np.tanh(matrix @ matrix * 0.01)
        best = min(best, time.perf_counter() - t)
    return best


def study_wall(setup: str, n_trials: int, work_ms: float, profile: bool = False) -> dict[str, float]:
    """Wall and CPU seconds (both workers' CPU added) of one study run by two worker processes: up to the
    point where every trial's run is written (`optimize` returned and the writer thread's queue is empty:
    what a process waits for before it can exit), up to the end of `finish`, and (`loop`) up to `optimize`'s
    return alone."""
    import optuna

    folder = scratch(f"optuna-{setup.replace('+', '-')}")
    try:
        project = folder / "project"
        project.mkdir()
        git(project, "init", "-q")
        (project / "train.py").write_text("# the training script\n")
        git(project, "add", "train.py")
        git(project, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "init")
        storage = f"sqlite:///{folder / 'study.db'}"
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        optuna.create_study(study_name="bench", storage=storage, sampler=optuna.samplers.TPESampler(seed=0))
        go = folder / "go"
        env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        base = ["--worker", storage, "--setup", setup.split("+")[0], "--work-ms", str(work_ms), "--go", str(go)]
        workers = []
        for index in range(2):
            argv = [sys.executable, str(SCRIPT), *base, "--trials", str(n_trials // 2 + (index < n_trials % 2))]
            if index == 0 and "+finish" in setup:
                argv.append("--finish")
                if "no importance" in setup:
                    argv.append("--no-importance")
            if index == 0 and profile:
                argv.append("--profile")
            workers.append(subprocess.Popen(argv, cwd=project, env=env, stdout=subprocess.PIPE, text=True))
        time.sleep(3.0)  # both imported optuna, numpy and specweave and wait at the barrier
        go.touch()
        times = []
        for proc in workers:
            out, _ = proc.communicate(timeout=1200)
            if proc.returncode != 0:
                raise SystemExit(f"worker failed ({setup})")
            times.append(json.loads(out.strip().splitlines()[-1]))
        start = min(t["start"] for t in times)
        return {"wall": max(t["written"] for t in times) - start, "wall_end": max(t["end"] for t in times) - start,
                "loop": max(t["optimized"] for t in times) - start,
                "cpu": sum(t["cpu_written"] for t in times), "cpu_end": sum(t["cpu_end"] for t in times),
                "work": sum(t["work"] for t in times)}
    finally:
        clean(folder)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--work-ms", type=float, default=5.0)
    parser.add_argument("--worker")
    parser.add_argument("--setup", choices=["none", "callback", "decorator"])
    parser.add_argument("--go")
    parser.add_argument("--finish", action="store_true")
    parser.add_argument("--no-importance", action="store_true")
    options = parser.parse_args()
    if options.worker:
        worker(options.worker, options.setup, options.trials, options.work_ms, Path(options.go), options.finish,
               options.profile, importance=not options.no_importance)
        return
    trials = options.trials or (40 if options.quick else 200)
    if options.profile:
        study_wall(options.setup or "decorator", trials, options.work_ms, profile=True)
        return
    rounds = options.rounds or (1 if options.quick else 3)
    print(f"Optuna: {trials} trials on two worker processes sharing one sqlite storage, TPE, "
          f"~{options.work_ms:g} ms of numpy per trial (best of {rounds}, interleaved):", flush=True)
    got: dict[str, list[dict[str, float]]] = {setup: [] for setup in SETUPS}
    for index in range(rounds):
        for setup in SETUPS:
            got[setup].append(study_wall(setup, trials, options.work_ms))
            shown = got[setup][-1]
            print(f"    round {index + 1} {setup:<34} wall {shown['wall']:7.2f} s (loop alone {shown['loop']:7.2f}, "
                  f"with finish {shown['wall_end']:7.2f})"
                  f"  cpu {shown['cpu']:7.2f} s (with finish {shown['cpu_end']:7.2f}, objective's work "
                  f"{shown['work']:6.2f})", flush=True)
    best = {setup: {key: min(r[key] for r in runs) for key in runs[0]} for setup, runs in got.items()}
    print(f"  best of {rounds}:{'':<23} wall              cpu (both workers)")
    for setup in SETUPS:
        key = "_end" if "+finish" in setup else ""
        wall, cpu = best[setup]["wall" + key], best[setup]["cpu" + key]
        print(f"  {setup:<34} {wall:8.2f} s {100 * (wall / best['none']['wall'] - 1):+6.1f}%   "
              f"{cpu:8.2f} s {100 * (cpu / best['none']['cpu'] - 1):+6.1f}%   ({trials / wall:5.1f} trials/s)",
              flush=True)
    # Each round's setups ran minutes apart at most: a ratio to the same round's `none` leaves out the
    # machine's slower and faster spells, which best-of-rounds can pair across.
    print("  paired with the same round's none (median, and the range over rounds):")
    for setup in SETUPS[1:]:
        key = "_end" if "+finish" in setup else ""
        ratios = sorted(100 * (r["wall" + key] / n["wall"] - 1) for r, n in zip(got[setup], got["none"]))
        print(f"  {setup:<34} wall {statistics.median(ratios):+6.1f}%  ({ratios[0]:+.1f}% to {ratios[-1]:+.1f}%)")
    print("  target: tracking adds <= 5% to the study's wall time")


if __name__ == "__main__":
    main()
