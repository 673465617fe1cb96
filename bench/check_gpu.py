"""Device check (needs an NVIDIA GPU): what only a GPU machine can show.

Run on a GPU machine with torch (and, for the second and third parts, lightning and transformers)
installed: `python bench/check_gpu.py`. It checks, each part printing one RESULT line:

1. environment capture and system metrics see the GPU: a run with system metrics every second loads the
   GPU with matrix products for a few seconds; its environment must name the GPU that `nvidia-smi`
   reports and `system/gpu0/utilization` must have risen above 0;
2. Lightning on the GPU: a one-layer module trains two epochs on `accelerator="gpu"` with
   `SpecweaveLogger(log_checkpoints="best")`; hparams, every step's loss and the best checkpoint arrive,
   and `load_model` returns the checkpoint;
3. the transformers `Trainer` on the GPU: a tiny BERT from a config trains a few steps with
   `SpecweaveCallback`; its TrainingArguments and the loss at the logging steps arrive.

Exits non-zero when any part fails. Everything is read back through the public `Project`, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SPECWEAVE_QUIET", "1")


def system_metrics(root: Path) -> bool:
    import torch

    from skill.project import Project
    from specweave import track_experiment

    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True, check=True).stdout.strip()
    print("nvidia-smi:", smi)
    with track_experiment("gpu-check", increment="0001", root=root, system_metrics=1.0) as exp:
        x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
        start, n = time.time(), 0
        while time.time() - start < 4.0:
            x @ x
            n += 1
        torch.cuda.synchronize()
        exp.log_metric("matmuls", n)
    project = Project(root)
    gpus = [g.model_dump() for g in project.experiment(exp.id).meta.gpus]
    print("environment gpus:", gpus)
    util = [v for s in project.history(exp.id, "system/gpu0/utilization").series for v in s.values]
    print("system/gpu0/utilization:", util)
    return bool(gpus) and gpus[0]["name"] in smi and bool(util) and max(util) > 0


def lightning_on_gpu(root: Path) -> bool:
    import lightning.pytorch as pl
    import torch

    from skill.project import Project
    from specweave import load_model
    from specweave.lightning import SpecweaveLogger

    class Tiny(pl.LightningModule):
        def __init__(self, lr: float = 0.05) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    x = torch.randn(48, 4, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
    logger = SpecweaveLogger("pl-gpu", increment="0001", root=str(root), log_checkpoints="best")
    ckpt = pl.callbacks.ModelCheckpoint(monitor="train_loss", mode="min", dirpath=str(root / "ckpt"))
    trainer = pl.Trainer(max_epochs=2, accelerator="gpu", devices=1, logger=logger, callbacks=[ckpt],
                         log_every_n_steps=1, enable_progress_bar=False, default_root_dir=str(root / "pl"))
    trainer.fit(Tiny(), loader)
    exp = logger.experiment
    project = Project(root)
    record = project.experiment(exp.id)
    losses = [step for s in project.history(exp.id, "train_loss").series for step in s.steps]
    models = [a.name for a in record.meta.artifacts if a.kind == "model"]
    print("lightning:", record.status, "params", record.params, "loss steps", losses, "models", models)
    loaded = load_model(exp.id, models[0], increment="0001", root=root) if models else None
    return (record.status == "completed" and record.params.get("lr") == 0.05 and len(losses) == 12
            and loaded is not None)


def transformers_on_gpu(root: Path) -> bool:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    from skill.project import Project
    from specweave.huggingface import SpecweaveCallback

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    g = torch.Generator().manual_seed(0)
    rows = [{"input_ids": torch.randint(0, 50, (8,), generator=g), "attention_mask": torch.ones(8, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(32)]
    args = TrainingArguments(output_dir=str(root / "hf"), max_steps=6, logging_steps=2, per_device_train_batch_size=4,
                             report_to="none", save_strategy="no", disable_tqdm=True)
    callback = SpecweaveCallback(name="hf-gpu", increment="0001", root=str(root))
    Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=rows,
            callbacks=[callback]).train()
    project = Project(root)
    record = [r for r in project.experiments("0001") if r.name == "hf-gpu"][0]
    steps = [step for s in project.history(record.id, "loss").series for step in s.steps]
    print("transformers:", record.status, "device", next(iter([torch.cuda.get_device_name(0)])),
          "max_steps", record.params.get("args.max_steps"), "loss steps", steps)
    return record.status == "completed" and record.params.get("args.max_steps") == 6 and steps == [2, 4, 6]


def main() -> int:
    failed = 0
    for part in (system_metrics, lightning_on_gpu, transformers_on_gpu):
        root = Path(tempfile.mkdtemp())
        try:
            ok = part(root)
        except Exception:
            traceback.print_exc()
            ok = False
        print(f"RESULT {part.__name__}:", "OK" if ok else "FAILED", flush=True)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
