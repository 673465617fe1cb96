"""The helpers are importable from `specweave` as the seed writes them, without loading heavy libraries."""

from __future__ import annotations

import json
from pathlib import Path

SEED_NAMES = ["track_artifacts", "track_hyperparameters", "track_grid_search", "track_cross_validation",
              "compare_models", "AutoTracker", "ExperimentPipeline", "ExperimentMetadata"]


def test_seed_names_resolve_without_importing_sklearn_or_plotting(run_py, project: Path) -> None:
    code = (
        "import sys, json\n"
        "import specweave\n"
        "from specweave import track_experiment\n"
        "heavy = ('sklearn', 'matplotlib', 'pandas', 'psutil', 'pynvml', 'tqdm')\n"
        "before = sorted(m for m in heavy if m in sys.modules)\n"
        f"from specweave import {', '.join(SEED_NAMES)}\n"
        "after = sorted(m for m in ('sklearn', 'matplotlib', 'psutil', 'pynvml', 'tqdm') if m in sys.modules)\n"
        f"missing = [n for n in {SEED_NAMES!r} if n not in specweave.__all__]\n"
        "print(json.dumps([before, after, missing]))\n"
    )
    before, after, missing = json.loads(run_py(code, project).stdout)
    assert before == [] and after == [] and missing == []


def test_without_scikit_learn_the_helpers_name_the_extra(run_py, project: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None  # as if scikit-learn were not installed\n"
        "from specweave import track_hyperparameters, track_cross_validation, compare_models, MissingExtra\n"
        "out = []\n"
        "for call in (lambda: track_hyperparameters(object, {'a': [1]}, [[0]], [0]),\n"
        "             lambda: track_cross_validation(object(), [[0]], [0]),\n"
        "             lambda: compare_models({'m': object()}, [[0]], [0], [[0]], [0])):\n"
        "    try:\n"
        "        call()\n"
        "    except MissingExtra as exc:\n"
        "        out.append(str(exc))\n"
        "print('\\n'.join(out))\n"
        "from specweave import AutoTracker, ExperimentPipeline, track_artifacts\n"
        "tracker = AutoTracker()\n"
        "print(tracker.track(name='no-sklearn')(lambda: 0.5)())\n"
    )
    lines = run_py(code, project).stdout.splitlines()
    assert lines[:3] == ["scikit-learn is not installed; install it with: pip install 'specweave-ml[sklearn]'"] * 3
    assert lines[3] == "0.5"  # AutoTracker needs no scikit-learn
    assert not list(project.glob(".specweave/increments/*/experiments/exp-*-sweep.*"))
