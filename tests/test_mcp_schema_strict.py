"""Every tool the server lists, called on a hostile store, answers structured content that a strict
JSON Schema 2020-12 validator (formats checked) accepts against the tool's own output schema.

The store holds what people's stores hold (tests/fixtures.py, sample_store "hostile"): timestamps
without a zone and with offsets, NaN and infinities, unicode, damaged files, a crashed run, extra
keys, and where MLflow or W&B are installed, runs they keep. The calls are generated from
tools/list itself, so a tool registered by any module is covered too; each must answer at least once.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from mcp import Client
from mcp.server.mcpserver import MCPServer
from tests.fixtures import HOSTILE, REPO, init_repo, sample_store
from tests.mcp_fixtures import tool_calls

from mcp_server.server import build_server

# The formats JSON Schema 2020-12 defines; anything else (pydantic's "path") is refused by strict clients.
STANDARD_FORMATS = {"date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
                    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
                    "json-pointer", "relative-json-pointer", "regex"}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def strict_formats() -> FormatChecker:
    """2020-12's format checks, with `date-time` held to what we promise: RFC 3339 in UTC, `...Z`."""
    checker = FormatChecker()
    for name, (func, raises) in Draft202012Validator.FORMAT_CHECKER.checkers.items():
        checker.checks(name, raises)(func)

    @checker.checks("date-time")
    def utc_rfc3339(value: object) -> bool:
        return not isinstance(value, str) or bool(RFC3339_UTC.match(value))

    return checker


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=strict_formats())


def walk(node: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """(path, key, value) of every schema keyword, skipping the names under `properties`/`$defs`."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
                for name, sub in value.items():
                    found += walk(sub, f"{path}/{key}/{name}")
            else:
                found.append((path, key, value))
                found += walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            found += walk(sub, f"{path}/{i}")
    return found


def _outside_runs(root: Path) -> list[str]:
    """Runs kept by MLflow and W&B in their own increments, where those libraries are installed."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "WANDB_MODE": "offline",
           "WANDB_SILENT": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    made = []
    if importlib.util.find_spec("mlflow"):
        code = ("import mlflow\nfrom specweave import configure_mlflow\nconfigure_mlflow(increment='0045')\n"
                "with mlflow.start_run(run_name='kept-by-mlflow'):\n"
                "    mlflow.log_param('n_estimators', 100)\n"
                "    mlflow.log_metric('auc', 0.8, step=0)\n    mlflow.log_metric('auc', float('nan'), step=1)\n")
        subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True, capture_output=True, timeout=300)
        made.append("mlflow")
    if importlib.util.find_spec("wandb"):
        code = ("import wandb\nfrom specweave import configure_wandb\nconfigure_wandb(increment='0046')\n"
                "run = wandb.init(name='kept-by-wandb')\nrun.log({'auc': 0.87})\nrun.finish()\n")
        subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True, capture_output=True, timeout=300)
        made.append("wandb")
    return made


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = init_repo(tmp_path_factory.mktemp("hostile") / "project")
    sample_store(root, "hostile")
    return root, _outside_runs(root)


