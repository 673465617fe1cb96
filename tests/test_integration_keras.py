"""Keras 3 (torch backend): a one-layer model fits two epochs with SpecweaveCallback, in a subprocess."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None,
                                reason="keras with the torch backend is not installed")

FIT = '''
import json, numpy as np, keras
from specweave import load_model
from specweave.keras import SpecweaveCallback
x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)], name="tiny")
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
callback = SpecweaveCallback(log_batches=True)
model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=[callback])
loaded = load_model(callback.experiment.id, "model.keras")
same = bool(np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0)))
print(json.dumps({"path": str(callback.experiment.path), "same": same}))
'''


@pytest.mark.slow
def test_epochs_batches_params_and_the_model(project: Path, run_py, tmp_path: Path) -> None:
    done = run_py(FIT, project, env={"KERAS_BACKEND": "torch", "HOME": str(tmp_path / "home")}, timeout=300)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    run = Path(out["path"])
    assert out["same"]
    steps: dict[str, list[int]] = {}
    for line in full_log_bytes(run).decode().splitlines():
        point = json.loads(line)
        steps.setdefault(point["key"], []).append(point["step"])
    assert steps["loss"] == steps["val_loss"] == [0, 1]
    assert steps["batch/loss"] == [0, 1, 2, 3, 4, 5]  # 24 training rows / 8 = 3 batches, two epochs
    params = json.loads((run / "params.json").read_text())
    assert params["model"] == "tiny" and params["n_params"] == 4 and params["fit.epochs"] == 2
    assert params["optimizer.learning_rate"] == pytest.approx(0.05)
    meta = yaml.safe_load((run / "metadata.yaml").read_text())
    assert meta["status"] == "completed" and meta["source"] == "keras"
