"""No edit is ever lost: edits made while a run is open, many writers at once, the living docs under
parallel syncs and a person's save, decisions all-or-nothing. Real processes throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from tests.fixtures import INC_DIR, REPO, sample_store, sw

from skill.analysis.living_docs import docs_path, sync_living_docs
from skill.errors import InvalidInput
from skill.storage.decision_writer import log_decision
from skill.storage.decisions import read_decisions
from skill.storage.run_records import find_experiment
from skill.storage.run_summary import full_log_bytes

ENV = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}

LONG_RUN = """
import sys, time
from pathlib import Path
from specweave import track_experiment
with track_experiment("open-run", increment="0042") as exp:
    exp.log_param("lr", 0.1)
    Path(sys.argv[1]).write_text(exp.path.name)
    stop = Path(sys.argv[2])
    i = 0
    while not stop.exists():
        exp.log_metric("loss", 1.0 / (i + 1), step=i)
        exp._periodic_flush()  # what the flusher does every second, here as often as possible
        i += 1
        time.sleep(0.002)
    exp.log_note("own note at the end")
"""


def meta_of(project: Path, ref: str) -> dict:
    record = find_experiment(project, ref, "0042")  # metadata.yaml with the run's edits.jsonl folded in
    return record.meta.model_dump(mode="json")


def test_edits_to_an_open_run_survive_its_heartbeats_and_its_end(project: Path) -> None:
    sample_store(project, "seed-comparison")
    ready, stop = project / "ready", project / "stop"
    proc = subprocess.Popen([sys.executable, "-c", LONG_RUN, str(ready), str(stop)], cwd=project, env=ENV,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not ready.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert ready.exists(), proc.stderr.read().decode() if proc.poll() is not None else "never started"
        ref = "open-run"
        for i in range(3):
            assert sw("add-note", ref, f"note from the CLI {i}", cwd=project).returncode == 0
        assert sw("tag", ref, "reviewed", cwd=project).returncode == 0
        done = sw("log-decision", ref, "--rationale", "best loss so far", cwd=project)
        assert done.returncode == 0, done.stderr
        time.sleep(0.3)  # a few more heartbeats of the open run
    finally:
        stop.touch()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    meta = meta_of(project, "open-run")
    texts = [n["text"] for n in meta["notes"]]
    assert [t for t in texts if t.startswith("note from the CLI")] == [f"note from the CLI {i}" for i in range(3)]
    assert "own note at the end" in texts
    assert "reviewed" in meta["tags"]
    # the decision landed too: the run reads as selected (derived from decisions.jsonl, not a stored tag)
    assert "selected" in find_experiment(project, "open-run", "0042").tags
    assert meta["status"] == "completed"
    assert read_decisions(project, "0042")[-1].selected.startswith("exp-")


def test_ten_concurrent_notes_all_land(project: Path) -> None:
    sample_store(project, "seed-comparison")
    procs = [subprocess.Popen([sys.executable, "-m", "specweave.cli", "add-note", "exp-002", f"parallel note {i}"],
                              cwd=project, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(10)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    texts = {n["text"] for n in meta_of(project, "exp-002")["notes"]}
    assert {f"parallel note {i}" for i in range(10)} <= texts


def test_two_processes_tagging_and_noting_at_once_lose_nothing(project: Path, run_py) -> None:
    sample_store(project, "seed-comparison")
    code = """
import sys
from skill.storage.edits import add_note, set_tags
from skill.storage.run_records import find_experiment
from pathlib import Path
rec = find_experiment(Path("."), "exp-003", "0042")
for i in range(40):
    add_note(rec, f"{sys.argv[1]}-{i}")
    set_tags(rec, add=[f"{sys.argv[1]}-{i}"])
