"""The facade's public API: explicit, lazy, and every name really importable."""

from __future__ import annotations

import subprocess
import sys

import specweave
from tests.fixtures import REPO


def test_all_matches_the_lazy_exports() -> None:
    assert sorted(specweave.__all__) == sorted([*specweave._EXPORTS, "__version__"])


def test_every_public_name_resolves() -> None:
    for name in specweave._EXPORTS:
        assert getattr(specweave, name) is not None, name


def test_import_specweave_loads_nothing_heavy() -> None:
    code = (
        "import sys, specweave\n"
        "heavy = [m for m in ('pydantic', 'pandas', 'yaml', 'jinja2', 'numpy', 'mcp', 'sklearn', 'mlflow', 'wandb')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == ""


def test_track_experiment_does_not_load_pandas_or_mcp() -> None:
    code = (
        "import sys\nfrom specweave import track_experiment\n"
        "print(','.join(m for m in ('pandas', 'jinja2', 'mcp', 'sklearn', 'mlflow', 'wandb') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == ""
