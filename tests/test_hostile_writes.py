"""Writers under attack: a full disk, text that is not UTF-8, a kill during save_model, hostile values,
and links planted where the store writes. Real processes, a real full file system where one can be made."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from tests.fixtures import INC_DIR, REPO, can_mount_tmpfs, git, sample_store, sw

from skill.analysis.export import export_experiments
from skill.analysis.living_docs import docs_path, sync_living_docs
from skill.errors import InvalidInput, SpecweaveError, UnsafePath
from skill.storage.decision_writer import log_decision
from skill.storage.decisions import read_decisions
from skill.storage.edits import add_note
from skill.storage.run_records import find_experiment

ENV = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
SURROGATE = os.fsdecode(b"caf\xe9")  # what a non-UTF-8 file name becomes in Python: 'caf\udce9'


# -- text that is not UTF-8 ------------------------------------------------------------------------
def test_a_surrogate_note_is_refused_and_the_run_stays_healthy(project: Path) -> None:
    from specweave import track_experiment

    with track_experiment("surrogates", increment="0042") as exp:
        with pytest.raises(InvalidInput, match="invalid note .*valid UTF-8"):
            exp.log_note(f"read {SURROGATE}")
        with pytest.raises(InvalidInput, match="UTF-8"):
            exp.log_param("path", SURROGATE)
        with pytest.raises(InvalidInput, match="UTF-8"):
            exp.add_tag(SURROGATE)
        exp.log_note("a later note")
        exp.add_tag("later")
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    assert meta["status"] == "completed"
    assert [n["text"] for n in meta["notes"]] == ["a later note"] and meta["tags"] == ["later"]


def test_a_failure_whose_message_is_not_utf8_is_still_written(project: Path) -> None:
    from specweave import track_experiment

    with pytest.raises(RuntimeError):
        with track_experiment("fails", increment="0042") as exp:
            raise RuntimeError(f"cannot open {SURROGATE}")
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text(encoding="utf-8"))
    assert meta["status"] == "failed"
    assert "cannot open caf\\udce9" in meta["notes"][0]["text"]


@pytest.mark.parametrize("command", [
    ["add-note", "exp-002", b"bad \xff note"],
    ["tag", "exp-002", b"bad\xfftag"],
    ["log-decision", "exp-002", "--rationale", b"because \xff"],
])
def test_cli_refuses_non_utf8_arguments_in_one_line(project: Path, command: list) -> None:
    inc = sample_store(project, "seed-comparison") / INC_DIR
    before = {p: p.read_bytes() for p in inc.rglob("*") if p.is_file()}
    done = sw(*command, cwd=project, text=False)
    err = done.stderr.decode("utf-8", "replace").strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1 and "UTF-8" in err and "Traceback" not in err
    after = {p: p.read_bytes() for p in inc.rglob("*") if p.is_file()}
    assert after == before  # nothing written: no tag without its decision, no half edit


# -- hostile values --------------------------------------------------------------------------------
def test_hostile_values_become_one_line_invalid_input(project: Path) -> None:
    from specweave import track_experiment

    deep: dict = {}
    node = deep
    for _ in range(3000):
        node["k"] = {}
        node = node["k"]
    with track_experiment("hostile", increment="0042") as exp:
        with pytest.raises(InvalidInput, match="nested"):
            exp.log_params({"deep": deep})
        with pytest.raises(InvalidInput, match="float's range"):
            exp.log_metric("huge", 10**400)
        deep_list: list = [1]
        for _ in range(70):
            deep_list = [deep_list]
        with pytest.raises(InvalidInput, match="nested"):
            exp.log_param("deep_list", deep_list)
        exp.log_metric("fine", 1.0)
    assert exp.status == "completed"
    assert json.loads((exp.path / "metrics.json").read_text()) == {"fine": 1.0}


# -- a full disk -----------------------------------------------------------------------------------
FULL_DISK = r"""
import json, os, sys, time
from pathlib import Path
os.chdir(sys.argv[1])
from specweave import track_experiment
filler = Path(sys.argv[1]) / "filler"
with track_experiment("full-disk", increment="0042") as exp:
    for i in range(200):
        exp.log_metric("loss", float(i), step=i)
    exp.flush()
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)   # fill the disk to the last byte
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        os.close(fd)
    for i in range(200, 20000):     # the training loop goes on: nothing may raise into it
        exp.log_metric("loss", float(i), step=i)
    exp.log_note("written while the disk was full")
    exp.add_tag("full")
    exp._periodic_flush()
    assert exp.metadata.notes[-1].text == "written while the disk was full"
    filler.unlink()                 # space returns
