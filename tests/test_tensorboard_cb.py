"""TensorBoardCallback: a real Keras 3 fit, event files read back by TensorBoard's own reader."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from skill.integrations.tensorboard_cb import resolve_log_dir
from skill.analysis.listing import list_experiments
from skill.storage.run_summary import full_log_bytes


def _keras_backend() -> str | None:
    """A Keras backend that can run here (TensorFlow is not needed by the callback itself)."""
    if importlib.util.find_spec("keras") is None:
        return None
    for backend, module in (("torch", "torch"), ("jax", "jax"), ("tensorflow", "tensorflow")):
        if importlib.util.find_spec(module) is not None:
            return backend
    return None


FIT = """
import numpy as np, keras
from specweave import TensorBoardCallback

rng = np.random.default_rng(0)
X = rng.random((64, 4), dtype=np.float32); y = (X.sum(1) > 2).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")], name="tiny")
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
cb = TensorBoardCallback(increment="0042", log_dir=".specweave/increments/0042.../tensorboard")
assert isinstance(cb, keras.callbacks.Callback) and isinstance(cb, TensorBoardCallback)
model.fit(X, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[cb])
print(cb.run_dir)
"""


@pytest.mark.skipif(_keras_backend() is None, reason="keras with a backend (torch, jax or tensorflow) is not installed")
def test_keras_fit_writes_events_tensorboard_reads_and_mirrors_epochs(project: Path, run_py) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    done = run_py(FIT, project, env={"KERAS_BACKEND": _keras_backend()}, timeout=300)
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    inc_dir = project / ".specweave" / "increments" / "0042-experiments"
    assert run_dir == inc_dir / "tensorboard" / "exp-001-keras-tiny"  # the seed's "0042..." resolved

    (rec,) = list_experiments(project, "0042")
    assert rec.name == "keras-tiny" and rec.status == "completed"
    assert rec.params["model"] == "tiny" and rec.params["optimizer"] == "Adam" and rec.params["epochs"] == 3
    assert rec.params["total_params"] == 4 * 8 + 8 + 8 + 1
    assert rec.meta.tensorboard_dir == ".specweave/increments/0042-experiments/tensorboard/exp-001-keras-tiny"
    points = [json.loads(line) for line in full_log_bytes(rec.path).decode().splitlines()]
    mirrored = {(p["key"], p["step"]): p["value"] for p in points}
    assert {k for k, _ in mirrored} == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert sorted(s for k, s in mirrored if k == "loss") == [0, 1, 2]

    train = EventAccumulator(str(run_dir / "train"))
    train.Reload()
    val = EventAccumulator(str(run_dir / "validation"))
    val.Reload()
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    assert set(val.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    for acc, prefix in ((train, ""), (val, "val_")):
        for tag in ("epoch_loss", "epoch_accuracy"):
            events = acc.Scalars(tag)
            assert [e.step for e in events] == [0, 1, 2]
            for e in events:  # the same numbers in both places (TensorBoard stores float32)
                assert e.value == pytest.approx(mirrored[(prefix + tag[len("epoch_"):], e.step)], rel=1e-6)


def test_callback_class_imports_without_keras_and_names_the_extra(project: Path, run_py) -> None:
    code = (
        "import sys; sys.modules['keras'] = None  # as if keras were not installed\n"
        "from specweave import TensorBoardCallback, MissingExtra\n"
        "try:\n    TensorBoardCallback(increment='0042')\n"
        "except MissingExtra as exc:\n    print(exc)\n"
    )
    assert run_py(code, project).stdout.strip() == (
        "keras is not installed; install it with: pip install 'specweave-ml[keras]'")


def test_log_dir_rules(project: Path, tmp_path: Path) -> None:
    inc = project / ".specweave" / "increments" / "0042-recommendation-model"
    assert resolve_log_dir(None, project, inc) == inc / "tensorboard"
    assert resolve_log_dir(".specweave/increments/0042.../tensorboard", project, inc) == inc / "tensorboard"
    assert resolve_log_dir("logs/tb", project, inc) == Path.cwd() / "logs" / "tb"
    assert resolve_log_dir(tmp_path / "abs", project, inc) == tmp_path / "abs"
    other = resolve_log_dir(".specweave/increments/0043.../tb", project, inc)  # another increment: left as written
    assert other == project / ".specweave" / "increments" / "0043..." / "tb"
