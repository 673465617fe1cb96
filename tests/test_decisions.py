"""log_decision: appended history, the `selected` tag moves, a later decision supersedes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures import INC_DIR, sample_store

from skill.errors import DamagedFile, InvalidInput, NotFound
from skill.project import Project
from skill.storage.decision_writer import log_decision
from skill.storage.decisions import read_decisions
from skill.analysis.listing import list_experiments


def tags_of(root: Path) -> dict[str, list[str]]:
    return {r.id: r.tags for r in list_experiments(root, "0042")}


def test_decisions_append_and_move_the_selected_tag(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    first = Project(tmp_path).log_decision("exp-002", "Best accuracy", increment="0042",  # Project names the ranked
                                           alternatives=["exp-003", "lightgbm"], author="ana@example.com")  # metric
    assert first.selected == "exp-002-xgboost" and first.alternatives == ["exp-003-lightgbm"]
    assert first.primary_metric == "accuracy" and first.metrics == {"accuracy": 0.87}  # the ranked number only
    assert tags_of(tmp_path)["exp-002-xgboost"] == ["selected"]
    second = log_decision(tmp_path, "0042", "exp-003-lightgbm", "Faster, nearly as good", metrics={"auc": 0.9},
                          author="bo@example.com")
    tags = tags_of(tmp_path)
    assert tags["exp-003-lightgbm"] == ["selected"] and tags["exp-002-xgboost"] == []
    history = read_decisions(tmp_path, "0042")
    assert [d.selected for d in history] == ["exp-002-xgboost", "exp-003-lightgbm"]
    assert history[-1].metrics == {"auc": 0.9} and history[-1].author == "bo@example.com"
    lines = (inc / "experiments" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["rationale"] == "Best accuracy"
    assert second.selected_dir and second.selected_dir.startswith("exp-003-lightgbm.")


def test_a_truncated_previous_line_does_not_swallow_the_next(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    (inc / "experiments" / "decisions.jsonl").write_text('{"selected": "exp-0', encoding="utf-8")
    log_decision(tmp_path, "0042", "exp-001", "Simplest", author="x")
    assert [d.selected for d in read_decisions(tmp_path, "0042")] == ["exp-001-baseline"]


@pytest.mark.parametrize("selected, rationale, alternatives, error", [
    ("exp-009", "why", None, NotFound),
    ("exp-002", "  ", None, InvalidInput),
    ("exp-002", "why", ["exp-002-xgboost"], InvalidInput),
    ("exp-002", "why", ["nope"], NotFound),
    ("../../etc", "why", None, InvalidInput),
])
def test_bad_decisions_write_nothing(tmp_path: Path, selected: str, rationale: str, alternatives: list[str] | None,
                                     error: type[Exception]) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    with pytest.raises(error):
        log_decision(tmp_path, "0042", selected, rationale, alternatives=alternatives)
    assert not (inc / "experiments" / "decisions.jsonl").exists()
    assert all(t == [] for t in tags_of(tmp_path).values())


def test_selected_experiment_without_metadata_is_refused(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    next((inc / "experiments").glob("exp-002-*/metadata.yaml")).unlink()
    with pytest.raises(DamagedFile, match="metadata.yaml"):
        log_decision(tmp_path, "0042", "exp-002", "Best")
    assert not (inc / "experiments" / "decisions.jsonl").exists()


def test_latest_decision_is_by_time_not_by_line(tmp_path: Path) -> None:
    from tests.fixtures import INC_DIR, write_decision

    from skill.analysis.compare import compare_experiments

    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_decision(inc, "exp-004-neural-net", "later, merged in first", day=25)
    write_decision(inc, "exp-001-baseline", "earlier, appended last by the other clone", day=3)
    assert [d.selected for d in read_decisions(tmp_path, "0042")] == ["exp-001-baseline", "exp-004-neural-net"]
    assert compare_experiments(tmp_path, "0042", write_report=False).best == "exp-004-neural-net"


def test_decisions_from_two_clones_merge_by_union(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from skill.storage.decisions import read_decisions
    from tests.fixtures import REPO, git, init_repo

    origin = init_repo(tmp_path / "origin")
    git(origin, "config", "receive.denyCurrentBranch", "ignore")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    setup = ("from specweave import track_experiment\n"
             "for name in ('a', 'b'):\n"
             "    with track_experiment(name, increment='0042-x') as e:\n"
             "        e.log_metric('auc', 0.5)\n")
    subprocess.run([sys.executable, "-c", setup], cwd=origin, env=env, check=True)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "two runs")
    clones = []
    for who, pick in (("alice", "exp-001"), ("bob", "exp-002")):
        clone = tmp_path / who
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        code = (f"from specweave import log_decision\n"
                f"log_decision(increment='0042', selected='{pick}', rationale='{who} prefers it', author='{who}')\n")
        subprocess.run([sys.executable, "-c", code], cwd=clone, env=env, check=True)
        git(clone, "add", "-A")
        git(clone, "-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-qm", f"{who} decides")
        clones.append(clone)
    alice, bob = clones
    git(alice, "push", "-q", "origin", "main")
    git(bob, "-c", "user.name=x", "-c", "user.email=x@example.com", "pull", "-q", "--no-rebase", "--no-edit",
        "origin", "main")
    decisions = read_decisions(bob, "0042")
    assert sorted(d.author for d in decisions) == ["alice", "bob"]
    assert "increments/**/experiments/decisions.jsonl merge=union" in (bob / ".specweave/.gitattributes").read_text()
    # the selected run is derived from the merged history: bob's later decision, and no other run
    from skill.project import Project

    assert [r.id for r in Project(bob).experiments("0042") if "selected" in r.tags] == ["exp-002-b"]