print(exp.path)
"""


def test_a_full_disk_loses_nothing_and_never_raises(tmp_path: Path) -> None:
    why = can_mount_tmpfs()
    if why:
        pytest.skip(why)
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK)
    # the check runs inside the namespace too, before the tmpfs goes away with it
    check = tmp_path / "check.py"
    check.write_text(CHECK_FULL_DISK)
    shell = (f'mount -t tmpfs -o size=4m tmpfs "{disk}" && "{sys.executable}" "{script}" "{disk}" && '
             f'"{sys.executable}" "{check}" "{disk}"; rc=$?; umount "{disk}"; exit $rc')
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
                          env=ENV, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CHECKED" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("could not append") <= 1  # warned once, not once a second


CHECK_FULL_DISK = r"""
import json, sys
from pathlib import Path
import yaml
from skill.storage.run_summary import full_log_bytes
disk = Path(sys.argv[1])
folder = next(disk.glob(".specweave/increments/*/experiments/exp-*"))
lines = full_log_bytes(folder).decode().splitlines()
steps = [json.loads(line)["step"] for line in lines]  # every line parses: nothing glued
assert steps == list(range(20000)), (len(steps), steps[:3], steps[-3:])
meta = yaml.safe_load((folder / "metadata.yaml").read_text())
assert meta["status"] == "completed", meta["status"]
assert "written while the disk was full" in [n["text"] for n in meta["notes"]]
assert "full" in meta["tags"]
assert json.loads((folder / "metrics.json").read_text()) == {"loss": 19999.0}
assert not list(disk.glob(".specweave/cache/tmp/*.tmp"))
print("CHECKED")
"""


# -- killed during save_model ----------------------------------------------------------------------
SAVE_LOOP = """
import os, sys
from specweave import track_experiment
in_git = {"git": True, "objects": None}[sys.argv[1]]
with track_experiment("saver", increment="0042") as exp:
    print(exp.path, flush=True)
    i = 0
    while True:
        exp.save_model(os.urandom(32 << 20) + bytes([i % 256]), "model.pkl", in_git=in_git)
        i += 1
"""


def _kill_when(proc: subprocess.Popen, folders: list[Path], pattern: str) -> None:
    """SIGKILL `proc` the moment a file matching `pattern` shows in one of `folders` (mid-save)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        if any(any(f.glob(pattern)) for f in folders if f.is_dir()):
            proc.send_signal(signal.SIGKILL)
            return
    raise AssertionError(f"no {pattern} appeared")


@pytest.mark.parametrize("place", ["git", "objects"])  # in_git=True: the experiment folder; else the object store
@pytest.mark.parametrize("moment", ["*.tmp", "pending-*"])  # while the bytes are written; between place and record
def test_killed_during_save_model_leaves_no_temp_file_for_git_and_a_true_hash(project: Path, moment: str,
                                                                              place: str) -> None:
    import hashlib

    (project / ".gitignore").write_text(".specweave/cache/\n")
    proc = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, place], cwd=project, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    folder = Path(proc.stdout.readline().strip())
    objects = project / ".specweave" / "objects" / "sha256"
    deadline = time.time() + 60
    while time.time() < deadline and not ((folder / "model.pkl").exists() if place == "git"
                                          else any(objects.glob("*/*"))):
        time.sleep(0.01)
    _kill_when(proc, [folder, project / ".specweave" / "cache" / "tmp"], moment)
    proc.wait(timeout=30)
    status = git(project, "status", "--porcelain", "--untracked-files=all")
    assert ".tmp" not in status and "objects" not in status, status
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], list(folder.iterdir())
    # the next write of the run's metadata (here a note from the CLI) settles a save killed half-way
    assert sw("add-note", folder.name.rsplit(".", 1)[0], "after the kill", cwd=project).returncode == 0
    meta = yaml.safe_load((folder / "metadata.yaml").read_text())
    recorded = {a["name"]: a for a in meta["artifacts"]}
    assert recorded["model.pkl"]["stored"] == place
    sha = recorded["model.pkl"]["sha256"]
    kept = folder / "model.pkl" if place == "git" else objects / sha[:2] / sha[2:]
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == sha
    if place == "objects":
        assert not (folder / "model.pkl").exists()  # nothing binary in the folder git shares
        for obj in objects.glob("*/*"):  # every object placed is whole: its name is its hash
            assert hashlib.sha256(obj.read_bytes()).hexdigest() == obj.parent.name + obj.name
    assert not list(project.glob(".specweave/cache/tmp/pending-*"))


# -- links planted where the store writes ----------------------------------------------------------
@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text("outside content\n")
    (out / "metadata.yaml").write_text("id: outside\n")
    return out


