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


def _noisy():
    """Labels with a third flipped: the validation loss turns early, so early stopping stops well before the end."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    flip = rng.random(300) < 0.3
    y[flip] = 1 - y[flip]
    return x[:150], y[:150], x[150:], y[150:]


def _runs(project: Path) -> dict[str, Path]:
    return {_meta(run)["name"]: run for run in project.glob(".specweave/increments/*/experiments/exp-*")}


LGB_PARAMS = {"objective": "binary", "num_leaves": 15, "learning_rate": 0.5, "min_data_in_leaf": 2, "verbose": -1}


def _assert_lgb_ended(run: Path, best_iteration: int, xv, expected) -> None:
    """Completed by itself, LightGBM's best iteration (it counts from 1, the steps from 0), its booster."""
    meta = _meta(run)
    assert meta["status"] == "completed"
    assert meta["best"]["iteration"] == best_iteration - 1
    loaded = load_model(meta["id"], "model.txt")
    assert loaded.num_trees() == best_iteration  # one tree a round for a binary objective
    np.testing.assert_allclose(loaded.predict(xv), expected)


def test_lightgbm_early_stopping_ends_the_run_without_finish(project: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    from specweave.lightgbm import SpecweaveCallback

    xt, yt, xv, yv = _noisy()
    train = lgb.Dataset(xt, label=yt)
    booster = lgb.train(LGB_PARAMS, train, num_boost_round=200, valid_sets=[lgb.Dataset(xv, yv, reference=train)],
                        valid_names=["valid"],
                        callbacks=[SpecweaveCallback("lgb-es"), lgb.early_stopping(5, verbose=False)])
    run = _runs(project)["lgb-es"]
    rounds = len(_points(run)["valid/binary_logloss"])
    assert booster.best_iteration + 5 == rounds < 200
    _assert_lgb_ended(run, booster.best_iteration, xv, booster.predict(xv))

    # early stopping's check at the last round sets the best iteration after the run ended there: amended
    booster = lgb.train(LGB_PARAMS, train, num_boost_round=8, valid_sets=[lgb.Dataset(xv, yv, reference=train)],
                        callbacks=[SpecweaveCallback("lgb-last"), lgb.early_stopping(100, verbose=False)])
    run = _runs(project)["lgb-last"]
    assert len(_points(run)["valid_0/binary_logloss"]) == 8 and 0 < booster.best_iteration < 8
    _assert_lgb_ended(run, booster.best_iteration, xv, booster.predict(xv))


def test_lightgbm_sklearn_api_and_a_callback_kept_in_with(project: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    from specweave.lightgbm import SpecweaveCallback

    xt, yt, xv, yv = _noisy()
    model = lgb.LGBMClassifier(n_estimators=200, num_leaves=15, learning_rate=0.5, min_child_samples=2, verbose=-1)
    model.fit(xt, yt, eval_X=(xv,), eval_y=(yv,),
              callbacks=[SpecweaveCallback("lgb-sk"), lgb.early_stopping(5, verbose=False)])
    assert model.best_iteration_ < 100
    _assert_lgb_ended(_runs(project)["lgb-sk"], model.best_iteration_, xv, model.booster_.predict(xv))

    with SpecweaveCallback("lgb-with") as callback:  # kept by the caller: ends with the block
        for rate in (0.5, 0.3):  # the same callback in a second training ends the first run
            model = lgb.LGBMClassifier(n_estimators=200, num_leaves=15, learning_rate=rate, min_child_samples=2,
                                       verbose=-1)
            model.fit(xt, yt, eval_X=(xv,), eval_y=(yv,), callbacks=[callback, lgb.early_stopping(5, verbose=False)])
            if rate == 0.5:
                first = callback.experiment.path
        assert _meta(first)["status"] == "completed" and _meta(callback.experiment.path)["status"] == "running"
    _assert_lgb_ended(callback.experiment.path, model.best_iteration_, xv, model.booster_.predict(xv))
    assert json.loads((first / "params.json").read_text())["learning_rate"] == 0.5


def test_lightgbm_failure_is_recorded(project: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    from specweave.lightgbm import SpecweaveCallback

    xt, yt, _, _ = _noisy()

    def boom(preds, data):
        if boom.calls == 3:
            raise RuntimeError("metric went to the moon")
        boom.calls += 1
        return "fine", 0.0, False

    boom.calls = 0
    train = lgb.Dataset(xt, label=yt)
    with pytest.raises(RuntimeError, match="moon"), SpecweaveCallback("lgb-with-fail") as callback:
        lgb.train(LGB_PARAMS, train, 50, valid_sets=[train], feval=boom, callbacks=[callback])
    note = _meta(callback.experiment.path)["notes"][-1]["text"]
    assert _meta(callback.experiment.path)["status"] == "failed" and "Traceback" in note and "moon" in note
    boom.calls = 0
    try:  # an inline callback is let go once the exception (whose traceback holds it) is handled
        lgb.train(LGB_PARAMS, train, 50, valid_sets=[train], feval=boom, callbacks=[SpecweaveCallback("lgb-fail")])
    except RuntimeError:
        pass
    meta = _meta(_runs(project)["lgb-fail"])
    assert meta["status"] == "failed" and "before its last round" in meta["notes"][-1]["text"]
    assert "model.txt" not in {a["name"] for a in meta.get("artifacts", [])}


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


def test_catboost_early_stopping_ends_the_run_without_finish(project: Path) -> None:
    catboost = pytest.importorskip("catboost")
    from specweave.catboost import SpecweaveCallback

    xt, yt, xv, yv = _noisy()
    options = {"iterations": 300, "depth": 4, "learning_rate": 0.5, "verbose": False, "allow_writing_files": False,
               "thread_count": 1}
    model = catboost.CatBoostClassifier(**options)
    model.fit(xt, yt, eval_set=(xv, yv), early_stopping_rounds=5, callbacks=[SpecweaveCallback("cat-es", model=model)])
    run = _runs(project)["cat-es"]
    assert len(_points(run)["validation/Logloss"]) == model.get_best_iteration() + 6 < 300
    meta = _meta(run)
    assert meta["status"] == "completed" and meta["best"]["iteration"] == model.get_best_iteration()
    assert json.loads((run / "params.json").read_text())["depth"] == 4
    loaded = load_model(meta["id"], "model.cbm")
    assert loaded.tree_count_ == model.get_best_iteration() + 1  # use_best_model: the best iteration's model
    np.testing.assert_allclose(loaded.predict_proba(xv), model.predict_proba(xv))

    # without the model: metrics and the best iteration from the logged history (last eval set, eval metric)
    model = catboost.CatBoostClassifier(**options, eval_metric="AUC")
    model.fit(xt, yt, eval_set=[(xv[:70], yv[:70]), (xv[70:], yv[70:])], early_stopping_rounds=5,
              callbacks=[SpecweaveCallback("cat-bare")])
    meta = _meta(_runs(project)["cat-bare"])
    assert meta["status"] == "completed" and not meta.get("artifacts")
    assert meta["best"] == {"metric": "validation_1/AUC", "iteration": model.get_best_iteration(),
                            "score": pytest.approx(model.get_best_score()["validation_1"]["AUC"])}


EXIT_SCRIPT = """
import sys
import catboost, lightgbm as lgb
from tests.test_integration_boosting import LGB_PARAMS, _noisy
from specweave.catboost import SpecweaveCallback as CatBoostCallback
from specweave.lightgbm import SpecweaveCallback as LightGBMCallback

how = sys.argv[1]
xt, yt, xv, yv = _noisy()
kept = LightGBMCallback("lgb-" + how)  # held to the end of the program: its run ends at exit
booster = lgb.train(LGB_PARAMS, lgb.Dataset(xt, label=yt), 200, valid_sets=[lgb.Dataset(xv, label=yv)],
                    callbacks=[kept, lgb.early_stopping(5, verbose=False)])
model = catboost.CatBoostClassifier(iterations=300, depth=4, learning_rate=0.5, verbose=False,
                                    allow_writing_files=False, thread_count=1)
held = CatBoostCallback("cat-" + how, model=model)
model.fit(xt, yt, eval_set=(xv, yv), early_stopping_rounds=5, callbacks=[held])
print(booster.best_iteration, model.get_best_iteration())
if how == "crash":
    raise RuntimeError("the script died after training")
"""


@pytest.mark.slow
def test_callbacks_held_to_the_end_of_the_program(project: Path, run_py) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("catboost")
    for how in ("exit", "crash"):
        done = run_py(f"import sys; sys.argv[1:] = [{how!r}]\n" + EXIT_SCRIPT, project, check=how == "exit")
        lgb_best, cat_best = map(int, done.stdout.split())
        lgb_meta, cat_meta = _meta(_runs(project)["lgb-" + how]), _meta(_runs(project)["cat-" + how])
        if how == "crash":  # the tracker's own exit hook records the failure, with its traceback
            for meta in (lgb_meta, cat_meta):
                assert meta["status"] == "failed" and "the script died" in meta["notes"][-1]["text"]
            continue
        assert lgb_meta["status"] == cat_meta["status"] == "completed"
        assert (lgb_meta["best"]["iteration"], cat_meta["best"]["iteration"]) == (lgb_best - 1, cat_best)
        assert load_model(lgb_meta["id"], "model.txt").num_trees() == lgb_best
        assert load_model(cat_meta["id"], "model.cbm").tree_count_ == cat_best + 1
