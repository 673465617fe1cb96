"""Build a store on disk with fixed ids, uids and timestamps, for snapshot tests.

Files are written exactly as the tracking API writes them (the same models
and dumpers), so what the readers see is the real format.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from skill.schemas.records import ExperimentMeta, Note
from skill.storage.encoding import dumps_json, dumps_jsonl_record, dumps_yaml, encode_float

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc)


def make_increment(root: Path, inc_id: str, title: str | None = None) -> Path:
    path = root / ".specweave" / "increments" / inc_id
    (path / "experiments").mkdir(parents=True, exist_ok=True)
    if title:
        (path / "spec.md").write_text(f"---\ntitle: {title}\n---\n\n# {title}\n", encoding="utf-8")
    return path


def write_experiment(
    inc_path: Path,
    number: int,
    slug: str,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    status: str = "completed",
    duration_s: float | None = 10.0,
    description: str = "",
    tags: list[str] | None = None,
    notes: list[str] | None = None,
    parent: str | None = None,
    stage: str | None = None,
    stage_order: int | None = None,
    uid: str | None = None,
) -> Path:
    exp_id = f"exp-{number:03d}-{slug}"
    uid = uid or f"u{number:05d}"
    folder = inc_path / "experiments" / f"{exp_id}.{uid}"
    folder.mkdir(parents=True)
    started = T0 + timedelta(minutes=number)
    meta = ExperimentMeta(
        id=exp_id, uid=uid, name=slug, increment=inc_path.name, status=status, description=description,
        tags=tags or [], started=started, ended=started + timedelta(seconds=duration_s or 0),
        duration_s=duration_s, heartbeat=started, host="test-host", pid=1, parent=parent, stage=stage,
        stage_order=stage_order, notes=[Note(ts=started, text=t) for t in notes or []],
        python="3.11.7", platform="Linux", packages={"numpy": "2.0.0", "pandas": "3.0.0"},
    )
    (folder / "metadata.yaml").write_text(dumps_yaml(meta.model_dump(mode="json")), encoding="utf-8")
    (folder / "params.json").write_text(dumps_json(params or {}), encoding="utf-8")
    metrics = metrics or {}
    (folder / "metrics.json").write_text(dumps_json({k: encode_float(v) for k, v in metrics.items()}),
                                         encoding="utf-8")
    lines = "".join(dumps_jsonl_record({"key": k, "step": 0, "ts": started.timestamp(), "value": encode_float(v)})
                    for k, v in metrics.items())
    (folder / "metrics.jsonl").write_text(lines, encoding="utf-8")
    return folder


def write_decision(inc_path: Path, selected: str, rationale: str, *, alternatives: list[str] | None = None,
                   author: str | None = "ml-lead@example.com", day: int = 20) -> None:
    path = inc_path / "experiments" / "decisions.jsonl"
    record = {"schema_version": 1, "ts": f"2026-01-{day:02d}T12:00:00Z", "increment": inc_path.name,
              "selected": selected, "selected_dir": None, "rationale": rationale,
              "alternatives": alternatives or [], "metrics": {}, "author": author}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


SEED_COMPARISON = [
    # slug, accuracy, precision, recall, f1, training time (s)
    ("baseline", 0.65, 0.60, 0.55, 0.57, 2.0),
    ("xgboost", 0.87, 0.85, 0.83, 0.84, 45.0),
    ("lightgbm", 0.86, 0.84, 0.82, 0.83, 32.0),
    ("neural-net", 0.85, 0.83, 0.81, 0.82, 320.0),
]


def seed_comparison_store(root: Path) -> Path:
    """The seed's 'Experiment Comparison' example as a store: increment 0042, four experiments."""
    inc = make_increment(root, "0042-recommendation-model", "Recommendation Model")
    for number, (slug, acc, prec, rec, f1, secs) in enumerate(SEED_COMPARISON, 1):
        write_experiment(inc, number, slug, params={"model": slug, "random_state": 42},
                         metrics={"accuracy": acc, "precision": prec, "recall": rec, "f1": f1}, duration_s=secs)
    return inc


def seed_living_docs_store(root: Path) -> Path:
    """The seed's 'Living Docs Integration' example: seven experiments, exp-003 selected."""
    inc = make_increment(root, "0042-recommendation-model", "Recommendation Model")
    rows = [
        ("baseline", "Random classifier", 0.12, {"strategy": "uniform"}),
        ("popularity", "Popularity baseline", 0.18, {"strategy": "popularity"}),
        ("xgboost", "XGBoost classifier", 0.26,
         {"n_estimators": 200, "max_depth": 6, "learning_rate": 0.1, "subsample": 0.8}),
        ("lightgbm", "LightGBM classifier", 0.25, {"n_estimators": 300, "num_leaves": 31}),
        ("random-forest", "Random forest", 0.22, {"n_estimators": 500}),
        ("logistic", "Logistic regression", 0.20, {"C": 1.0}),
    ]
    for number, (slug, description, acc, params) in enumerate(rows, 1):
        write_experiment(inc, number, slug, params=params, metrics={"acc": acc, "acc_std": 0.02},
                         description=description, duration_s=30.0 + number)
    write_experiment(inc, 7, "neural-net", params={"batch_size": 1024}, status="failed", duration_s=600.0,
                     description="Two-tower neural net",
                     notes=["FAILED: RuntimeError: CUDA out of memory",
                            "Reason: Out of memory, need smaller batch size"])
    write_decision(inc, "exp-003-xgboost",
                   "XGBoost chosen for:\n- Best accuracy (0.26 vs baseline 0.18, +44% improvement)\n"
                   "- Fast inference (<50ms)\n- Good explainability (SHAP values)\n"
                   "- Stable across cross-validation (std=0.02)",
                   alternatives=["exp-004-lightgbm"])
    return inc
