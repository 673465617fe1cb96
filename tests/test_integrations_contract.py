"""The framework integrations stay small, load only when used, and use only public names.

Which of the tracker's modules a framework adapter (and the Python facade) may import is a contract in
pyproject.toml (`adapters-public-api`, `facade-public-api`), checked by import-linter on the real import
graph. What import-linter cannot see is checked here: an adapter imports no private module or name of
anyone and touches no private attribute except its own (`self._x`); each stays small; and importing the
facade or the core loads no framework and no heavy library until it is used.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.fixtures import REPO

MODULES = ("lightning_logger", "hf_callback", "accelerate_tracker", "keras_cb", "xgboost_cb", "lightgbm_cb",
           "catboost_cb", "optuna_cb", "ray_cb", "ray_train", "sklearn_autolog", "framework_runs")
FACADES = ("lightning", "huggingface", "accelerate", "keras", "xgboost", "lightgbm", "catboost", "optuna", "ray",
           "sklearn")
FRAMEWORKS = ("lightning", "transformers", "accelerate", "keras", "xgboost", "lightgbm", "catboost", "optuna",
              "ray", "sklearn", "torch")
HEAVY = (*FRAMEWORKS, "pandas", "numpy", "pyarrow", "matplotlib", "mlflow", "wandb", "tensorboard", "scipy")
# Modules of the core that import no framework at module level: loading them must stay cheap.
LIGHT = ("specweave", "specweave._api", "skill", "skill.project", "skill.tracking.track", "skill.tracking.ranks",
         "skill.workflows.sweeps", "skill.workflows.crossval", "skill.workflows.model_compare",
         "skill.workflows.autotrack", "skill.workflows.pipeline", "skill.workflows.artifact_capture",
         "skill.integrations.mlflow_local", "skill.integrations.mlflow_mirror", "skill.exchange.mlflow_push",
         "skill.storage.mlflow_store", "skill.storage.mlflow_server", "skill.integrations.wandb_mirror",
         "skill.integrations.tensorboard_cb", "skill.integrations.framework_runs", "skill.exchange.importer",
         "skill.exchange.mlflow_source", "skill.exchange.mlflow_files", "skill.exchange.wandb_files",
         "skill.exchange.tensorboard_events",
         "specweave.mlflow", "specweave.wandb")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("module", MODULES)
def test_public_names_only(module: str) -> None:
    tree = ast.parse((REPO / "skill" / "integrations" / f"{module}.py").read_text())
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            where = "." * node.level + (node.module or "")
            if any(_private(part) for part in (node.module or "").split(".")):
                problems.append(f"imports the private module {where}")
            problems += [f"imports the private name {a.name} from {where}" for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Import):
            problems += [f"imports {a.name}" for a in node.names if any(_private(p) for p in a.name.split("."))]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                problems.append(f"line {node.lineno}: touches the private attribute .{node.attr}")
    assert problems == []


@pytest.mark.parametrize("module", MODULES[:-1])
def test_sized_like_a_small_adapter(module: str) -> None:
    assert 600 <= (REPO / "skill" / "integrations" / f"{module}.py").stat().st_size <= 4608


def test_importing_specweave_loads_no_framework() -> None:
    code = ("import sys, specweave\nspecweave.track_experiment; specweave.autolog; specweave.Experiment\n"
            f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=True)
    assert done.stdout.strip() == "[]"


def test_importing_the_core_loads_no_heavy_library() -> None:
    """Heavy imports stay lazy: the facade, Project, tracking, the workflows, the importers and the mirrors
    import pandas, numpy, MLflow, W&B, TensorBoard or a framework only inside the call that needs it."""
    code = (f"import importlib, sys\nfor name in {LIGHT!r}:\n    importlib.import_module(name)\n"
            "import specweave\nfor name in specweave.__all__:\n    getattr(specweave, name)\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("facade", FACADES)
def test_each_facade_names_its_extra(facade: str) -> None:
    text = (REPO / "specweave" / f"{facade}.py").read_text()
    assert "require(" in text and "__all__" in text
    extras = (REPO / "pyproject.toml").read_text()
    extra = text.split("require(", 1)[1].split(")", 1)[0].split(",")[1].strip().strip("\"'")
    assert f"\n{extra} = [" in extras
