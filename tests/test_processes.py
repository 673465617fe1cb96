"""Real processes: concurrent writers, clones merged through git, and runs killed mid-flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from tests.fixtures import REPO, git, init_repo
from skill.storage.run_summary import full_log_bytes

WORKER = """
import os, sys, time
from pathlib import Path
from specweave import track_experiment
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
for i in range(25):
    with track_experiment(f"worker-{sys.argv[2]}-{i}", increment="0042") as exp:
        exp.log_param("worker", int(sys.argv[2]))
        exp.log_metric("i", i)
"""


def all_files_parse(folder: Path) -> None:
    json.loads((folder / "params.json").read_text())
    json.loads((folder / "metrics.json").read_text())
    for line in full_log_bytes(folder).decode().splitlines():
        json.loads(line)
    assert isinstance(yaml.safe_load((folder / "metadata.yaml").read_text()), dict)


def test_eight_processes_allocate_distinct_ids(project: Path) -> None:
    go = project / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(go), str(w)], cwd=project, env=env,
                              stderr=subprocess.PIPE) for w in range(8)]
    time.sleep(1.0)  # let every interpreter start, then release them together
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()
    records = list_experiments(project, "0042")
    assert len(records) == 200
    assert len({r.id for r in records}) == 200
    assert sorted(int(r.id.split("-")[1]) for r in records) == list(range(1, 201))
    assert all(r.status == "completed" and not r.problems for r in records)
    for record in records:
        all_files_parse(record.path)


def test_two_clones_merge_without_conflict(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    git(origin, "config", "receive.denyCurrentBranch", "ignore")
    clones = []
    for name in ("alice", "bob"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        git(clone, "config", "user.email", f"{name}@example.com")
        git(clone, "config", "user.name", name)
        clones.append(clone)
    code = (
        "from specweave import track_experiment\n"
        "for name in ('baseline', '{who}-idea'):\n"
        "    with track_experiment(name, increment='0042-ranking') as exp:\n"
        "        exp.log_param('who', '{who}')\n"
        "        exp.log_metric('auc', {auc})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    for clone, auc in zip(clones, (0.8, 0.9)):
        subprocess.run([sys.executable, "-c", code.format(who=clone.name, auc=auc)], cwd=clone, env=env,
                       check=True)
        git(clone, "add", "-A")
        git(clone, "commit", "-qm", f"experiments of {clone.name}")
        assert not git(clone, "ls-files", ".specweave/cache").strip()  # the cache ignores itself
    alice, bob = clones
    git(alice, "push", "-q", "origin", "main")
    git(bob, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert "CONFLICT" not in git(bob, "status")
    records = list_experiments(bob, "0042")
    assert sorted((r.id, r.params["who"]) for r in records) == [
        ("exp-001-baseline", "alice"), ("exp-001-baseline", "bob"),
        ("exp-002-alice-idea", "alice"), ("exp-002-bob-idea", "bob")]
    assert all(not r.problems and r.status == "completed" for r in records)
    # after the merge, the readable id is shared; the folder name tells them apart
    import pytest

    from skill.errors import AmbiguousReference

    with pytest.raises(AmbiguousReference):
        find_experiment(bob, "exp-001-baseline")
    assert find_experiment(bob, "alice-idea").params == {"who": "alice"}
    # new runs in the merged clone continue the numbering
    subprocess.run([sys.executable, "-c", code.format(who="bob2", auc=0.7)], cwd=bob, env=env, check=True)
    assert {r.id for r in list_experiments(bob, "0042")} >= {"exp-003-baseline", "exp-004-bob2-idea"}


KILLED = """
import sys, time
from specweave import track_experiment
exp = track_experiment("doomed", increment="0042")
exp.log_param("lr", 0.1)
i = 0
while True:
    exp.log_metric("loss", 1.0 / (i + 1), step=i)
    i += 1
    if i == 50:
        print("logging", flush=True)
    time.sleep(0.002)
"""


def test_sigkill_leaves_a_readable_crashed_run(project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED], cwd=project, env=env, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"logging"
    folder = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until a flush has put points on disk
        found = list((project / ".specweave/increments").glob("*/experiments/exp-001-doomed.*/metrics.jsonl"))
        if found and found[0].stat().st_size > 0:
            folder = found[0].parent
            break
        time.sleep(0.1)
    assert folder is not None, "no flush within 30 s"
    time.sleep(1.5)  # at least one more flush
    on_disk_before_kill = len(folder.joinpath("metrics.jsonl").read_text().splitlines())
    proc.kill()
    proc.wait(timeout=10)
    record = find_experiment(project, "doomed")
    assert record.status == "crashed"
    assert record.params == {"lr": 0.1}
    assert not record.problems
    # the read settled the crashed run: its log is in the object store, its summary in the folder
    assert not folder.joinpath("metrics.jsonl").exists() and folder.joinpath("metrics.summary.json").exists()
    points = full_log_bytes(folder).decode().splitlines()
    assert len(points) >= on_disk_before_kill > 0
    steps = [json.loads(p)["step"] for p in points]
    assert steps == list(range(len(steps)))  # nothing flushed was lost or reordered
    all_files_parse(folder)
    meta = yaml.safe_load((folder / "metadata.yaml").read_text())
    assert meta["status"] == "running" and meta["pid"] == proc.pid  # the file is not rewritten by readers


def test_sigterm_marks_the_run_killed(project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED], cwd=project, env=env, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"logging"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert proc.returncode == -signal.SIGTERM
    record = find_experiment(project, "doomed")
    assert record.status == "killed"
    assert record.meta.notes[-1].text == "terminated by SIGTERM"
    assert record.metrics["loss"] > 0


def test_normal_exit_without_with_completes_the_run(project: Path, run_py) -> None:
    run_py("from specweave import track_experiment\nexp = track_experiment('no-with')\nexp.log_metric('m', 1)\n",
           project)
    record = find_experiment(project, "no-with")
    assert record.status == "completed" and record.metrics == {"m": 1.0}


def test_uncaught_exception_without_with_marks_failed(project: Path, run_py) -> None:
    done = run_py("from specweave import track_experiment\nexp = track_experiment('boom')\nraise RuntimeError('x')\n",
                  project, check=False)
    assert done.returncode == 1 and "RuntimeError" in done.stderr
    record = find_experiment(project, "boom")
    assert record.status == "failed"
    assert "RuntimeError" in record.meta.notes[-1].text
