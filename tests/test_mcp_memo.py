"""The server's memo: answers from memory only while the files are unchanged."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import anyio
from mcp import Client
from tests.fixtures import INC, OTHER, sample_store

from mcp_server.server import build_server


def age(root: Path, seconds: float = 60) -> None:
    """Make every file and folder of the store look older than the memo's racy window."""
    past = time.time() - seconds
    for path in [root / ".specweave", *(root / ".specweave").rglob("*")]:
        os.utime(path, (past, past), follow_symlinks=False)


def test_memo_serves_unchanged_files_and_sees_every_change(project: Path) -> None:
    sample_store(project, "project")
    age(project)
    server = build_server(project)
    experiments = project / ".specweave" / "increments" / INC / "experiments"

    async def go() -> list:
        out = []
        async with Client(server, mode="legacy") as client:
            async def show(ref: str) -> object:
                return await client.call_tool("show_experiment", {"experiment": ref})

            out.append(await show("xgboost"))
            out.append(await show("xgboost"))  # from the memo
            await client.call_tool("add_note", {"experiment": "xgboost", "text": "seen after the memo"})
            out.append(await show("xgboost"))
            # A hand edit of metrics.json (same size, new value) is seen too.
            [folder] = experiments.glob("exp-002-xgboost.*")
            text = (folder / "metrics.json").read_text()
            (folder / "metrics.json").write_text(text.replace("0.87", "0.91"))
            out.append(await show("xgboost"))
            age(project)
            out.append(await show("popularity"))
            # A second experiment named like it, in the same increment, makes the reference ambiguous.
            other = project / ".specweave" / "increments" / OTHER / "experiments"
            [pop] = other.glob("exp-001-*")
            shutil.copytree(pop, other / "exp-009-popularity.zzzzzz")
            out.append(await show("popularity"))
        return out

    first, second, after_note, after_edit, pop, ambiguous = anyio.run(go)
    assert first.structured_content == second.structured_content
    assert after_note.structured_content["notes"][-1]["text"] == "seen after the memo"
    assert after_edit.structured_content["metrics"]["accuracy"] == 0.91
    assert not pop.is_error
    assert ambiguous.is_error and "ambiguous" in ambiguous.content[0].text


def test_memo_is_used_when_nothing_changed(project: Path) -> None:
    from skill.project import Project

    sample_store(project, "project")
    age(project)
    proj = Project(project, memo=True)
    first = proj.detail("exp-002", "0042")
    assert proj.detail("exp-002", "0042") is first  # the same object: no file was read
    proj2 = Project(project, memo=True)
    (project / ".specweave" / "increments" / INC / "experiments").touch()  # younger than the racy window
    one = proj2.detail("exp-002", "0042")
    assert proj2.detail("exp-002", "0042") is not one