"""
    procs = [subprocess.Popen([sys.executable, "-c", code, who], cwd=project, env=ENV, stderr=subprocess.PIPE)
             for who in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    meta = meta_of(project, "exp-003")
    expected = {f"{who}-{i}" for who in "ab" for i in range(40)}
    assert expected <= {n["text"] for n in meta["notes"]}
    assert expected <= set(meta["tags"])


def _second_increment(project: Path) -> None:
    from tests.fixtures import make_increment, write_experiment

    inc = make_increment(project, "0043-ranking")
    write_experiment(inc, 1, "lambdamart", metrics={"ndcg": 0.7})


def test_parallel_syncs_of_different_increments_both_land(project: Path) -> None:
    sample_store(project, "seed-comparison")
    _second_increment(project)
    code = ("import sys; from pathlib import Path; from skill.analysis.living_docs import sync_living_docs; "
            "sync_living_docs(Path('.'), [sys.argv[1]])")
    for _trial in range(4):
        docs_path(project).unlink(missing_ok=True)
        procs = [subprocess.Popen([sys.executable, "-c", code, inc], cwd=project, env=ENV, stderr=subprocess.PIPE)
                 for inc in ("0042", "0043")]
        for proc in procs:
            assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
        text = docs_path(project).read_text()
        assert "specweave-ml:begin 0042-recommendation-model" in text
        assert "specweave-ml:begin 0043-ranking" in text


@pytest.mark.serial  # a race against real time: run alone, not beside another worker
def test_a_person_saving_the_docs_while_a_sync_runs_keeps_the_edit(project: Path) -> None:
    sample_store(project, "seed-comparison")
    _second_increment(project)
    sync_living_docs(project, ["0042"])
    path = docs_path(project)
    code = ("import sys; from pathlib import Path; from skill.analysis.living_docs import sync_living_docs\n"
            "for i in range(int(sys.argv[1])): sync_living_docs(Path('.'), ['0043' if i % 2 else '0042'])\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "30"], cwd=project, env=ENV, stderr=subprocess.PIPE)
    saved = []
    while proc.poll() is None and len(saved) < 200:  # the person saves again and again, as an editor does
        line = f"A person's line {len(saved)}\n"
        text = path.read_text()
        path.write_text(text + line)
        saved.append(line.strip())
        time.sleep(0.005)
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    text = path.read_text()
    missing = [line for line in saved if line not in text]
    assert not missing, f"{len(missing)} of {len(saved)} edits lost"
    assert "specweave-ml:begin 0043-ranking" in text


def test_decision_is_all_or_nothing_when_the_tag_cannot_be_written(project: Path) -> None:
    inc = sample_store(project, "seed-comparison") / INC_DIR
    before = read_decisions(project, "0042")
    meta = next((inc / "experiments").glob("exp-002-*/metadata.yaml"))
    meta.write_text("id: [unclosed\n")  # a broken hand edit: the tag cannot be written
    with pytest.raises(Exception, match="metadata.yaml"):
        log_decision(project, "0042", "exp-002", "best f1")
    assert read_decisions(project, "0042") == before
    assert meta.read_text() == "id: [unclosed\n"


@pytest.mark.parametrize("metrics, message", [
    ({"blob": "x" * 10_000_000}, "at most"),
    ({f"m{i}": i for i in range(500)}, "at most 50 metrics"),
    ({"deep": [[[[[[[1]]]]]]]}, "nested"),
])
def test_decision_fields_are_bounded(project: Path, metrics: dict, message: str) -> None:
    sample_store(project, "seed-comparison")
    with pytest.raises(InvalidInput, match=message):
        log_decision(project, "0042", "exp-002", "best", metrics=metrics)
    assert read_decisions(project, "0042") == []
    assert "selected" not in find_experiment(project, "exp-002", "0042").tags


def test_the_running_process_never_writes_over_a_newer_file(project: Path) -> None:
    """In one process too: a note written by the edit path while the Experiment is open survives."""
    from skill.storage.edits import add_note
    from specweave import track_experiment

    with track_experiment("in-process", increment="0042") as exp:
        rec = find_experiment(project, exp.id, "0042")
        add_note(rec, "from the side")
        exp.log_note("from the run")
        exp._periodic_flush()
        exp.add_tag("mine")
    meta = yaml.safe_load((exp.path / "metadata.yaml").read_text())
    assert [n["text"] for n in meta["notes"]] == ["from the side", "from the run"]
    assert meta["tags"] == ["mine"] and meta["status"] == "completed"
    assert exp.metadata.notes[0].text == "from the side"


def test_threads_logging_one_key_never_share_a_step(project: Path) -> None:
    from specweave import track_experiment

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows: races show at once
    with track_experiment("threads", increment="0042") as exp:
        def work() -> None:
            for i in range(50_000):
                exp.log_metric("loss", float(i))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    sys.setswitchinterval(switch)
    steps = [json.loads(line)["step"] for line in full_log_bytes(exp.path).decode().splitlines()]
    assert len(steps) == 200_000 and len(set(steps)) == 200_000
