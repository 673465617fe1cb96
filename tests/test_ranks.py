"""Multi-process jobs write one run: rank detection, the no-op experiment, and real `torchrun` jobs."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

from skill.errors import InvalidInput
from skill.tracking.experiment import Experiment
from skill.tracking.ranks import InactiveExperiment, detect_rank, resolve_ranks
from skill.tracking.track import track_experiment

from tests.fixtures import REPO

_RANK_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "NODE_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "PMI_RANK",
              "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS",
              "SLURM_JOB_ID", "TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT", "SPECWEAVE_RANKS",
              "SPECWEAVE_JOB_ID")


@pytest.fixture(autouse=True)
def _no_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in _RANK_VARS:
        monkeypatch.delenv(var, raising=False)


def _runs(project: Path) -> list[Path]:
    return sorted(project.glob(".specweave/increments/*/experiments/exp-*"))


@pytest.mark.parametrize(("env", "expected"), [
    ({}, (0, 1)),
    ({"RANK": "1", "WORLD_SIZE": "2"}, (1, 2)),
    ({"SLURM_PROCID": "3", "SLURM_NTASKS": "4"}, (3, 4)),
    ({"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "8"}, (2, 8)),
    ({"LOCAL_RANK": "1", "NODE_RANK": "1", "LOCAL_WORLD_SIZE": "2", "WORLD_SIZE": "4"}, (3, 4)),
    ({"RANK": "0", "WORLD_SIZE": "2", "SLURM_PROCID": "1"}, (0, 2)),  # the launcher's own variable first
])
def test_rank_from_the_launchers_variables(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                           expected: tuple[int, int]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    info = detect_rank()
    assert (info.rank, info.world_size) == expected


def test_ranks_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_ranks(None) == "zero"
    monkeypatch.setenv("SPECWEAVE_RANKS", "all")
    assert resolve_ranks(None) == "all"
    assert resolve_ranks("each") == "each"
    with pytest.raises(InvalidInput, match='"all"'):
        resolve_ranks("every")


def test_ranks_each_gives_every_process_its_own_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_PROCID", "2")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    with track_experiment("worker", ranks="each") as exp:
        exp.log_metric("loss", 1.0)
    assert type(exp) is Experiment and full_log_bytes(exp.path).decode().count("loss") == 1


def test_a_nonzero_rank_writes_nothing_and_says_so_once(project: Path, run_py) -> None:
    code = ("from specweave import track_experiment\n"
            "for i in range(2):\n"
            "    with track_experiment('r') as exp:\n"
            "        exp.log_params({'lr': 0.1}); exp.log_metric('loss', 1.0); exp.log_metrics({'a': 1}, step=3)\n"
            "        exp.save_model({'w': 1}); exp.log_note('x'); exp.set_status('failed')\n"
            "print(type(exp).__name__, exp.id, exp.status)\n")
    done = run_py(code, project, env={"RANK": "1", "WORLD_SIZE": "2", "SPECWEAVE_QUIET": ""})
    assert done.stdout.split() == ["InactiveExperiment", "None", "completed"]
    assert done.stderr.count("rank 1 of 2 does not write") == 1
    assert not (project / ".specweave").exists()
    quiet = run_py(code, project, env={"RANK": "1", "WORLD_SIZE": "2"})
    assert quiet.stderr == ""


def test_rank_zero_records_the_job_size(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with track_experiment("r0") as exp:
        exp.log_metric("loss", 1.0)
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    assert meta["distributed"] == {"ranks": "zero", "world_size": 2, "rank_source": "RANK"}


def test_the_noop_experiment_overrides_every_public_method() -> None:
    """A method added to Experiment later must get its no-op too, or a non-zero rank would crash on it."""
    public = {n for n, v in inspect.getmembers(Experiment) if not n.startswith("_") and (callable(v) or
                                                                                       isinstance(v, property))}
    missing = {n for n in public if n not in InactiveExperiment.__dict__ and n not in ("rank", "world_size")}
    assert missing == set()
    exp = InactiveExperiment("x", 1, 2)
    for name in public:
        member = getattr(exp, name)
        if callable(member):
            params = [p for p in inspect.signature(member).parameters.values()
                      if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            member(*(["completed"] * len(params)))


# -- real torchrun jobs (gloo, CPU) --------------------------------------------------------------------
_TRAIN = '''
import os, signal, sys, time
import torch, torch.distributed as dist
from specweave import track_experiment
dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for mode in sys.argv[1:]:  # one job, one run per mode: "zero" (the default), "all", "kill"
    with track_experiment(mode, ranks=None if mode == "zero" else "all",
                          system_metrics=None if mode == "zero" else 0.2) as exp:
        exp.log_params({"lr": 0.1, "world": dist.get_world_size()})
        for step in range(5):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
            exp.log_metric("loss", loss.item(), step=step)
            if mode == "kill" and rank == 1 and step == 2:
                time.sleep(1.0)
                os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.6)
dist.destroy_process_group()
'''


needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")


def _torchrun(project: Path, tmp_path: Path, *modes: str) -> subprocess.CompletedProcess:
    (project / "ddp_train.py").write_text(_TRAIN)
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun is not None, "torch's torchrun is not installed in this environment"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home"),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "--monitor-interval", "0.5",
                           "ddp_train.py", *modes], cwd=project, env=env, capture_output=True, text=True, timeout=240)


def _points(run: Path) -> list[dict]:
    return [json.loads(line) for line in full_log_bytes(run).decode().splitlines() if line]


def _run_named(project: Path, name: str) -> Path:
    found = [run for run in _runs(project) if yaml.safe_load((run / "metadata.yaml").read_text())["name"] == name]
    assert len(found) == 1, f"{len(found)} runs named {name!r}"
    return found[0]


@pytest.mark.slow
@needs_torch
def test_torchrun_one_run_by_default_and_one_shared_run_with_ranks_all(project: Path, tmp_path: Path) -> None:
    done = _torchrun(project, tmp_path, "zero", "all")
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(_runs(project)) == 2  # one per track_experiment call, not one per rank

    default = _run_named(project, "zero")
    assert json.loads((default / "params.json").read_text()) == {"lr": 0.1, "world": 2}
    assert [p["step"] for p in _points(default) if p["key"] == "loss"] == [0, 1, 2, 3, 4]
    meta = yaml.safe_load((default / "metadata.yaml").read_text())
    assert meta["status"] == "completed" and meta["distributed"]["world_size"] == 2

    shared = _run_named(project, "all")
    points = _points(shared)
    assert [p["step"] for p in points if p["key"] == "loss"] == [0, 1, 2, 3, 4]  # rank 0's alone
    ranks = {p["key"].split("/")[2] for p in points if p["key"].startswith("system/")}
    assert ranks == {"rank0", "rank1"}
    assert any(p["key"].endswith("rank1/cpu_percent") for p in points)
    meta = yaml.safe_load((shared / "metadata.yaml").read_text())
    assert meta["status"] == "completed"
    assert meta["distributed"]["rank_states"] == {"1": "completed"}
    summary = json.loads((shared / "metrics.json").read_text())
    assert any(k.startswith("system/") and "/rank1/" in k for k in summary)


@pytest.mark.slow
@needs_torch
def test_torchrun_a_rank_killed_mid_training_is_recorded(project: Path, tmp_path: Path) -> None:
    done = _torchrun(project, tmp_path, "kill")
    assert done.returncode != 0
    runs = _runs(project)
    assert len(runs) == 1
    meta = yaml.safe_load((runs[0] / "metadata.yaml").read_text())
    assert meta["status"] in ("failed", "killed")
    notes = "\n".join(n["text"] for n in meta["notes"])
    assert "rank 1" in notes and "died" in notes
    assert meta["distributed"]["rank_states"] == {"1": "died"}


# -- a rank that ends after rank 0 (real processes; the job id stands in for a launcher's) ----------------
_LATE = '''
import os, signal, sys, time
from pathlib import Path
import yaml
from specweave import track_experiment
cue = Path(sys.argv[2])
with track_experiment("late", ranks="all", system_metrics=0.2) as exp:
    if os.environ["RANK"] == "0":
        exp.log_params({"lr": 0.1}); exp.log_metric("loss", 1.0, step=0)
        while not cue.exists():  # rank 1 has joined and sampled: end while it is still running
            time.sleep(0.05)
    else:
        time.sleep(0.5)
        cue.write_text("joined")
        while "ended" not in yaml.safe_load((exp.path / "metadata.yaml").read_text()):
            time.sleep(0.05)  # rank 0 waited its few seconds for this rank, then ended and settled the run
        print("seen-end", time.time(), flush=True)
        time.sleep(0.7)  # samples every 0.2 s, after the settle
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        print("ending", time.time(), flush=True)
'''


@pytest.mark.slow
@pytest.mark.parametrize("how", ["end", "kill"])
def test_a_rank_ending_after_rank_zero_keeps_its_points(project: Path, tmp_path: Path, how: str) -> None:
    """Rank 0 ends and settles the log while rank 1 still samples: rank 1's later points end up in the
    stored log and its summary (settled by rank 1's own end, or, killed, by the next read); no live log."""
    from skill.storage.run_records import load_experiment
    from skill.storage.run_summary import open_settled_log, read_summary

    (project / "late.py").write_text(_LATE)
    cue = tmp_path / "joined"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home"),
           "WORLD_SIZE": "2", "SPECWEAVE_JOB_ID": f"late-{how}"}
    procs = [subprocess.Popen([sys.executable, "late.py", how, str(cue)], cwd=project, env={**env, "RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    (_out0, err0), (out1, err1) = (p.communicate(timeout=120) for p in procs)
    assert procs[0].returncode == 0, err0
    assert procs[1].returncode == (-9 if how == "kill" else 0), err1
    said = dict(line.split() for line in out1.splitlines())
    (run,) = _runs(project)
    if how == "kill":  # rank 1's points after rank 0's settle wait in a live log for the next read
        assert (run / "metrics.jsonl").exists()
        record = load_experiment(run, run.parent.parent.name, project)
        assert record.status == "failed"  # rank 1's process is gone: the read records it, as rank 0 would have
        assert [n.text for n in record.meta.notes if "died" in n.text] == [
            f"rank 1 on {record.meta.host} (pid {procs[1].pid}) died without ending its run (killed, or its host lost)"]
    assert not (run / "metrics.jsonl").exists()
    with open_settled_log(run, []) as handle:
        points = [json.loads(line) for line in handle.read().decode().splitlines()]
    rank1 = [p for p in points if "/rank1/" in p["key"]]
    late = [p for p in rank1 if p["ts"] > float(said["seen-end"])]
    assert len(late) >= 2, f"{len(late)} of rank 1's points after rank 0's end were kept"
    if how == "end":  # its last sample, taken as it ended, is stored too
        assert max(p["ts"] for p in rank1) >= float(said["ending"]) - 0.001  # the log keeps milliseconds
    summary = read_summary(run)
    key = next(p["key"] for p in rank1 if p["key"].endswith("/cpu_percent"))
    assert summary.metrics[key].count == sum(p["key"] == key for p in points)
    assert [p["key"] for p in points].count("loss") == 1
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    assert meta["status"] == ("failed" if how == "kill" else "completed")
    assert meta["distributed"]["rank_states"] == {"1": "died" if how == "kill" else "completed"}
    if how == "end":
        last = [p for p in points if p["key"] == key][-1]["value"]
        assert json.loads((run / "metrics.json").read_text())[key] == last


def test_a_read_records_only_a_numbered_rank_of_this_host_whose_process_is_gone() -> None:
    """What a read may write for a rank still `running` after the run ended: only a rank numbered as ranks
    are, on this host, with a pid that is gone; a clone's other keys and hosts are left as they are."""
    from datetime import datetime, timezone

    from skill.schemas.records import ExperimentMeta
    from skill.storage.dead_ranks import record_lost_ranks
    from skill.storage.liveness import this_host

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    pid = int(gone.stdout)
    here = this_host()

    def meta(states: dict, hosts: dict, pids: dict) -> ExperimentMeta:
        return ExperimentMeta(id="exp-001-x", uid="abcdef", name="x", increment="0001-x", status="completed",
                              started=datetime.now(timezone.utc),
                              distributed={"rank_states": states, "hosts": hosts, "pids": pids})

    odd = meta({"1\x1b[31m": "running", "2": "running", "3": "running"},
               {"1\x1b[31m": here, "2": "another-host", "3": here}, {"1\x1b[31m": pid, "2": pid, "3": os.getpid()})
    assert record_lost_ranks(odd) is False  # an odd key, another host, a live pid: nothing to record
    lost = meta({"1": "running"}, {"1": here}, {"1": pid})
    assert record_lost_ranks(lost) is True
    assert lost.status == "failed" and lost.model_extra["distributed"]["rank_states"] == {"1": "died"}
    assert lost.notes[-1].text.startswith(f"rank 1 on {here} (pid {pid}) died")
