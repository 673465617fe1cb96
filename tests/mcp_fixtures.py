"""A small real project for the MCP tests: two increments, experiments with curves and artifacts."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skill.tracking.track import track_experiment

INC = "0042-recommendation-model"
OTHER = "0043-ranking"


def make_project(root: Path) -> Path:
    """Experiments logged through the real tracking API into `root` (a git repository)."""
    with track_experiment("baseline", increment=INC, root=root) as exp:
        exp.log_params({"strategy": "majority", "random_seed": 1})
        exp.log_metric("accuracy", 0.65)
        for step in range(20):
            exp.log_metric("loss", 1.0 / (step + 1))
        exp.log_note("Baseline: majority class")
    with track_experiment("xgboost", increment=INC, root=root) as exp:
        exp.log_params({"n_estimators": 100, "max_depth": 6, "random_seed": 1})
        for step in range(1000):
            exp.log_metric("loss", 1.0 / (step + 1) + (5.0 if step == 500 else 0.0))
        exp.log_metric("accuracy", 0.87)
        exp.log_metric("auc", math.nan)
        exp.save_artifact("summary.json", {"best_iteration": 90})
    with track_experiment("lightgbm", increment=INC, root=root) as exp:
        exp.log_params({"n_estimators": 200, "max_depth": 4})
        exp.log_metric("accuracy", 0.86)
        exp.add_tag("production-candidate")
    with track_experiment("neural-net", increment=INC, root=root) as exp:
        exp.log_params({"layers": 3})
        exp.log_metric("accuracy", 0.5)
        exp.set_status("failed")
    with track_experiment("popularity", increment=OTHER, root=root) as exp:
        exp.log_metric("accuracy", 0.18)
    return root


def tree_outside_store(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under `root` outside `.specweave/` and `.git/`."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] in (".specweave", ".git"):
            continue
        if path.is_file() or path.is_symlink():
            stat = path.lstat()
            found[rel.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


HOSTILE = "0044-hostile"


def _hand_written(inc_path: Path, folder: str, metadata: str, *, params: str | None = None,
                  metrics: str | None = None, log: str | None = None) -> None:
    """An experiment folder written by hand (or by another tool), not by the tracker."""
    path = inc_path / "experiments" / folder
    path.mkdir(parents=True)
    (path / "metadata.yaml").write_text(metadata, encoding="utf-8")
    for name, body in (("params.json", params), ("metrics.json", metrics), ("metrics.jsonl", log)):
        if body is not None:
            (path / name).write_text(body, encoding="utf-8")


def make_hostile_store(root: Path) -> Path:
    """`make_project`'s store plus an increment of what people's stores hold: hand-edited timestamps
    without a zone or with an offset, NaN and infinities, unicode everywhere, damaged files, a crashed
    run, extra keys, a decision line with a naive timestamp."""
    make_project(root)
    inc = root / ".specweave" / "increments" / HOSTILE
    (inc / "experiments").mkdir(parents=True)
    (inc / "spec.md").write_text("---\ntitle: Hostile – ünïcödé ✅\n---\n", encoding="utf-8")
    _hand_written(inc, "exp-001-naive.aaaaaa", (
        "id: exp-001-naive\nuid: aaaaaa\nname: naive\nincrement: 0044-hostile\nstatus: completed\n"
        "started: 2026-01-02 03:04:05\nended: 2026-01-02 04:00:00.5\nheartbeat: 2026-01-02 04:00:00\n"
        "notes:\n- ts: 2026-01-03 10:00:00\n  text: edited by hand\n"
        "reviewed_on: 2026-01-05 09:00:00\nowner: data-team\n"),
        params='{"lr": 0.1, "depth": 3}', metrics='{"auc": 0.8, "loss": "NaN"}',
        log='{"key": "auc", "step": 0, "ts": 1.0, "value": 0.8}\n{"key": "loss", "step": 0, "ts": 1.0, "value": "NaN"}\n')
    _hand_written(inc, "exp-002-offset.bbbbbb", (
        "id: exp-002-offset\nuid: bbbbbb\nname: offset\nincrement: 0044-hostile\nstatus: completed\n"
        "started: 2026-01-02T03:04:05+02:00\nended: 2026-01-02T03:34:05-05:30\ntags: [\"ünï\", \"模型\", \"emoji 🚀\"]\n"
        "description: \"RTL \\u202e and zero-width \\u200b, quotes \\\" and pipes |\"\n"),
        params='{"lr": "1e-3", "note": "ünïcödé"}', metrics='{"auc": "Infinity", "loss": "-Infinity"}',
        log="".join(f'{{"key": "loss", "step": {i}, "ts": {i}.0, "value": {1 / (i + 1)}}}\n' for i in range(300))
        + '{"key": "loss", "step": 300, "ts": 300.0, "value": "-Infinity"}\nnot json at all\n')
    _hand_written(inc, "exp-003-crashed.cccccc", (
        "id: exp-003-crashed\nuid: cccccc\nname: crashed\nincrement: 0044-hostile\nstatus: running\n"
        "started: 2020-01-01T00:00:00Z\nheartbeat: 2020-01-01T00:01:00Z\npid: 999999\nhost: elsewhere\n"),
        log='{"key": "loss", "step": 0, "ts": 1.0, "value": 1.0}\n')
    _hand_written(inc, "exp-004-damaged.dddddd", "id: [unclosed\n  : nope", params="{not json",
                  metrics='{"auc": 0.5')
    _hand_written(inc, "exp-005-badtime.eeeeee", (
        "id: exp-005-badtime\nuid: eeeeee\nname: badtime\nincrement: 0044-hostile\nstatus: completed\n"
        "started: not a time\n"))
    (inc / "experiments" / "decisions.jsonl").write_text(
        '{"schema_version": 1, "ts": "2026-01-20 12:00:00", "increment": "0044-hostile", '
        '"selected": "exp-001-naive", "rationale": "hand-written, naive timestamp", "alternatives": [], '
        '"metrics": {"auc": "NaN"}}\n', encoding="utf-8")
    return root


THREE = ("0001-baseline-study", "0002-feature-work", "0003-model-selection")


def make_three_increments(root: Path) -> Path:
    """Three increments, each with exp-001-baseline and exp-002-xgboost (the same bare ids in every
    one), the newest (0003) the default; 0001 and 0002, not 0003, have exp-003-tuned."""
    for n, inc in enumerate(THREE):
        for slug, acc in (("baseline", 0.6 + n / 100), ("xgboost", 0.8 + n / 100)):
            with track_experiment(slug, increment=inc, root=root) as exp:
                exp.log_params({"model": slug, "round": n})
                exp.log_metric("accuracy", acc)
    for inc in THREE[:2]:
        with track_experiment("tuned", increment=inc, root=root) as exp:
            exp.log_metric("accuracy", 0.5)
    return root


def clone_runs(root: Path, increment: str, count: int) -> list[str]:
    """`count` runs in `increment`: its one logged run, copied with their own ids and accuracies
    (a store of 60 or 500 runs in a second, for sizes; not a timing fixture)."""
    import json
    import shutil

    import yaml

    experiments = root / ".specweave" / "increments" / increment / "experiments"
    [first] = [p for p in experiments.iterdir() if p.is_dir()]
    meta = yaml.safe_load((first / "metadata.yaml").read_text(encoding="utf-8"))
    metrics = json.loads((first / "metrics.json").read_text(encoding="utf-8"))
    made = [meta["id"]]
    for n in range(2, count + 1):
        uid = f"{n:06d}".replace("0", "q")
        exp_id = f"exp-{n:03d}-{meta['name']}"
        folder = experiments / f"{exp_id}.{uid}"
        shutil.copytree(first, folder)
        (folder / "metadata.yaml").write_text(yaml.safe_dump({**meta, "id": exp_id, "uid": uid}, sort_keys=False),
                                              encoding="utf-8")
        varied = {k: (v + (n % 97) / 1000 if isinstance(v, float) else v) for k, v in metrics.items()}
        (folder / "metrics.json").write_text(json.dumps(varied), encoding="utf-8")
        made.append(exp_id)
    return made


# -- calls generated from tools/list, for tests that must cover every tool whatever registers it -----
TEXT = "ünïcödé ✅ 模型 \u202e | pipes `ticks` \"quotes\""


def _samples(name: str, schema: dict[str, Any], required: bool, refs: list[str], incs: list[str]) -> list[Any]:
    """The values tried for one argument: the store's own references where it names an experiment
    or increment, hostile text where it is free text, every enum value, both booleans."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if name in ("experiment", "selected"):
        return refs
    if name == "increment":
        return incs
    if name == "increments":
        return [incs[:1], incs]
    if name in ("experiments", "alternatives"):
        return [refs[:2]]
    if name in ("text", "rationale", "author"):
        return [TEXT]
    if name == "add":
        return [["ünï-tag ✅"]]
    if name == "remove":
        return [["not-there"]]
    if "enum" in schema:
        return [v for v in schema["enum"] if v is not None]
    if "boolean" in kinds:
        return [False, True]
    if not required:
        return []
    # a required argument of a tool this file does not know: most take experiments
    if "array" in kinds:
        return [refs[:2]]
    if "string" in kinds:
        return refs
    if "integer" in kinds or "number" in kinds:
        return [1]
    return [{}]


