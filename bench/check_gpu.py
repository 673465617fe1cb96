"""Device check (needs an NVIDIA GPU): environment capture and system metrics see the GPU.

Run on a GPU machine with torch installed: `python bench/check_gpu.py`. It
opens a run with system metrics every second, loads the GPU with matrix
products for a few seconds, and checks that the run's environment names the GPU that
`nvidia-smi` reports and that `system/gpu0/*` points landed in metrics.jsonl.
Exits non-zero when either is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SPECWEAVE_QUIET", "1")


def main() -> int:
    import torch

    from skill.storage.store import find_experiment
    from specweave import track_experiment

    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True, check=True).stdout.strip()
    print("nvidia-smi:", smi)
    root = Path(tempfile.mkdtemp())
    with track_experiment("gpu-check", increment="0001", root=root, system_metrics=1.0) as exp:
        x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
        start = time.time()
        n = 0
        while time.time() - start < 4.0:
            x @ x
            n += 1
        torch.cuda.synchronize()
        exp.log_metric("matmuls", n)
    record = find_experiment(root, exp.id)
    gpus = [g.model_dump() for g in record.meta.gpus]
    print("metadata.yaml gpus:", gpus)
    points = [json.loads(line) for line in (record.path / "metrics.jsonl").read_text().splitlines()]
    gpu_points = [(p["key"], p["value"]) for p in points if p["key"].startswith("system/gpu")]
    print("system/gpu points:", gpu_points)
    util = [v for k, v in gpu_points if k == "system/gpu0/utilization"]
    ok = bool(gpus) and gpus[0]["name"] in smi and bool(util) and max(util) > 0
    print("RESULT:", "OK" if ok else "MISSING")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
