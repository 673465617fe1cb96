"""Parameter importance on data whose truth is known by construction (skill.analysis.importance)."""

from __future__ import annotations

import math
import random
from pathlib import Path

from tests.fixtures import make_increment, write_experiment
from skill.project import Project
from skill.analysis.importance import is_seed, log_spaced, param_importance
from skill.workflows.importance_table import render_table


def random_search(n: int = 200, seed: int = 7) -> tuple[list[dict], list[float]]:
    """A random search where only lr drives the loss (a bowl in log10(lr), bottom at 10^-2.5), plus noise:
    weight_decay and batch_size do nothing, seed is a seed."""
    rng = random.Random(seed)
    combos, losses = [], []
    for _ in range(n):
        combo = {"lr": 10 ** rng.uniform(-4, -1), "weight_decay": 10 ** rng.uniform(-6, -2),
                 "batch_size": rng.choice([32, 64, 128]), "seed": rng.randrange(1000), "optimizer": "sgd"}
        combos.append(combo)
        losses.append(0.2 + 0.1 * (math.log10(combo["lr"]) + 2.5) ** 2 + rng.gauss(0, 0.02))
    return combos, losses


def test_only_lr_matters_and_the_ranking_says_so() -> None:
    combos, losses = random_search()
    ranking = param_importance(combos, losses, greater_is_better=False)
    names = [p.param for p in ranking]
    assert names[0] == "lr" and ranking[0].importance > 0.9  # most of the share
    assert names[-2:] == ["optimizer", "seed"] or names[-2:] == ["seed", "optimizer"]
    seed = next(p for p in ranking if p.param == "seed")
    assert seed.excluded == "seed" and seed.importance == 0.0
    assert next(p for p in ranking if p.param == "optimizer").excluded == "constant"
    lr = ranking[0]
    assert lr.log_scale and lr.levels == 200
    best = min(range(len(losses)), key=losses.__getitem__)
    assert lr.best_value == combos[best]["lr"]  # the best run's value, a setting a person can use
    assert abs(lr.correlation) < 0.3 and lr.effect_size > 0.8  # a bowl: the correlation says little, the bins all
    assert sum(p.importance for p in ranking) == 1.0 or math.isclose(sum(p.importance for p in ranking), 1.0)
    for noise in ("weight_decay", "batch_size"):
        assert next(p for p in ranking if p.param == noise).importance < 0.05


def test_a_monotone_effect_has_its_direction() -> None:
    combos, _ = random_search()
    losses = [math.log10(c["lr"]) * -0.1 + 1 for c in combos]  # higher lr, lower loss
    lr = next(p for p in param_importance(combos, losses, greater_is_better=False) if p.param == "lr")
    assert lr.correlation == -1.0 and lr.effect == "higher is better"
    accuracy = [-x for x in losses]
    lr = next(p for p in param_importance(combos, accuracy, greater_is_better=True) if p.param == "lr")
    assert lr.correlation == 1.0 and lr.effect == "higher is better"
    ranking = param_importance(combos, losses, greater_is_better=False)
    table = render_table(ranking, title="t", metric="loss", n_runs=200)
    assert "| 1 | lr |" in table and "not ranked (seed)" in table and "higher is better (-1.00)" in table


def test_rules_for_seeds_and_log_spacing() -> None:
    assert all(is_seed(n) for n in ("seed", "SEED", "random_state", "data_seed", "seed_split", "rng"))
    assert not any(is_seed(n) for n in ("seedling", "lr", "n_estimators"))
    assert log_spaced([1e-4, 1e-3, 1e-2]) and log_spaced([10, 100, 1000])
    assert not log_spaced([1, 9, 60]) and not log_spaced([0, 1e-3, 1]) and not log_spaced([1e-4, 1e-1])
    assert not log_spaced(["a", "b", "c"])


def test_every_face_reads_the_same_importance_from_the_core(tmp_path: Path) -> None:
    combos, losses = random_search(60)
    inc = make_increment(tmp_path, "0001-search", "Search")
    for i, (combo, loss) in enumerate(zip(combos, losses), 1):
        write_experiment(inc, i, f"run{i}", params=combo, metrics={"val_loss": loss})
    view = Project(tmp_path).parallel()
    assert view.metric == "val_loss" and view.goal == "min"
    assert view.importance[0].param == "lr" and view.importance[-1].excluded == "seed"
    assert next(a for a in view.axes if a.name == "lr").log_scale
    assert not next(a for a in view.axes if a.name == "batch_size").log_scale
    expected = param_importance([{k: c[k] for k in ("batch_size", "lr", "seed", "weight_decay")} for c in combos],
                                losses, greater_is_better=False)
    assert [(p.param, round(p.importance, 6)) for p in expected] == [(p.param, p.importance) for p in view.importance]
