"""Every tool through a real in-memory MCP client, in both protocol modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import Client
from mcp.shared.exceptions import MCPError
from tests.fixtures import INC, OTHER, sample_store

from mcp_server.server import build_server
from skill.storage.run_records import find_experiment

MODES = ("auto", "legacy")


@pytest.fixture
def store(project: Path) -> Path:
    return sample_store(project, "project")


def run_calls(root: Path, mode: str, calls: list[tuple[str, dict[str, Any]]], read_only: bool = False) -> list[Any]:
    async def go() -> list[Any]:
        async with Client(build_server(root, read_only=read_only), mode=mode) as client:
            return [await client.call_tool(name, args) for name, args in calls]

    return anyio.run(go)


def call(root: Path, mode: str, name: str, **args: Any) -> Any:
    return run_calls(root, mode, [(name, args)])[0]


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: Any) -> str:
    assert result.is_error
    text = result.content[0].text
    assert "\n" not in text
    return text


@pytest.mark.parametrize("mode", MODES)
def test_tools_are_listed_typed_and_annotated(store: Path, mode: str) -> None:
    async def go() -> Any:
        async with Client(build_server(store), mode=mode) as client:
            return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in anyio.run(go)}
    reads = {"list_increments", "list_experiments", "show_experiment", "get_metric_history"}
    writes = {"add_note", "tag_experiment", "log_decision", "compare_experiments", "sync_living_docs",
              "export_experiments"}
    assert reads | writes <= set(tools)
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 40, name
        assert tool.output_schema, name
        assert tool.annotations is not None, name
    for name in reads:
        assert tools[name].annotations.read_only_hint is True
    for name in writes:
        assert tools[name].annotations.read_only_hint is False
        assert tools[name].annotations.destructive_hint is False
    for name in ("tag_experiment", "sync_living_docs", "compare_experiments", "export_experiments"):
        assert tools[name].annotations.idempotent_hint is True, name
    assert len(tools) >= 10  # and the tools other modules register (tools_views, tools_diff)


@pytest.mark.parametrize("mode", MODES)
def test_read_only_mode_drops_every_write_tool(store: Path, mode: str) -> None:
    async def go() -> Any:
        async with Client(build_server(store, read_only=True), mode=mode) as client:
            return (await client.list_tools()).tools

    tools = {t.name: t for t in anyio.run(go)}
    assert {"list_experiments", "show_experiment", "compare_experiments", "export_experiments"} <= set(tools)
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True, tool.name
    assert not {"add_note", "tag_experiment", "log_decision", "sync_living_docs"} & set(tools)
    # What would write is not even an argument.
    assert "write_report" not in tools["compare_experiments"].input_schema["properties"]
    assert "path" not in tools["export_experiments"].input_schema["properties"]


@pytest.mark.parametrize("mode", MODES)
def test_list_increments(store: Path, mode: str) -> None:
    rows = ok(call(store, mode, "list_increments"))["increments"]
    assert [r["id"] for r in rows] == [INC, OTHER]
    assert rows[0]["experiment_count"] == 4
    assert rows[0]["path"] == f".specweave/increments/{INC}"


@pytest.mark.parametrize("mode", MODES)
def test_list_experiments_filters_sorts_and_pages(store: Path, mode: str) -> None:
    first, second, filtered, by_status, by_tag, other = run_calls(store, mode, [
        ("list_experiments", {"increment": "0042", "sort": "-metrics.accuracy", "limit": 2}),
        ("list_experiments", {"increment": "0042", "sort": "-metrics.accuracy", "limit": 2, "cursor": None}),
        ("list_experiments", {"increment": "0042", "where": "metrics.accuracy > 0.8 and params.max_depth <= 6"}),
        ("list_experiments", {"increment": "0042", "status": "failed"}),
        ("list_experiments", {"increment": "0042", "tag": "production-candidate"}),
        ("list_experiments", {"increment": "0043"}),
    ])
    page = ok(first)
    assert page["total"] == 4 and page["increment"] == INC
    assert [e["id"] for e in page["experiments"]] == ["exp-002-xgboost", "exp-003-lightgbm"]
    assert page["experiments"][0]["params"]["max_depth"] == 6
    assert page["experiments"][0]["metrics"]["auc"] == "NaN"
    assert page["next_cursor"]
    rest = ok(call(store, mode, "list_experiments", increment="0042", sort="-metrics.accuracy", limit=2,
                   cursor=page["next_cursor"]))
    assert [e["id"] for e in rest["experiments"]] == ["exp-001-baseline", "exp-004-neural-net"]
    assert rest["next_cursor"] is None
    assert ok(second)["experiments"] == page["experiments"]
    assert {e["id"] for e in ok(filtered)["experiments"]} == {"exp-002-xgboost", "exp-003-lightgbm"}
    assert [e["id"] for e in ok(by_status)["experiments"]] == ["exp-004-neural-net"]
    assert [e["id"] for e in ok(by_tag)["experiments"]] == ["exp-003-lightgbm"]
    assert [e["id"] for e in ok(other)["experiments"]] == ["exp-001-popularity"]


@pytest.mark.parametrize("mode", MODES)
def test_list_experiments_refuses_bad_arguments_in_one_line(store: Path, mode: str) -> None:
    cursor = ok(call(store, mode, "list_experiments", increment="0042", limit=1))["next_cursor"]
    results = run_calls(store, mode, [
        ("list_experiments", {"increment": "0099"}),
        ("list_experiments", {"where": "metrics.accuracy >"}),
        ("list_experiments", {"status": "done"}),
        ("list_experiments", {"limit": 501}),
        ("list_experiments", {"limit": "many"}),
        ("list_experiments", {"increment": "0042", "cursor": "garbage!"}),
        ("list_experiments", {"increment": "0042", "limit": 1, "cursor": cursor, "status": "completed"}),
        ("list_experiments", {"sort": "metrics.accuracy sideways"}),
        ("list_experiments", {"increment": "../../etc"}),
    ])
    texts = [error_text(r) for r in results]
    assert "0099" in texts[0] and INC in texts[0]  # names what was wrong and the candidates
    assert "filter" in texts[1]
    assert "completed" in texts[2] and "crashed" in texts[2]
    assert "500" in texts[3]
    assert "limit" in texts[4] and "'many'" in texts[4]
    assert "cursor" in texts[5]
    assert "cursor" in texts[6] and "filters" in texts[6]
    assert "asc or desc" in texts[7]
    assert "increment" in texts[8]


@pytest.mark.parametrize("mode", MODES)
def test_show_experiment_in_full_without_unpickling(store: Path, mode: str) -> None:
    detail = ok(call(store, mode, "show_experiment", experiment="exp-002", increment="0042"))
    assert detail["id"] == "exp-002-xgboost" and detail["status"] == "completed"
    assert detail["params"] == {"max_depth": 6, "n_estimators": 100, "random_seed": 1}
    assert detail["metrics"]["accuracy"] == 0.87 and detail["metrics"]["auc"] == "NaN"
    loss = detail["metric_summaries"]["loss"]
    assert loss["steps"] == 1000 and loss["max"] == pytest.approx(5.0 + 1 / 501) and loss["min"] == 0.001
    assert loss["last"] == 0.001
    assert detail["metric_summaries"]["auc"]["last"] == "NaN"
    [artifact] = detail["artifacts"]
    assert artifact["name"] == "summary.json" and artifact["size"] > 0 and len(artifact["sha256"]) == 64
    assert detail["git"]["commit"]
    assert detail["environment"]["python"]
    assert detail["ref"] == "0042/exp-002-xgboost"
    assert not detail["path"].startswith("/")
    baseline = ok(call(store, mode, "show_experiment", experiment="baseline"))
    assert [n["text"] for n in baseline["notes"]] == ["Baseline: majority class"]


@pytest.mark.parametrize("mode", MODES)
def test_show_experiment_errors_name_the_candidates(store: Path, mode: str) -> None:
    missing, bare, named, bad = run_calls(store, mode, [
        ("show_experiment", {"experiment": "exp-009"}),
        ("show_experiment", {"experiment": "exp-001"}),
        ("show_experiment", {"experiment": "exp-001", "increment": "0042"}),
        ("show_experiment", {"experiment": "../../../etc/passwd"}),
    ])
    assert "exp-009" in error_text(missing) and "exp-002-xgboost" in error_text(missing)
    # exp-001 is in both increments: a bare reference means the default (newest) increment's
    assert ok(bare)["increment"] == OTHER and ok(named)["increment"] == INC
    assert "invalid" in error_text(bad) and "expected" in error_text(bad)


@pytest.mark.parametrize("mode", MODES)
def test_metric_history_is_downsampled_keeping_extremes(store: Path, mode: str) -> None:
    history = ok(call(store, mode, "get_metric_history", experiment="xgboost", metric="loss", max_points=50))
    [series] = history["series"]
    assert series["total_points"] == 1000 and series["downsampled"] is True
    assert len(series["steps"]) <= 50 and len(series["steps"]) == len(series["values"])
    assert series["steps"][0] == 0 and series["steps"][-1] == 999
    assert 500 in series["steps"]  # the spike survives
    assert series["steps"] == sorted(series["steps"])
    everything = ok(call(store, mode, "get_metric_history", experiment="xgboost"))
    assert [s["key"] for s in everything["series"]] == ["accuracy", "auc", "loss"]
    assert everything["series"][1]["values"] == ["NaN"]
    assert len(everything["series"][2]["steps"]) <= 500
    unknown, too_few = run_calls(store, mode, [
        ("get_metric_history", {"experiment": "xgboost", "metric": "f1"}),
        ("get_metric_history", {"experiment": "xgboost", "max_points": 1}),
    ])
    assert "f1" in error_text(unknown) and "loss" in error_text(unknown)
    assert "max_points" in error_text(too_few)


@pytest.mark.parametrize("mode", MODES)
def test_add_note_and_tag_write_metadata(store: Path, mode: str) -> None:
    note, tagged, again, untagged, empty = run_calls(store, mode, [
        ("add_note", {"experiment": "lightgbm", "text": "Close second; cheaper to serve."}),
        ("tag_experiment", {"experiment": "lightgbm", "add": ["reviewed"]}),
        ("tag_experiment", {"experiment": "lightgbm", "add": ["reviewed"]}),
        ("tag_experiment", {"experiment": "lightgbm", "remove": ["production-candidate"]}),
        ("tag_experiment", {"experiment": "lightgbm"}),
    ])
    assert ok(note)["text"] == "Close second; cheaper to serve." and ok(note)["ts"]
    assert ok(tagged)["tags"] == ["production-candidate", "reviewed"]
    assert ok(again)["tags"] == ["production-candidate", "reviewed"]
    assert ok(untagged)["tags"] == ["reviewed"]
    assert "add" in error_text(empty)
    [meta_path] = (store / ".specweave" / "increments" / INC / "experiments").glob("exp-003-lightgbm.*/metadata.yaml")
    meta = yaml.safe_load(meta_path.read_text())
    assert meta["tags"] == ["production-candidate"]  # a finished run's edits go to edits.jsonl (merged by union)
    edits = [json.loads(line) for line in (meta_path.parent / "edits.jsonl").read_text().splitlines()]
    assert [e["op"] for e in edits] == ["note", "tags", "tags"]
    record = find_experiment(store, "lightgbm", INC)  # metadata.yaml with its edits folded in
    assert record.meta.tags == ["reviewed"]
    assert record.meta.notes[-1].text == "Close second; cheaper to serve."


@pytest.mark.parametrize("mode", MODES)
def test_log_decision_records_and_tags_the_selected(store: Path, mode: str) -> None:
    decision = ok(call(store, mode, "log_decision", selected="xgboost", increment="0042",
                       rationale="Best accuracy (0.87 vs 0.65 baseline).", alternatives=["lightgbm"]))
    assert decision["selected"] == "exp-002-xgboost" and decision["alternatives"] == ["exp-003-lightgbm"]
    lines = (store / ".specweave" / "increments" / INC / "experiments" / "decisions.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["rationale"] == "Best accuracy (0.87 vs 0.65 baseline)."
    shown = ok(call(store, mode, "show_experiment", experiment="xgboost"))
    assert "selected" in shown["tags"]
    assert "rationale" in error_text(call(store, mode, "log_decision", selected="xgboost", rationale=" "))


@pytest.mark.parametrize("mode", MODES)
def test_unknown_tool_lists_the_known_ones(store: Path, mode: str) -> None:
    async def go() -> MCPError:
        async with Client(build_server(store), mode=mode) as client:
            with pytest.raises(MCPError) as caught:  # the specification's answer: JSON-RPC invalid params
                await client.call_tool("delete_everything", {})
            return caught.value

    error = anyio.run(go)
    assert error.code == -32602
    assert "delete_everything" in str(error) and "show_experiment" in str(error)


def test_experiment_folder_linked_out_of_the_store_is_refused(store: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "exp-009-leak.abcdef"
    outside.mkdir(parents=True)
    (outside / "metadata.yaml").write_text("id: exp-009-leak\n")
    (store / ".specweave" / "increments" / INC / "experiments" / "exp-009-leak.abcdef").symlink_to(outside)
    for mode in MODES:
        shown = ok(call(store, mode, "show_experiment", experiment="exp-009"))  # listed as damaged, not read
        assert "symbolic link" in " ".join(shown["problems"]) and shown["params"] == {} and shown["notes"] == []
        assert error_text(call(store, mode, "add_note", experiment="exp-009", text="x"))
    assert (outside / "metadata.yaml").read_text() == "id: exp-009-leak\n"


@pytest.mark.parametrize("mode", MODES)
def test_compare_experiments_ranks_and_writes_the_report(store: Path, mode: str) -> None:
    report = store / ".specweave" / "increments" / INC / "experiments" / "comparison.md"
    dry = ok(call(store, mode, "compare_experiments", increment="0042", write_report=False))
    assert not report.exists() and dry["report_path"] is None
    result = ok(call(store, mode, "compare_experiments", increment="0042", primary_metric="accuracy"))
    assert result["best"] == "exp-002-xgboost" and result["reasons"]
    assert {r["id"] for r in result["rows"]} >= {"exp-001-baseline", "exp-002-xgboost", "exp-003-lightgbm"}
    assert "max_depth" in result["differing_params"]
    assert result["report_path"] == f".specweave/increments/{INC}/experiments/comparison.md"
    assert result["rows"][0]["id"] == "exp-002-xgboost" and result["rows"][0]["best"]  # ranked, best first
    assert "exp-002-xgboost" in report.read_text() and "exp-004-neural-net" in report.read_text()
    subset = ok(call(store, mode, "compare_experiments", increment="0042", experiments=["baseline", "lightgbm"],
                     write_report=False))
    assert {r["id"] for r in subset["rows"]} == {"exp-001-baseline", "exp-003-lightgbm"}
    bad_metric, bad_goal = run_calls(store, mode, [
        ("compare_experiments", {"increment": "0042", "primary_metric": "f1"}),
        ("compare_experiments", {"increment": "0042", "goal": "sideways"}),
    ])
    assert "f1" in error_text(bad_metric) and "accuracy" in error_text(bad_metric)
    assert "goal" in error_text(bad_goal)


@pytest.mark.parametrize("mode", MODES)
def test_export_experiments_inline_or_under_exports_only(store: Path, mode: str) -> None:
    inline = ok(call(store, mode, "export_experiments", increment="0042", format="json", sort="name"))
    rows = json.loads(inline["text"])
    assert [r["id"] for r in rows] == ["exp-001-baseline", "exp-003-lightgbm", "exp-004-neural-net",
                                       "exp-002-xgboost"]
    assert inline["path"] is None and "params.max_depth" in inline["columns"]
    written = ok(call(store, mode, "export_experiments", increment="0042", path="0042.csv"))
    assert written["path"] == ".specweave/exports/0042.csv" and written["text"] is None
    assert (store / ".specweave" / "exports" / "0042.csv").read_text().startswith("id,")
    escapes = run_calls(store, mode, [
        ("export_experiments", {"path": "../../outside.csv"}),
        ("export_experiments", {"path": "/tmp/outside.csv"}),
        ("export_experiments", {"format": "xlsx"}),
    ])
    assert all(".specweave/exports/" in error_text(r) for r in escapes[:2])
    assert "format" in error_text(escapes[2]) and "csv" in error_text(escapes[2])
    assert not (store / "outside.csv").exists() and not (store.parent / "outside.csv").exists()


@pytest.mark.parametrize("mode", MODES)
def test_sync_living_docs_dry_run_then_write_then_no_change(store: Path, mode: str) -> None:
    docs = store / ".specweave" / "docs" / "internal" / "architecture" / "ml-experiments.md"
    dry, first, second = run_calls(store, mode, [
        ("sync_living_docs", {"dry_run": True}),
        ("sync_living_docs", {}),
        ("sync_living_docs", {"increments": ["0042"]}),
    ])
    dry, first, second = ok(dry), ok(first), ok(second)
    assert dry["dry_run"] is True and "+" in dry["diff"] and INC in dry["diff"]
    assert first["changed"] is True and set(first["sections_changed"]) == {INC, OTHER}
    assert first["path"] == ".specweave/docs/internal/architecture/ml-experiments.md"
    assert "exp-002-xgboost" in docs.read_text()
    assert second["changed"] is False and second["sections_changed"] == []
    assert "0099" in error_text(call(store, mode, "sync_living_docs", increments=["0099"]))


def test_increment_linked_out_of_the_store_is_refused(store: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "0099-leak"
    (outside / "experiments").mkdir(parents=True)
    (store / ".specweave" / "increments" / "0099-leak").symlink_to(outside)
    for mode in MODES:
        for name, args in (("list_experiments", {"increment": "0099"}), ("compare_experiments", {"increment": "0099"}),
                           ("export_experiments", {"increment": "0099", "path": "x.csv"}),
                           ("sync_living_docs", {"increments": ["0099"]})):
            text = error_text(call(store, mode, name, **args))
            assert ".specweave" in text, (name, text)
    assert list(outside.rglob("*")) == [outside / "experiments"]
