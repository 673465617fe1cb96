"""Bytes per MCP answer: what a model pays to read each tool's answer (about 4 bytes a token).

    .venv/bin/python bench/bench_answers.py [--runs 1,60,500] [--points 100000]

Sizes, not timings: deterministic for a store. On generated stores of 1, 60 and 500 runs (one logged
run with 10 params, cloned with their own ids; tests/mcp_fixtures.clone_runs) it prints, per default
answer, the bytes of the text block and of the structured content (compact JSON), against the
budgets of issue 12; then tools/list (descriptions + input + output schemas, and the whole list),
and get_metric_history of one run of 100,000 points. Beside each figure: the same answer as the SDK
would have sent it (an indented JSON text block of the structured content), for the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, clean, scratch  # noqa: E402

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

BUDGET = 8000
SHOW_BUDGET = 6000
TOOLS_BUDGET = 12 * 1024


def nbytes(data: Any) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def indented(data: Any) -> int:
    """The text block the SDK writes for a returned model: its JSON, indented by 2."""
    return len(json.dumps(data, ensure_ascii=False, indent=2).encode())


def make_store(root: Path, runs: int) -> None:
    from mcp_fixtures import clone_runs

    from skill.tracking.track import track_experiment

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    with track_experiment("run", increment="0001-bench", root=root) as exp:
        exp.log_params({f"param_{i}": i * 1.5 for i in range(10)})
        for step in range(100):
            exp.log_metrics({"loss": 1 / (step + 1), "accuracy": step / 100}, step=step)
        exp.save_artifact("notes.txt", "bench")
    if runs > 1:
        clone_runs(root, "0001-bench", runs)


def calls(root: Path, todo: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    import anyio
    from mcp import Client

    from mcp_server.server import build_server

    async def go() -> list[Any]:
        async with Client(build_server(root)) as client:
            out = [await client.call_tool(name, args) for name, args in todo]
            return [(await client.list_tools()).tools, *out]

    return anyio.run(go)


def line(label: str, text: int, structured: int, before: int, budget: int | None) -> str:
    verdict = "no budget" if budget is None else f"budget {budget:,}: {'ok' if max(text, structured) <= budget else 'OVER'}"
    return (f"  {label:<22} text {text:>7,} B  structured {structured:>7,} B  ({verdict}; "
            f"the SDK's indented text block would be {before:,} B, {before / max(text, 1):.1f}x)")


def answer_sizes(result: Any) -> tuple[int, int, int]:
    if result.is_error:
        raise SystemExit(f"error: {result.content[0].text}")
    text = sum(len(c.text.encode()) for c in result.content if c.type == "text")
    return text, nbytes(result.structured_content), indented(result.structured_content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1,60,500", help="store sizes, comma-separated")
    parser.add_argument("--points", type=int, default=100_000, help="points of the long metric history")
    args = parser.parse_args()
    os.environ["SPECWEAVE_QUIET"] = "1"
    failed = False
    tools = None
    for runs in [int(n) for n in args.runs.split(",")]:
        root = scratch(f"answers-{runs}")
        try:
            make_store(root, runs)
            middle = f"exp-{max(1, runs // 2):03d}"
            todo = [("list_increments", {}), ("list_experiments", {}), ("compare_experiments", {}),
                    ("show_experiment", {"experiment": middle}), ("get_metric_history", {"experiment": middle}),
                    ("export_experiments", {"format": "csv"})]
            tools, *results = calls(root, todo)
            print(f"store of {runs} run(s):")
            for (name, _), result in zip(todo, results, strict=True):
                text, structured, before = answer_sizes(result)
                # an export is the whole increment by request: its text block is cut at the budget, not its data
                budget = None if name == "export_experiments" else SHOW_BUDGET if name == "show_experiment" else BUDGET
                print(line(name, text, structured, before, budget))
                failed |= budget is not None and max(text, structured) > budget
        finally:
            clean(root)
    if tools is not None:
        parts = sum(len((t.description or "").encode()) + nbytes(t.input_schema) + nbytes(t.output_schema or {})
                    for t in tools)
        whole = nbytes([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools])
        print(f"tools/list: {len(tools)} tools, descriptions + input + output schemas {parts:,} B "
              f"(budget {TOOLS_BUDGET:,}: {'ok' if parts <= TOOLS_BUDGET else 'OVER'}); whole list {whole:,} B "
              f"(was 28.6 KB)")
        for t in tools:
            print(f"    {t.name:<22} description {len((t.description or '').encode()):>5}  input "
                  f"{nbytes(t.input_schema):>5}  output {nbytes(t.output_schema or {}):>5}")
        failed |= parts > TOOLS_BUDGET
    root = scratch("answers-history")
    try:
        from skill.tracking.track import track_experiment

        subprocess.run(["git", "init", "-q", str(root)], check=True)
        with track_experiment("long", increment="0001-long", root=root) as exp:
            for step in range(args.points):
                exp.log_metric("loss", math.sin(step / 500) + (7.0 if step == args.points // 3 else 0.0), step=step)
        _, history = calls(root, [("get_metric_history", {"experiment": "long"})])
        text, structured, before = answer_sizes(history)
        [series] = history.structured_content["series"]
        kept = args.points // 3 in series["steps"]
        print(f"get_metric_history of {args.points:,} points ({len(series['steps'])} kept, spike kept: {kept}):")
        print(line("get_metric_history", text, structured, before, BUDGET))
        failed |= max(text, structured) > BUDGET or not kept
    finally:
        clean(root)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
