"""XGBoost, LightGBM and CatBoost callbacks: a few rounds on a small synthetic set, checked on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from skill.storage.run_summary import full_log_bytes
from specweave import load_model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    return x[:150], y[:150], x[150:], y[150:]


def _points(run: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for line in full_log_bytes(run).decode().splitlines():
        point = json.loads(line)
        out.setdefault(point["key"], []).append(point["step"])
    return out


def _meta(run: Path) -> dict:
    return yaml.safe_load((run / "metadata.yaml").read_text())


def test_xgboost(project: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    from specweave.xgboost import SpecweaveCallback

    xt, yt, xv, yv = _data()
    train, valid = xgb.DMatrix(xt, label=yt), xgb.DMatrix(xv, label=yv)
    callback = SpecweaveCallback("xgb")
    booster = xgb.train({"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "max_depth": 2,
                         "eta": 0.3}, train, num_boost_round=5, evals=[(train, "train"), (valid, "valid")],
                        callbacks=[callback])
    run = callback.experiment.path
    points = _points(run)
    assert points["train/logloss"] == points["valid/auc"] == [0, 1, 2, 3, 4]
    params = json.loads((run / "params.json").read_text())
    assert params["objective"] == "binary:logistic" and float(params["max_depth"]) == 2
    meta = _meta(run)
    assert meta["status"] == "completed" and meta["best"]["metric"] == "valid/auc"
    loaded = load_model(callback.experiment.id, "model.json")
    assert isinstance(loaded, xgb.Booster)
    np.testing.assert_allclose(loaded.predict(valid), booster.predict(valid), rtol=1e-6)


def test_xgboost_early_stopping_best_iteration(project: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    from specweave.xgboost import SpecweaveCallback

    xt, yt, xv, yv = _data()
    model = xgb.XGBClassifier(n_estimators=200, max_depth=2, early_stopping_rounds=3,
                              callbacks=[SpecweaveCallback("xgb-es")])
    model.fit(xt, yt, eval_set=[(xv, yv)], verbose=False)
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    assert _meta(run)["best"]["iteration"] == model.best_iteration
    assert len(_points(run)["validation_0/logloss"]) < 200


def test_lightgbm(project: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    from specweave.lightgbm import SpecweaveCallback

    xt, yt, xv, yv = _data()
    callback = SpecweaveCallback("lgb")
    train = lgb.Dataset(xt, label=yt)
    booster = lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": 4,
                         "verbose": -1, "min_data_in_leaf": 5}, train, num_boost_round=5,
                        valid_sets=[train, lgb.Dataset(xv, label=yv, reference=train)],
                        valid_names=["train", "valid"], callbacks=[callback])
    run = callback.experiment.path
    points = _points(run)
    assert points["train/binary_logloss"] == points["valid/auc"] == [0, 1, 2, 3, 4]
    assert json.loads((run / "params.json").read_text())["num_leaves"] == 4
    meta = _meta(run)
    assert meta["status"] == "completed" and meta["best"]["metric"] == "valid/binary_logloss"
    loaded = load_model(callback.experiment.id, "model.txt")
    assert isinstance(loaded, lgb.Booster)
    np.testing.assert_allclose(loaded.predict(xv), booster.predict(xv))


def test_catboost(project: Path) -> None:
    catboost = pytest.importorskip("catboost")
    from specweave.catboost import SpecweaveCallback

    xt, yt, xv, yv = _data()
    callback = SpecweaveCallback("cat")
    model = catboost.CatBoostClassifier(iterations=5, depth=2, verbose=False, allow_writing_files=False,
                                        thread_count=1)
    model.fit(xt, yt, eval_set=(xv, yv), callbacks=[callback])
    callback.finish(model)
    run = callback.experiment.path
    points = _points(run)
    assert points["learn/Logloss"] == points["validation/Logloss"] == [0, 1, 2, 3, 4]
    assert json.loads((run / "params.json").read_text())["depth"] == 2
    meta = _meta(run)
    assert meta["status"] == "completed" and meta["best"]["iteration"] == model.get_best_iteration()
    loaded = load_model(callback.experiment.id, "model.cbm")
    np.testing.assert_allclose(loaded.predict_proba(xv), model.predict_proba(xv))
