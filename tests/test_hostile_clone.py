"""A cloned repository whose store carries links of every kind out of it.

Everything outside the clone's `.specweave/` is hashed before and after every
Python API function, `sw-ml` command, MCP tool and resource is called against
the clone; nothing may change there, no directory may appear, and the
content of the files the links point at may appear in no answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from tests.fixtures import INC, OTHER, REPO, SECRET, git, init_repo, replace_with_link, sample_store, snapshot

from mcp_server.server import build_server

ENV = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}


def _exp(store: Path, inc: str, number: int) -> Path:
    return next((store / "increments" / inc / "experiments").glob(f"exp-{number:03d}-*"))


def build_hostile_clone(tmp: Path) -> tuple[Path, Path]:
    """An origin logged through the real tracker, links planted and committed, then cloned."""
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "params.json").write_text(json.dumps({"leak": SECRET}))
    (outside / "metrics.json").write_text(json.dumps({"leak_metric": 1.0, SECRET: 2.0}))
    (outside / "points.jsonl").write_text(json.dumps({"key": SECRET, "value": 1.0, "step": 0, "ts": 0}) + "\n")
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    (outside / "exports").mkdir()
    (outside / "plots").mkdir()
    origin = init_repo(tmp / "origin")
    sample_store(origin, "project")
    store = origin / ".specweave"
    # a folder that looks like an experiment, and one like an increment, both outside
    (outside / "expdir").mkdir()
    for name in ("params.json", "metrics.json"):
        (outside / "expdir" / name).write_text((outside / name).read_text())
    meta = (_exp(store, INC, 1) / "metadata.yaml").read_text().replace("name: baseline", f"name: {SECRET}")
    (outside / "metadata.yaml").write_text(meta)
    (outside / "expdir" / "metadata.yaml").write_text(meta)
    (outside / "increment" / "experiments").mkdir(parents=True)
    os.symlink(outside / "expdir", outside / "increment" / "experiments" / "exp-001-leak.abcdef")

    replace_with_link(_exp(store, INC, 1) / "params.json", outside / "params.json")
    replace_with_link(_exp(store, INC, 2) / "metrics.json", outside / "metrics.json")
    replace_with_link(_exp(store, INC, 2) / "metrics.jsonl", outside / "points.jsonl")
    replace_with_link(_exp(store, INC, 3) / "metadata.yaml", outside / "metadata.yaml")
    replace_with_link(_exp(store, INC, 1) / "plots", outside / "plots")
    replace_with_link(store / "increments" / INC / "experiments" / "exp-009-linked.abcdef", outside / "expdir")
    replace_with_link(store / "increments" / OTHER / "experiments" / "decisions.jsonl", outside / "secret.txt")
    replace_with_link(store / "increments" / INC / "experiments" / "comparison.md", outside / "secret.txt")
    replace_with_link(store / "increments" / "0044-linked", outside / "increment")
    replace_with_link(store / "docs" / "internal" / "architecture" / "ml-experiments.md", outside / "secret.txt")
    replace_with_link(store / "exports", outside / "exports")
    git(origin, "add", "-A", "--force")
    git(origin, "commit", "-qm", "store with links")
    clone = tmp / "clone"
    git(tmp, "clone", "-q", str(origin), str(clone))
    assert (clone / ".specweave" / "exports").is_symlink()
    return clone, outside


def python_api(clone: Path) -> list[Any]:
    import specweave
    from skill.errors import SpecweaveError

    answers: list[Any] = []
    calls = [
        lambda: specweave.list_increments(root=clone),
        *(lambda inc=inc: specweave.list_experiments(inc, root=clone) for inc in (INC, OTHER, "0044")),
        *(lambda ref=ref: specweave.get_experiment(ref, INC, root=clone)
          for ref in ("exp-001", "exp-002", "exp-003", "exp-004", "exp-009")),
        lambda: specweave.compare_experiments(INC, root=clone),
        lambda: specweave.compare_experiments(OTHER, root=clone),
        lambda: specweave.export_experiments(INC, "csv", root=clone),
        lambda: specweave.export_experiments(INC, "json", path=clone / ".specweave/exports/sub/out.json", root=clone),
        lambda: specweave.log_decision(INC, "exp-004", "lowest loss", root=clone),
        lambda: specweave.log_decision(OTHER, "exp-001", "only one", root=clone),
        lambda: specweave.read_decisions(INC, root=clone),
        lambda: specweave.sync_living_docs(root=clone),
        lambda: specweave.experiments_dataframe([INC, OTHER], root=clone).to_csv(),
    ]
    for fn in calls:
        try:
            answers.append(repr(fn()))
        except SpecweaveError as exc:
            answers.append(str(exc))
    return answers


def cli(clone: Path) -> list[str]:
    commands = [
        ["list-increments"], ["list-experiments", INC], ["list-experiments", OTHER], ["list-experiments", "0044"],
        *(["show-experiment", ref, "--increment", INC] for ref in ("exp-001", "exp-002", "exp-003", "exp-009")),
        ["compare-experiments", INC], ["export-experiments", INC, "--format", "csv"],
        ["export-experiments", INC, "--format", "csv", "-o", ".specweave/exports/x/out.csv"],
        ["log-decision", "exp-002", "--rationale", "best", "--increment", INC],
        ["add-note", "exp-003", "a note", "--increment", INC], ["add-note", "exp-009", "a note", "--increment", INC],
        ["tag", "exp-002", "checked", "--increment", INC], ["sync-docs"],
    ]
    out = []
    for args in commands:
        done = subprocess.run([sys.executable, "-m", "specweave.cli", *args, "--root", str(clone)], cwd=clone,
                              env=ENV, capture_output=True, text=True, timeout=120)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert done.returncode in range(7), (args, done.returncode, done.stderr)
        out.append(done.stdout + done.stderr)
    return out


def mcp(clone: Path) -> list[str]:
    calls = [
        ("list_increments", {}), ("list_experiments", {"increment": INC}), ("list_experiments", {"increment": "0044"}),
        *(("show_experiment", {"experiment": ref, "increment": INC}) for ref in ("exp-001", "exp-002", "exp-003",
                                                                                "exp-009")),
        ("get_metric_history", {"experiment": "exp-002", "metric": "loss", "increment": INC}),
        ("compare_experiments", {"increment": INC}), ("export_experiments", {"increment": INC, "format": "csv"}),
        ("export_experiments", {"increment": INC, "format": "csv", "path": "y/out.csv"}),
        ("log_decision", {"experiment": "exp-004", "rationale": "r", "increment": INC}),
        ("add_note", {"experiment": "exp-003", "text": "n", "increment": INC}),
        ("tag_experiment", {"experiment": "exp-002", "add": ["t"], "increment": INC}),
        ("sync_living_docs", {}),
    ]

    async def go() -> list[str]:
        out = []
        async with Client(build_server(clone)) as client:
            for name, args in calls:
                result = await client.call_tool(name, args)
                out.append(json.dumps([c.model_dump(mode="json") for c in result.content]))
                out.append(json.dumps(result.structured_content))
            for resource in (await client.list_resources()).resources:
                try:
                    read = await client.read_resource(resource.uri)
                    out.append(json.dumps([c.model_dump(mode="json") for c in read.contents]))
                except Exception as exc:  # an error answer is fine; a leak is not
                    out.append(str(exc))
        return out

    return anyio.run(go)


@pytest.mark.parametrize("face", [python_api, cli, mcp], ids=["python", "cli", "mcp"])
def test_a_hostile_clone_reads_and_writes_nothing_outside(tmp_path: Path, face: Any) -> None:
    clone, _outside = build_hostile_clone(tmp_path)
    before = snapshot(tmp_path, clone)
    answers = face(clone)
    after = snapshot(tmp_path, clone)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, changed
    leaked = [a for a in answers if SECRET in a]
    assert not leaked, leaked[0][:500]
    # the healthy runs still answered
    assert any("exp-004" in a for a in answers)
