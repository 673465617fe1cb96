"""What one run adds to git, side by side with dvclive (metrics and params in git, the model through DVC).

    .venv/bin/python bench/bench_repo.py [--runs 2]

The same typical script for both: 10 params, 5 metrics x 100 steps, one 5 MB model, one PNG figure.
Each tool writes into its own fresh git repository (DVC's is `dvc init`-ed), each run is followed by
`git add -A`, and the staged change is measured: files, lines added, text bytes and binary bytes
(what git would keep in history), then committed. The first run pays for one-time files (the
environment file, .gitignore rules, dvc.yaml); the second run is the steady state. Also printed:
the lines of our metadata.yaml (target: at most 60).

dvclive runs in its own virtualenv (build/bench/dvcenv, made with pip the first time) so that DVC's
dependencies never mix with ours.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import venv
from pathlib import Path

from _common import REPO, clean, git, new_repo, scratch  # noqa: E402

MODEL_BYTES = 5 * 1024 * 1024

OURS = """
import sys, numpy as np
from specweave import track_experiment
rng = np.random.default_rng(int(sys.argv[1]))
model = {"weights": rng.random(MODEL_BYTES // 8)}  # a 5 MB model
with track_experiment("gbm", increment="0042-churn") as exp:
    exp.log_params({f"param_{i}": i * 0.1 for i in range(10)})
    for step in range(100):
        exp.log_metrics({f"metric_{k}": float(rng.random()) for k in range(5)}, step=step)
    exp.save_model(model, "model.pkl")
    exp.save_artifact("roc_curve.png", PNG)
""".replace("MODEL_BYTES", str(MODEL_BYTES))

THEIRS = """
import pickle, sys, numpy as np
from dvclive import Live
rng = np.random.default_rng(int(sys.argv[1]))
model = {"weights": rng.random(MODEL_BYTES // 8)}
with Live(save_dvc_exp=False) as live:
    live.log_params({f"param_{i}": i * 0.1 for i in range(10)})
    for step in range(100):
        for k in range(5):
            live.log_metric(f"metric_{k}", float(rng.random()))
        live.next_step()
    with open("model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    live.log_artifact("model.pkl", type="model")
    with open("roc_curve.png", "wb") as handle:
        handle.write(PNG_BYTES)
    live.log_image("roc_curve.png", "roc_curve.png")
""".replace("MODEL_BYTES", str(MODEL_BYTES))


def png_bytes() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 0.1, 0.3, 1], [0, 0.6, 0.85, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def staged(repo: Path, verbose: bool = False) -> dict[str, int]:
    """Files, lines added, text bytes and binary bytes that `git add -A` staged."""
    git(repo, "add", "-A")
    if verbose:
        print(f"--- {repo.name}:\n" + git(repo, "diff", "--cached", "--numstat"), end="")
    files = lines = text_bytes = binary_bytes = 0
    for row in git(repo, "diff", "--cached", "--numstat", "-z").split("\0"):
        if not row.strip():
            continue
        added, _removed, name = row.split("\t", 2)
        blob = git(repo, "rev-parse", f":{name}").strip()
        size = int(git(repo, "cat-file", "-s", blob))
        files += 1
        if added == "-":
            binary_bytes += size
        else:
            lines += int(added)
            text_bytes += size
    git(repo, "commit", "-qm", "run", "--allow-empty")
    return {"files": files, "lines": lines, "text_bytes": text_bytes, "binary_bytes": binary_bytes}


def dvc_python(base: Path) -> Path:
    env_dir = base / "dvcenv"
    python = env_dir / "bin" / "python"
    if not python.exists():
        print("+ making build/bench/dvcenv with dvc and dvclive (first time only)", flush=True)
        venv.create(env_dir, with_pip=True)
        subprocess.run([python, "-m", "pip", "-q", "install", "dvc", "dvclive", "numpy", "pillow"], check=True)
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="print each staged file (git diff --numstat)")
    args = parser.parse_args()
    work = scratch("repo")
    base = work.parent
    png = png_bytes()
    try:
        ours, theirs = new_repo(work / "ours"), new_repo(work / "dvclive")
        (ours / "train.py").write_text(f"PNG = {png!r}\n" + OURS)
        (theirs / "train.py").write_text(f"PNG_BYTES = {png!r}\n" + THEIRS)
        env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
        python_dvc = dvc_python(base)
        dvc = python_dvc.parent / "dvc"
        subprocess.run([dvc, "init", "-q"], cwd=theirs, check=True)
        git(ours, "add", "-A"); git(ours, "commit", "-qm", "script")  # noqa: E702
        git(theirs, "add", "-A"); git(theirs, "commit", "-qm", "script + dvc init")  # noqa: E702
        rows = []
        for run in range(1, args.runs + 1):
            subprocess.run([sys.executable, "train.py", str(run)], cwd=ours, env=env, check=True)
            mine = staged(ours, args.verbose)
            subprocess.run([python_dvc, "train.py", str(run)], cwd=theirs, check=True,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
            other = staged(theirs, args.verbose)
            rows.append((run, mine, other))
        meta = sorted((ours / ".specweave").rglob("metadata.yaml"))[-1]
        print(f"\nper run: 10 params, 5 metrics x 100 steps, one {MODEL_BYTES >> 20} MB model, one PNG "
              f"({len(png):,} bytes)")
        print(f"{'run':>3}  {'tool':<10}{'files':>6}{'lines':>7}{'text bytes':>12}{'binary bytes':>14}")
        for run, mine, other in rows:
            for name, row in (("specweave", mine), ("dvclive", other)):
                print(f"{run:>3}  {name:<10}{row['files']:>6}{row['lines']:>7}{row['text_bytes']:>12,}"
                      f"{row['binary_bytes']:>14,}")
        last_mine, last_other = rows[-1][1], rows[-1][2]
        print(f"\nsteady state (run {rows[-1][0]}): lines staged {last_mine['lines']} vs dvclive "
              f"{last_other['lines']} ({last_mine['lines'] / max(last_other['lines'], 1):.2f}x); binary bytes in "
              f"git {last_mine['binary_bytes']:,} vs {last_other['binary_bytes']:,}")
        print(f"our metadata.yaml: {len(meta.read_text().splitlines())} lines (target <= 60)")
    finally:
        clean(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
