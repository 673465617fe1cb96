"""A damaged store: the damaged experiment is listed as damaged, naming file and line; the rest works.

Also the read cache: rebuilt whenever a file changes, never trusted when damaged, plain JSON.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest
from tests.fixtures import INC_DIR, sample_store, write_experiment

from skill.analysis.compare import compare_experiments
from skill.analysis.living_docs import sync_living_docs
from skill.storage.encoding import to_jsonable
from skill.storage.index import index_path
from skill.analysis.listing import list_all_experiments, list_experiments

INC = "0042-recommendation-model"


def folder(root: Path, slug: str) -> Path:
    return next((root / ".specweave/increments" / INC / "experiments").glob(f"exp-*-{slug}.*"))


def age(root: Path, seconds: float = 60) -> None:
    """Make every file of the store look `seconds` old, so the cache may keep its entries."""
    past = time.time() - seconds
    for dirpath, _dirs, files in os.walk(root / ".specweave" / "increments"):
        for name in files:
            os.utime(Path(dirpath) / name, (past, past))
        os.utime(dirpath, (past, past))


def damage(root: Path) -> None:
    (folder(root, "xgboost") / "params.json").write_text('{"model": "xgboost",\n  "depth": }\n', encoding="utf-8")
    with (folder(root, "lightgbm") / "metrics.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"key": "accuracy", "step": 1, "va')
    (folder(root, "neural-net") / "metadata.yaml").unlink()


def test_damaged_experiments_are_listed_with_file_and_line(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    damage(tmp_path)
    records = {r.id: r for r in list_experiments(tmp_path, "0042")}
    assert len(records) == 4
    base = f".specweave/increments/{INC}/experiments"
    xgb = records["exp-002-xgboost"].problems
    assert xgb == [f"{base}/{folder(tmp_path, 'xgboost').name}/params.json:2: Expecting value"]
    lgb = records["exp-003-lightgbm"].problems
    cut = "metrics.jsonl:5: truncated last line (no newline at the end)"
    assert lgb == [f"{base}/{folder(tmp_path, 'lightgbm').name}/{cut}"]
    nn = records["exp-004-neural-net"]
    assert nn.problems == [f"{base}/{folder(tmp_path, 'neural-net').name}/metadata.yaml: missing"]
    assert nn.status == "crashed" and nn.metrics["accuracy"] == 0.85  # still read from the point log
    assert records["exp-001-baseline"].problems == []


def test_everything_else_still_compares_and_syncs(tmp_path: Path) -> None:
    sample_store(tmp_path, "seed-comparison")
    damage(tmp_path)
    c = compare_experiments(tmp_path, "0042")
    assert c.best == "exp-001-baseline"  # the only undamaged, completed one
    assert {r.id: r.marks for r in c.rows}["exp-002-xgboost"] == ["damaged"]
    assert "### Damaged files" in c.markdown and "params.json:2: Expecting value" in c.markdown
    text = sync_living_docs(tmp_path).path.read_text(encoding="utf-8")
    assert "### Damaged Records" in text and "metadata.yaml: missing" in text
    assert "- exp-002-xgboost: exp-002-xgboost" not in text and "exp-002-xgboost: xgboost" in text


def test_invalid_yaml_and_damaged_decisions(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    (folder(tmp_path, "baseline") / "metadata.yaml").write_text("id: [unclosed\nname: x\n", encoding="utf-8")
    (inc / "experiments" / "decisions.jsonl").write_text("{not json\n", encoding="utf-8")
    records = {r.id: r for r in list_experiments(tmp_path, "0042")}
    problem = records["exp-001-baseline"].problems[0]
    assert "metadata.yaml:" in problem and records["exp-001-baseline"].damaged
    c = compare_experiments(tmp_path, "0042", write_report=False)
    assert c.best == "exp-002-xgboost"
    assert any("decisions.jsonl:1" in w for w in c.warnings)


def test_cache_is_json_and_equals_a_fresh_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    write_experiment(inc, 5, "odd", metrics={"nan": float("nan"), "inf": float("inf")}, tags=["t"],
                     notes=["a note"])
    age(tmp_path)
    first = list_experiments(tmp_path, "0042")
    cache = index_path(tmp_path, INC)
    data = json.loads(cache.read_text(encoding="utf-8"))
    assert len(data["entries"]) == 5 and data["version"] == 1
    cached = list_experiments(tmp_path, "0042")
    monkeypatch.setenv("SPECWEAVE_NO_CACHE", "1")
    fresh = list_experiments(tmp_path, "0042")
    def dump(records: list) -> str:
        return json.dumps(to_jsonable([r.model_dump() for r in records]), sort_keys=True)

    assert dump(cached) == dump(fresh) == dump(first)
    assert math.isinf(cached[4].metrics["inf"]) and math.isnan(cached[4].metrics["nan"])
    assert cached[0].meta and cached[0].meta.packages == {"numpy": "2.0.0", "pandas": "3.0.0"}


def test_cache_sees_every_change(tmp_path: Path) -> None:
    inc = sample_store(tmp_path, "seed-comparison") / INC_DIR
    age(tmp_path)
    list_experiments(tmp_path, "0042")  # cache written
    assert len(json.loads(index_path(tmp_path, INC).read_text())["entries"]) == 4
    # an in-place hand edit (no rename, so the folder's mtime is unchanged)
    (folder(tmp_path, "xgboost") / "metrics.json").write_text('{"accuracy": 0.99}\n', encoding="utf-8")
    assert {r.id: r.metrics.get("accuracy") for r in list_experiments(tmp_path, "0042")}["exp-002-xgboost"] == 0.99
    # a removed experiment disappears, a new one appears
    import shutil

    shutil.rmtree(folder(tmp_path, "neural-net"))
    write_experiment(inc, 5, "catboost", metrics={"accuracy": 0.5})
    ids = [r.id for r in list_experiments(tmp_path, "0042")]
    assert ids == ["exp-001-baseline", "exp-002-xgboost", "exp-003-lightgbm", "exp-005-catboost"]
    # damage after caching is reported at once
    (folder(tmp_path, "baseline") / "params.json").write_text("{", encoding="utf-8")
    assert list_experiments(tmp_path, "0042")[0].damaged


def test_fresh_files_are_not_cached_and_a_broken_cache_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample_store(tmp_path, "seed-comparison")
    list_experiments(tmp_path, "0042")
    cache = index_path(tmp_path, INC)
    assert json.loads(cache.read_text())["entries"] == {}  # written this second: not trusted yet
    age(tmp_path)
    cache.write_text("garbage{", encoding="utf-8")
    assert len(list_experiments(tmp_path, "0042")) == 4
    assert len(json.loads(cache.read_text())["entries"]) == 4
    cache.unlink()
    monkeypatch.setenv("SPECWEAVE_NO_CACHE", "1")
    list_all_experiments(tmp_path)
    assert not cache.exists()


def test_cache_folder_is_git_ignored(project: Path) -> None:
    import subprocess

    sample_store(project, "seed-comparison")
    age(project)
    list_experiments(project, "0042")
    assert index_path(project, INC).exists()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project,
                            capture_output=True, text=True, check=True).stdout
    assert ".specweave/increments" in status and ".specweave/cache" not in status


@pytest.mark.parametrize("tail", [
    "packages:\n  numpy: 2.0.0\n  torch: 2.3.1+cu121\n  weird: '1.0'\n",
    "packages:\n  numpy: 1.0\n",  # a hand edit: YAML reads a float; both paths must agree
    "packages:\n  'true': x\n",
    "packages:\n  yes: 1.2.3\n",
    "packages:\n  a: b # comment\n",
    "packages: {}\n",
    "packages:\n  a: 'it''s'\n",
    "packages:\n  a: 1.0\nextra: [1, 2]\n",
    "packages:\n  a: b\n  c: [",  # damaged
])
def test_metadata_fast_path_reads_what_yaml_reads(tmp_path: Path, tail: str) -> None:
    from skill.errors import DamagedFile
    from skill.storage.bounded_parsing import read_yaml
    from skill.storage.run_records import read_metadata

    path = tmp_path / "metadata.yaml"
    path.write_text("schema_version: 1\nid: exp-001-a\nnotes: []\n" + tail, encoding="utf-8")
    try:
        expected = read_yaml(path)
    except DamagedFile as exc:
        with pytest.raises(DamagedFile) as info:
            read_metadata(path)
        assert str(info.value) == str(exc)
        return
    assert read_metadata(path) == expected


def test_metadata_written_by_the_tracker_takes_the_fast_path(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import skill.storage.run_records
    from skill.storage.bounded_parsing import read_yaml
    from specweave import track_experiment

    from skill.storage.encoding import dumps_yaml

    with track_experiment("fast", increment="0001-x") as exp:
        exp.log_metric("auc", 0.5)
    path = exp.path / "metadata.yaml"
    expected = read_yaml(path)

    def no_full_parse(*_args: object) -> None:
        raise AssertionError("the full YAML parse was used")

    monkeypatch.setattr(skill.storage.run_records, "read_yaml", no_full_parse)
    monkeypatch.setattr(skill.storage.run_records, "load_yaml_text", no_full_parse)
    data = skill.storage.run_records.read_metadata(path)
    assert data == expected and data["environment"]  # schema 2: the subset reader takes the whole file
    # a version-1 file (the package list inline, at its end) too
    v1 = {**expected, "schema_version": 1, "packages": {f"pkg-{i}": f"1.{i}.0" for i in range(50)}}
    v1.pop("environment")
    path.write_text(dumps_yaml(v1))
    assert skill.storage.run_records.read_metadata(path) == v1