def tool_calls(tool: Any, refs: list[str], incs: list[str]) -> list[dict[str, Any]]:
    """Calls of a listed tool, generated from its input schema: its required arguments, then each
    argument in turn over its samples (see `_samples`)."""
    props = tool.input_schema.get("properties", {})
    required = set(tool.input_schema.get("required", []))
    base = {}
    for name in required:
        values = _samples(name, props[name], True, refs, incs)
        base[name] = values[0] if values else "x"
    calls = [base]
    for name, schema in props.items():
        for value in _samples(name, schema, name in required, refs, incs):
            calls.append({**base, name: value})
    unique = {json.dumps(c, sort_keys=True): c for c in calls}
    return list(unique.values())


# -- a server in its own process -----------------------------------------------------------------------
def server_env() -> dict[str, str]:
    """The environment for a server subprocess: this checkout importable, no token or root of the caller's."""
    base = {k: v for k, v in os.environ.items() if k not in ("SPECWEAVE_MCP_TOKEN", "SPECWEAVE_ROOT")}
    return {**base, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "SPECWEAVE_QUIET": "1"}


@contextlib.contextmanager
def http_server(root: Path, token: str) -> Iterator[str]:
    """`python -m mcp_server` over streamable HTTP on a free loopback port; yields its /mcp URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "--root", str(root), "--transport", "http",
                             "--port", str(port), "--token", token], env=server_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the server exited"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            assert time.monotonic() < deadline, "the server did not start listening"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def listed_calls(client: Any, *, answered_only: bool = False) -> list[dict[str, Any]]:
    """Calls of every listed tool over the store's own increments and references (see `tool_calls`);
    with `answered_only`, one per tool: the first the client sees answered without an error."""
    tools = (await client.list_tools()).tools
    incs = [r["id"] for r in (await client.call_tool("list_increments", {})).structured_content["increments"]]
    refs = []
    for inc in incs:
        page = await client.call_tool("list_experiments", {"increment": inc, "limit": 500})
        refs += [r["ref"] for r in page.structured_content["experiments"]]
    calls = []
    for tool in tools:
        for args in tool_calls(tool, refs, incs):
            if answered_only and (await client.call_tool(tool.name, args)).is_error:
                continue
            calls.append({"name": tool.name, "arguments": args})
            if answered_only:
                break
    return calls
