"""A small real project for the MCP tests: two increments, experiments with curves and artifacts."""

from __future__ import annotations

import math
from pathlib import Path

from skill.tracking.tracking import track_experiment

INC = "0042-recommendation-model"
OTHER = "0043-ranking"


def make_project(root: Path) -> Path:
    """Experiments logged through the real tracking API into `root` (a git repository)."""
    with track_experiment("baseline", increment=INC, root=root) as exp:
        exp.log_params({"strategy": "majority", "random_seed": 1})
        exp.log_metric("accuracy", 0.65)
        for step in range(20):
            exp.log_metric("loss", 1.0 / (step + 1))
        exp.log_note("Baseline: majority class")
    with track_experiment("xgboost", increment=INC, root=root) as exp:
        exp.log_params({"n_estimators": 100, "max_depth": 6, "random_seed": 1})
        for step in range(1000):
            exp.log_metric("loss", 1.0 / (step + 1) + (5.0 if step == 500 else 0.0))
        exp.log_metric("accuracy", 0.87)
        exp.log_metric("auc", math.nan)
        exp.save_artifact("summary.json", {"best_iteration": 90})
    with track_experiment("lightgbm", increment=INC, root=root) as exp:
        exp.log_params({"n_estimators": 200, "max_depth": 4})
        exp.log_metric("accuracy", 0.86)
        exp.add_tag("production-candidate")
    with track_experiment("neural-net", increment=INC, root=root) as exp:
        exp.log_params({"layers": 3})
        exp.log_metric("accuracy", 0.5)
        exp.set_status("failed")
    with track_experiment("popularity", increment=OTHER, root=root) as exp:
        exp.log_metric("accuracy", 0.18)
    return root


def tree_outside_store(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under `root` outside `.specweave/` and `.git/`."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] in (".specweave", ".git"):
            continue
        if path.is_file() or path.is_symlink():
            stat = path.lstat()
            found[rel.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found
