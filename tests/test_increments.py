"""Root discovery and increment resolution, as SpecWeave lays projects out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill.errors import AmbiguousReference, InvalidInput, NotFound
from skill.storage.increments import list_increments, resolve_increment
from skill.storage.paths import find_root
from specweave import track_experiment


def make_increment(root: Path, inc_id: str, group: str | None = None, title: str | None = None) -> Path:
    base = root / ".specweave/increments"
    path = base / group / inc_id if group else base / inc_id
    path.mkdir(parents=True)
    if title:
        (path / "spec.md").write_text(f"---\ntitle: {title}\nstatus: active\n---\n# Spec\n")
    return path


def test_root_from_argument_env_and_walk_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    (project / ".specweave").mkdir(parents=True)
    deep = project / "src" / "models"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_root() == project.resolve()
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(other))
    assert find_root() == other.resolve()
    monkeypatch.setenv("SPECWEAVE_ROOT", str(project))
    assert find_root() == project.resolve()
    assert find_root(tmp_path) == tmp_path.resolve()


def test_walk_up_stops_at_git_top_when_no_store(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = project / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)
    assert find_root() == project
    with track_experiment("from-subdir") as exp:
        pass
    assert exp.path.is_relative_to(project / ".specweave")


def test_resolution_by_prefix_full_id_slug_and_numbers(tmp_path: Path) -> None:
    make_increment(tmp_path, "0041-data-cleanup")
    make_increment(tmp_path, "0042-recommendation-model", title="Recommendation Model")
    make_increment(tmp_path, "0042A-recommendation-hotfix")
    assert resolve_increment(tmp_path, "0042").id == "0042-recommendation-model"
    assert resolve_increment(tmp_path, "42").id == "0042-recommendation-model"
    assert resolve_increment(tmp_path, "0042A").id == "0042A-recommendation-hotfix"
    assert resolve_increment(tmp_path, "0041-data-cleanup").id == "0041-data-cleanup"
    assert resolve_increment(tmp_path, "data-cleanup").id == "0041-data-cleanup"
    assert resolve_increment(tmp_path, "0042").title == "Recommendation Model"
    assert resolve_increment(tmp_path, "0041").title == "Data Cleanup"
    with pytest.raises(NotFound) as info:
        resolve_increment(tmp_path, "0099")
    assert "0041-data-cleanup" in str(info.value)
    for bad in ("../0042", "/etc", "0042/../..", "DROP TABLE"):
        with pytest.raises(InvalidInput):
            resolve_increment(tmp_path, bad)


def test_duplicate_numbers_are_ambiguous(tmp_path: Path) -> None:
    make_increment(tmp_path, "0050-a")
    make_increment(tmp_path, "0050-b")
    with pytest.raises(AmbiguousReference) as info:
        resolve_increment(tmp_path, "0050")
    assert "0050-a" in str(info.value) and "0050-b" in str(info.value)


@pytest.mark.parametrize("state", [{"ids": ["0041-data-cleanup"]}, {"id": "0041-data-cleanup"}])
def test_active_increment_then_newest(tmp_path: Path, state: dict) -> None:
    make_increment(tmp_path, "0041-data-cleanup")
    make_increment(tmp_path, "0042-recommendation-model")
    assert resolve_increment(tmp_path).id == "0042-recommendation-model"  # newest
    (tmp_path / ".specweave/state").mkdir(parents=True)
    (tmp_path / ".specweave/state/active-increment.json").write_text(json.dumps(state))
    assert resolve_increment(tmp_path).id == "0041-data-cleanup"


def test_grouped_increments_are_readable(tmp_path: Path) -> None:
    make_increment(tmp_path, "0001-old", group="_archive")
    make_increment(tmp_path, "0002-dropped", group="_abandoned")
    make_increment(tmp_path, "0003-waiting", group="_paused")
    make_increment(tmp_path, "0004-live")
    groups = {inc.id: inc.group for inc in list_increments(tmp_path)}
    assert groups == {"0001-old": "_archive", "0002-dropped": "_abandoned", "0003-waiting": "_paused",
                      "0004-live": None}
    assert resolve_increment(tmp_path, "0001").group == "_archive"
    assert resolve_increment(tmp_path).id == "0004-live"


def test_zero_config_creates_store_and_says_where_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SPECWEAVE_QUIET")
    monkeypatch.chdir(tmp_path)
    with track_experiment("first"):
        pass
    with track_experiment("second"):
        pass
    err = capsys.readouterr().err
    assert err.count("specweave: logging experiments to .specweave/increments/0001-experiments/experiments/") == 1
    assert "(created)" in err
    assert [i.experiment_count for i in list_increments(tmp_path)] == [2]


def test_a_missing_numbered_increment_is_created(tmp_path: Path) -> None:
    make_increment(tmp_path, "0041-data-cleanup")
    with track_experiment("x", increment="0042", root=tmp_path) as exp:
        pass
    assert exp.increment == "0042-experiments"
    with track_experiment("y", increment="0043-ranking", root=tmp_path) as exp2:
        pass
    assert exp2.increment == "0043-ranking"


def test_walk_up_never_crosses_into_an_enclosing_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".specweave").mkdir()
    inner = tmp_path / "vendor" / "other-repo"
    (inner / ".git").mkdir(parents=True)
    (inner / "src").mkdir()
    monkeypatch.chdir(inner / "src")
    assert find_root() == inner.resolve()