def test_every_tool_answers_valid_structured_content_on_a_hostile_store(hostile: tuple[Path, list[str]]) -> None:
    root, outside = hostile
    server = build_server(root)

    async def go() -> tuple[dict[str, Any], dict[str, list[tuple[dict[str, Any], Any]]]]:
        raw = {t.name: t for t in await MCPServer.list_tools(server)}  # the SDK's own, before compaction
        async with Client(server) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            incs = [row["id"] for row in (await client.call_tool("list_increments", {})).structured_content[
                "increments"]]
            refs: list[str] = []
            for inc in incs:
                page = (await client.call_tool("list_experiments", {"increment": inc, "limit": 500}))
                assert not page.is_error, page.content[0].text
                refs += [row["ref"] for row in page.structured_content["experiments"]]
            answers: dict[str, list[tuple[dict[str, Any], Any]]] = {}
            for name, tool in listed.items():
                for args in tool_calls(tool, refs, incs):
                    answers.setdefault(name, []).append((args, await client.call_tool(name, args)))
        return {"raw": raw, "listed": listed, "incs": incs, "refs": refs}, answers

    seen, answers = anyio.run(go)
    listed, raw = seen["listed"], seen["raw"]
    assert HOSTILE in seen["incs"] and len(seen["refs"]) >= 10
    for lib, inc in (("mlflow", "0045"), ("wandb", "0046")):
        if lib in outside:
            assert any(ref.startswith(inc + "/") for ref in seen["refs"]), lib
    validated: dict[str, int] = {}
    for name, results in answers.items():
        published, full = validator(listed[name].output_schema), validator(raw[name].output_schema)
        for args, result in results:
            if result.is_error:
                text = result.content[0].text
                assert "\n" not in text and "Traceback" not in text, (name, args, text)
                assert text != f"Error executing tool {name}", (name, args, "crashed")  # the SDK's word for a crash
                continue
            data = result.structured_content
            for check in (published, full):
                errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(data)]
                assert not errors, (name, args, errors[:3])
            [first, *_] = result.content
            assert first.type == "text" and first.text.strip(), (name, args)
            assert not first.text.startswith("{\n"), (name, "an indented JSON copy is no text block")
            validated[name] = validated.get(name, 0) + 1
    unanswered = sorted(set(listed) - set(validated))
    assert not unanswered, f"tools never answered on the hostile store (add samples above): {unanswered}"
    # the hostile experiments came through with their timestamps in UTC
    async def show(ref: str) -> Any:
        async with Client(build_server(root)) as client:
            return (await client.call_tool("show_experiment", {"experiment": ref})).structured_content

    naive = anyio.run(show, f"{HOSTILE.split('-')[0]}/exp-001-naive")
    assert naive["started"] == "2026-01-02T03:04:05Z" and naive["ended"] == "2026-01-02T04:00:00.500000Z"
    assert naive["notes"][0]["ts"] == "2026-01-03T10:00:00Z" and naive["extra"]["owner"] == "data-team"
    offset = anyio.run(show, "0044/exp-002-offset")
    assert offset["started"] == "2026-01-02T01:04:05Z" and offset["ended"] == "2026-01-02T09:04:05Z"
    assert offset["metrics"] == {"auc": "Infinity", "loss": "-Infinity"} and "模型" in offset["tags"]
    crashed = anyio.run(show, "0044/exp-003-crashed")
    assert crashed["status"] == "crashed"


def test_listed_schemas_are_standard_and_compact(hostile: tuple[Path, list[str]]) -> None:
    """No pydantic `format: path`, no auto titles, dedented descriptions; and what they accept did not
    narrow: the SDK's own answer for a sample still validates against the compact schema (above)."""
    root, _ = hostile

    async def go() -> list[Any]:
        async with Client(build_server(root)) as client:
            return (await client.list_tools()).tools

    for tool in anyio.run(go):
        for schema in (tool.input_schema, tool.output_schema or {}):
            Draft202012Validator.check_schema(schema)
            for where, key, value in walk(schema):
                assert not (key == "format" and value not in STANDARD_FORMATS), (tool.name, where, value)
                assert not (key == "title" and isinstance(value, str)), (tool.name, where, value)
        assert tool.description and not re.search(r"\n {4}", tool.description), tool.name


def test_read_only_server_answers_valid_content_too(hostile: tuple[Path, list[str]]) -> None:
    root, _ = hostile

    async def go() -> list[tuple[Any, Any]]:
        async with Client(build_server(root, read_only=True)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            return [(tools[name], await client.call_tool(name, args)) for name, args in (
                ("compare_experiments", {"increment": HOSTILE}), ("export_experiments", {"increment": HOSTILE}),
                ("list_experiments", {"increment": HOSTILE}), ("show_experiment", {"experiment": "0044/exp-002"}))]

    for tool, result in anyio.run(go):
        assert not result.is_error, result.content[0].text
        errors = list(validator(tool.output_schema).iter_errors(result.structured_content))
        assert not errors, (tool.name, errors[:3])
