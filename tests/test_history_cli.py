"""`sw-ml history` and `show-experiment`'s min/max/best step, through the real CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures import sample_store, sw


def test_history_says_where_the_curve_bottomed(project: Path) -> None:
    sample_store(project, "views")
    done = sw("history", "exp-001", "test/logloss", cwd=project)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "exp-001-gbm-a  test/logloss  (100 points)"
    assert "min 0.106 at step 45" in lines[1] and "last 0.165 at step 99" in lines[1]
    assert "best 0.106 at step 45 (lower is better)" in lines[1]
    assert len(lines[2].strip()) == 40 and set(lines[2].strip()) <= set("▁▂▃▄▅▆▇█")
    assert "every point" in lines[3] and len(lines) == 5 + 100
    few = sw("history", "exp-001", "test/logloss", "--max-points", "10", cwd=project)
    assert "10 of 100 points" in few.stdout and " 45 " in few.stdout  # the minimum's step is kept
    data = json.loads(sw("history", "exp-001", "--json", cwd=project).stdout)
    loss = next(m for m in data["metrics"] if m["key"] == "test/logloss")
    assert loss["best_step"] == 45 and len(loss["points"]["steps"]) == 100


def test_history_refuses_in_one_line(project: Path) -> None:
    sample_store(project, "views")
    done = sw("history", "exp-001", "test/loglos", cwd=project)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "test/logloss" in done.stderr
    bad = sw("history", "exp-001", "test/logloss", "--max-points", "1", cwd=project)
    assert bad.returncode != 0 and "max_points" in bad.stderr


def test_show_experiment_gains_min_max_best_step_and_a_sparkline(project: Path) -> None:
    sample_store(project, "views")
    done = sw("show-experiment", "exp-001", cwd=project)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.strip().startswith("test/logloss:"))
    assert "min 0.106 @ 45" in line and "best 0.106 @ 45" in line and "100 points" in line
    assert line.rstrip()[-1] in "▁▂▃▄▅▆▇█"
    assert "  accuracy: 0.91" in done.stdout.splitlines()  # a metric logged once: as before
