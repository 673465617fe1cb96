"""transformers Trainer: a tiny BERT built from a config trains a few steps with SpecweaveCallback."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from skill.storage.run_summary import full_log_bytes
import yaml

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

_SETUP = """
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from specweave.huggingface import SpecweaveCallback

torch.manual_seed(0)
config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=16, num_labels=2)
model = BertForSequenceClassification(config)
g = torch.Generator().manual_seed(0)
rows = [{"input_ids": torch.randint(0, 50, (8,), generator=g), "attention_mask": torch.ones(8, dtype=torch.long),
         "labels": torch.tensor(i % 2)} for i in range(32)]


def arguments(out, **kw):
    return TrainingArguments(output_dir=out, max_steps=6, logging_steps=2, per_device_train_batch_size=4,
                             eval_strategy="steps", eval_steps=3, report_to="none", use_cpu=True,
                             save_strategy="no", disable_tqdm=True, **kw)
"""


def _meta(path: Path) -> dict:
    return yaml.safe_load((path / "metadata.yaml").read_text())


def test_args_config_metrics_at_steps_and_the_model(project: Path, tmp_path: Path) -> None:
    namespace: dict = {}
    exec(_SETUP, namespace)  # noqa: S102 - the same code the failure test runs in a subprocess
    from transformers import Trainer

    from specweave import load_model
    from specweave.huggingface import SpecweaveCallback

    callback = SpecweaveCallback("bert-tiny", log_model=True)
    trainer = Trainer(model=namespace["model"], args=namespace["arguments"](str(tmp_path / "out")),
                      train_dataset=namespace["rows"], eval_dataset=namespace["rows"][:8], callbacks=[callback])
    trainer.train()
    exp = callback.experiment
    params = json.loads((exp.path / "params.json").read_text())
    assert params["args.max_steps"] == 6 and params["args.logging_steps"] == 2
    assert params["model.hidden_size"] == 16 and params["model_class"] == "BertForSequenceClassification"
    points = [json.loads(line) for line in full_log_bytes(exp.path).decode().splitlines()]
    steps = {key: [p["step"] for p in points if p["key"] == key] for key in ("loss", "eval_loss", "learning_rate")}
    assert steps == {"loss": [2, 4, 6], "eval_loss": [3, 6], "learning_rate": [2, 4, 6]}
    assert any(p["key"] == "train_runtime" for p in points)
    # Trainer repeats the epoch in each log of a step (training, evaluation, the final summary): one point a step
    assert [p["step"] for p in points if p["key"] == "epoch"] == [2, 3, 4, 6]
    meta = _meta(exp.path)
    assert meta["status"] == "completed" and meta["source"] == "transformers"
    model = load_model(exp.id, "model.pt")
    assert type(model).__name__ == "BertForSequenceClassification" and model.config.hidden_size == 16


def test_evaluate_alone_is_a_run_and_a_second_evaluate_joins_it(project: Path, tmp_path: Path) -> None:
    """Evaluating a trained model without train() (as MLflow's and W&B's callbacks, which open their run at
    the first log, record it) is a run of its own: args and config as params, eval metrics, ended."""
    namespace: dict = {}
    exec(_SETUP, namespace)  # noqa: S102
    from transformers import Trainer

    from specweave.huggingface import SpecweaveCallback

    callback = SpecweaveCallback("bert-eval")
    trainer = Trainer(model=namespace["model"], args=namespace["arguments"](str(tmp_path / "out")),
                      eval_dataset=namespace["rows"][:8], callbacks=[callback])
    first = trainer.evaluate()
    exp = callback.experiment
    assert exp is not None and _meta(exp.path)["status"] == "completed"
    params = json.loads((exp.path / "params.json").read_text())
    assert params["args.max_steps"] == 6 and params["model_class"] == "BertForSequenceClassification"
    trainer.evaluate(metric_key_prefix="again")
    assert callback.experiment is exp  # one run for the model's evaluations
    points = [json.loads(line) for line in full_log_bytes(exp.path).decode().splitlines()]
    assert [(p["key"], p["step"], p["value"]) for p in points if p["key"] == "eval_loss"] == \
        [("eval_loss", 0, first["eval_loss"])]
    assert [p["key"] for p in points if p["key"] == "again_loss"] == ["again_loss"]
    assert [p.name for p in (project / ".specweave").glob("increments/*/experiments/exp-*")] == [exp.path.name]


@pytest.mark.slow
def test_an_exception_in_training_marks_the_run_failed_with_its_traceback(project: Path, run_py,
                                                                            tmp_path: Path) -> None:
    code = _SETUP + textwrap.dedent("""
        class Exploding(Trainer):
            def training_step(self, model, inputs, num_items_in_batch=None):
                if self.state.global_step == 3:
                    raise FloatingPointError("loss is nan")
                return super().training_step(model, inputs, num_items_in_batch)

        Exploding(model=model, args=arguments("out"), train_dataset=rows, eval_dataset=rows[:8],
                  callbacks=[SpecweaveCallback("boom")]).train()
    """)
    done = run_py(code, project, env={"HOME": str(tmp_path / "home")}, check=False, timeout=300)
    assert done.returncode != 0 and "loss is nan" in done.stderr
    (run,) = project.glob(".specweave/increments/*/experiments/exp-*")
    meta = _meta(run)
    assert meta["status"] == "failed"
    assert "FloatingPointError: loss is nan" in meta["notes"][-1]["text"]
    assert "Traceback" in meta["notes"][-1]["text"] and "training_step" in meta["notes"][-1]["text"]
    assert [json.loads(line)["step"] for line in full_log_bytes(run).decode().splitlines()
            if json.loads(line)["key"] == "loss"] == [2]


def test_only_the_main_process_writes(project: Path, tmp_path: Path) -> None:
    """A process that is not the world's main one (its TrainerState says so) opens no run and logs nothing."""
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from specweave.huggingface import SpecweaveCallback

    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True)
    callback = SpecweaveCallback("other-rank", log_model=True)
    for main in (False, True):
        state = TrainerState(is_world_process_zero=main, global_step=1, epoch=0.5)
        callback.on_train_begin(args, state, TrainerControl(), model=torch.nn.Linear(2, 2))
        callback.on_log(args, state, TrainerControl(), logs={"loss": 0.5})
        callback.on_train_end(args, state, TrainerControl(), model=torch.nn.Linear(2, 2))
        runs = list(project.glob(".specweave/increments/*/experiments/exp-*"))
        assert len(runs) == int(main)
    points = [json.loads(line) for line in full_log_bytes(runs[0]).decode().splitlines()]
    assert sorted((p["key"], p["step"], p["value"]) for p in points) == [("epoch", 1, 0.5), ("loss", 1, 0.5)]
