"""Living docs and exports as people read them: runs that share a description named by their params,
ids two runs share written in full, tags as lists, the author from git, durations with a unit, and
the export command's default increment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures import REPO, init_repo, make_increment, sw, write_decision, write_experiment
from skill.analysis.living_docs import render_section
from skill.analysis.render import short_duration
from skill.storage.increments import resolve_increment


def test_runs_sharing_a_description_are_named_by_their_differing_params(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0003-sgd", "SGD")
    for n, (name, lr) in enumerate((("sgd-fast", 0.1), ("sgd-mid", 0.01), ("sgd-slow", 0.001)), 1):
        write_experiment(inc, n, name, params={"lr": lr, "epochs": 5}, metrics={"accuracy": 0.8 + n / 100},
                         description="SGD on digits")
    write_experiment(inc, 4, "mlp", params={"lr": 0.01, "epochs": 5}, metrics={"accuracy": 0.7},
                     description="A small MLP")
    text = render_section(tmp_path, resolve_increment(tmp_path, "0003"))
    assert "- exp-001-sgd-fast: sgd-fast — lr=0.1 (accuracy=0.81)" in text
    assert "- exp-003-sgd-slow: sgd-slow — lr=0.001 (accuracy=0.83)" in text
    assert "- exp-004-mlp: A small MLP (accuracy=0.7)" in text  # a description of its own stays


def test_an_id_two_runs_share_is_written_in_full(tmp_path: Path) -> None:
    inc = make_increment(tmp_path, "0004-merged", "Merged clones")
    write_experiment(inc, 30, "sgd", params={"lr": 0.1}, metrics={"accuracy": 0.9}, uid="u00030")
    write_experiment(inc, 30, "sgd", params={"lr": 0.2}, metrics={"accuracy": 0.8}, uid="u10030")
    write_decision(inc, "exp-030-sgd", "the first clone's")  # an id both share: the first match
    text = render_section(tmp_path, resolve_increment(tmp_path, "0004"))
    assert "- exp-030-sgd.u00030: sgd — lr=0.1" in text and "- exp-030-sgd.u10030: sgd — lr=0.2" in text
    assert "### Hyperparameters (exp-030)" not in text
    assert "### Hyperparameters (exp-030-sgd.u00030)" in text


def test_durations_have_a_unit_that_means_something() -> None:
    assert [short_duration(s) for s in (0.0, 0.0004, 0.0123, 0.5, 2.5, 45, 320)] == \
        ["<1ms", "400µs", "12ms", "500ms", "2.5s", "45s", "320s"]


def test_export_tags_as_lists_author_from_git_and_the_default_increment(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    code = ("from specweave import track_experiment\n"
            "with track_experiment('a', increment='0001-first', tags=['sgd', 'digits']) as e:\n"
            "    e.log_metric('accuracy', 0.9)\n"
            "from specweave import ExperimentMetadata\n"
            "meta = ExperimentMetadata(name='b', author='ana@example.com')\n"
            "with track_experiment(meta, increment='0001-first') as e:\n"
            "    e.log_metric('accuracy', 0.8)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path / "home")}
    env.pop("SPECWEAVE_AUTHOR", None)
    subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, check=True, timeout=120)
    done = sw("export-experiments", "--format", "json", cwd=repo)  # no increment: the active/newest one
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["tags"] for r in rows] == [["sgd", "digits"], []]
    assert [r["author"] for r in rows] == ["dev@example.com", "ana@example.com"]  # git's user.email unless given
    csv = sw("export-experiments", cwd=repo).stdout
    assert ",sgd;digits," in csv
    markdown = sw("export-experiments", "--format", "md", cwd=repo).stdout
    assert "sgd, digits" in markdown