def test_decisions_file_linked_out_is_refused(project: Path, outside: Path) -> None:
    inc = sample_store(project, "seed-comparison") / INC_DIR
    (inc / "experiments" / "decisions.jsonl").symlink_to(outside / "secret.txt")
    with pytest.raises(SpecweaveError, match="link"):
        log_decision(project, "0042", "exp-002", "best")
    assert (outside / "secret.txt").read_text() == "outside content\n"
    assert "selected" not in find_experiment(project, "exp-002", "0042").tags


def test_metadata_linked_out_is_never_rewritten(project: Path, outside: Path) -> None:
    inc = sample_store(project, "seed-comparison") / INC_DIR
    meta = next((inc / "experiments").glob("exp-002-*")) / "metadata.yaml"
    record = find_experiment(project, "exp-002", "0042")
    meta.unlink()
    meta.symlink_to(outside / "metadata.yaml")
    with pytest.raises(SpecweaveError, match="link"):
        add_note(record, "a note")
    assert (outside / "metadata.yaml").read_text() == "id: outside\n"


def test_experiment_folder_linked_out_is_never_written(project: Path, outside: Path) -> None:
    inc = sample_store(project, "seed-comparison") / INC_DIR
    real = next((inc / "experiments").glob("exp-002-*"))
    record = find_experiment(project, "exp-002", "0042")
    moved = outside / "exp"
    shutil.move(str(real), moved)
    real.symlink_to(moved, target_is_directory=True)
    before = (moved / "metadata.yaml").read_text()
    with pytest.raises(SpecweaveError):
        add_note(record, "a note")
    with pytest.raises(SpecweaveError):
        log_decision(project, "0042", real.name, "best")
    assert (moved / "metadata.yaml").read_text() == before


def test_living_docs_linked_out_are_not_copied_in(project: Path, outside: Path) -> None:
    sample_store(project, "seed-comparison")
    path = docs_path(project)
    path.parent.mkdir(parents=True)
    path.symlink_to(outside / "secret.txt")
    with pytest.raises(SpecweaveError, match="link"):
        sync_living_docs(project)
    assert path.is_symlink() and (outside / "secret.txt").read_text() == "outside content\n"


def test_export_and_artifacts_create_nothing_outside(project: Path, outside: Path) -> None:
    from specweave import track_experiment

    sample_store(project, "seed-comparison")
    (project / ".specweave" / "exports").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath):
        export_experiments(project, "0042", "csv", "sub/results.csv")
    with track_experiment("links", increment="0042") as exp:
        (exp.path / "plots").symlink_to(outside, target_is_directory=True)
        with pytest.raises(UnsafePath):
            exp.save_artifact("plots/deeper/roc.png", b"png")
        with pytest.raises(UnsafePath):
            exp.save_artifact("plots/roc.png", b"png")
    assert sorted(p.name for p in outside.iterdir()) == ["metadata.yaml", "secret.txt"]
    assert read_decisions(project, "0042") == []


def test_meeting_and_staging_folders_are_never_made_through_a_committed_link(project: Path, outside: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The git-ignored cache holds where a sweep's processes and a job's ranks meet, and track_artifacts'
    staging: a clone that commits one of those folders as a link gets one line, and nothing is made there."""
    from skill.errors import DamagedFile
    from skill.workflows.sweeps import join_sweep
    from specweave import track_artifacts, track_experiment

    before = sorted(p.name for p in outside.iterdir())
    cache = project / ".specweave" / "cache"  # as a clone brings it, before any command runs
    cache.mkdir(parents=True)
    (outside / "4194303-old").mkdir()  # named as an import killed long ago leaves a run being built
    before = sorted(p.name for p in outside.iterdir())
    for name in ("sweeps", "ranks", "staging", "import"):
        (cache / name).symlink_to(outside, target_is_directory=True)
    with pytest.raises(DamagedFile, match="symbolic link"):
        join_sweep("a shared study", "sweep", "0042")
    with pytest.raises(DamagedFile, match="symbolic link"), track_artifacts(name="staged", increment="0042") as out:
        (out / "a.txt").write_text("never")
    from skill.exchange.importer import import_runs  # an import stages each run in the same folder

    csv = project.parent / "history.csv"
    csv.write_text("epoch,loss\n0,0.5\n1,0.25\n")
    report = import_runs(project, "csv", str(csv), step_column="epoch", increment="0042")
    assert [r.action for r in report.runs] == ["damaged"] and "symbolic link" in report.runs[0].problem
    monkeypatch.setenv("SPECWEAVE_JOB_ID", "hostile-job")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(DamagedFile, match="symbolic link"):
        track_experiment("shared", increment="0042", ranks="all")
    assert sorted(p.name for p in outside.iterdir()) == before
