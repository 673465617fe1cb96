"""track_artifacts: files written in the block become recorded artifacts of an experiment."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from skill.errors import InvalidInput, NotFound, UnsafePath
from skill.project import Project
from skill.analysis.listing import list_experiments
from skill.storage.run_records import find_experiment
from skill.tracking.track import track_experiment
from skill.workflows.artifact_capture import track_artifacts


def _staging(project: Path) -> list[Path]:
    return list((project / ".specweave" / "cache" / "staging").glob("*"))


def test_files_written_into_the_folder_are_recorded_in_an_open_experiment(project: Path) -> None:
    with track_experiment("xgboost-v1") as exp:
        with track_artifacts(exp) as out:
            (out / "requirements.txt").write_text("scikit-learn\n")
            (out / "plots").mkdir()
            (out / "plots" / "roc_curve.png").write_bytes(b"\x89PNG fake")
            saved = out.save("config.yaml", {"lr": 0.1})
            assert saved.format == "yaml" and (exp.path / "config.yaml").exists()  # save() is immediate
    record = find_experiment(project, exp.id)
    names = {a.name: a for a in record.meta.artifacts}
    assert set(names) == {"requirements.txt", "plots/roc_curve.png", "config.yaml"}
    png = Project(project).artifact_path(exp.id, "plots/roc_curve.png")
    assert png.read_bytes() == b"\x89PNG fake"
    assert names["plots/roc_curve.png"].stored == "objects" and not (exp.path / "plots" / "roc_curve.png").exists()
    assert names["requirements.txt"].stored == "git" and (exp.path / "requirements.txt").is_file()
    assert names["plots/roc_curve.png"].sha256 == hashlib.sha256(b"\x89PNG fake").hexdigest()
    assert _staging(project) == []  # the staging folder is gone


def test_a_figure_saved_by_matplotlib(project: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().plot([0, 1], [0, 1])
    with track_experiment("plots") as exp, track_artifacts(exp, prefix="eval") as out:
        figure.savefig(out / "confusion_matrix.png")
    assert Project(project).artifact_path(exp.id, "eval/confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert [a.name for a in exp.metadata.artifacts] == ["eval/confusion_matrix.png"]


def test_adding_artifacts_to_an_ended_experiment_by_reference(project: Path) -> None:
    with track_experiment("baseline") as exp:
        exp.save_model({"w": 1}, "model.pkl")
    with track_artifacts("exp-001") as out:
        (out / "report.md").write_text("# late evaluation\n")
    record = find_experiment(project, "exp-001")
    assert [a.name for a in record.meta.artifacts] == ["model.pkl", "report.md"]
    assert record.status == "completed" and (record.path / "report.md").read_text() == "# late evaluation\n"


def test_no_target_uses_the_open_experiment_or_makes_one(project: Path) -> None:
    with track_experiment("open-one") as exp:
        with track_artifacts() as out:
            (out / "a.txt").write_text("a")
    assert [a.name for a in exp.metadata.artifacts] == ["a.txt"]
    with track_artifacts(name="eval-artifacts") as out:
        (out / "b.txt").write_text("b")
    made = find_experiment(project, "eval-artifacts")
    assert made.status == "completed" and [a.name for a in made.meta.artifacts] == ["b.txt"]
    with track_experiment("one") as one, track_experiment("two"):
        with pytest.raises(InvalidInput, match="several are open"):
            with track_artifacts():
                pass
    assert one.metadata.artifacts == []


def test_files_are_kept_when_the_block_fails(project: Path) -> None:
    with pytest.raises(RuntimeError):
        with track_artifacts(name="crashy") as out:
            (out / "partial.log").write_text("epoch 1 ok\n")
            raise RuntimeError("epoch 2 diverged")
    record = find_experiment(project, "crashy")
    assert record.status == "failed" and [a.name for a in record.meta.artifacts] == ["partial.log"]
    assert _staging(project) == []


def test_refusals(project: Path) -> None:
    with track_experiment("running-elsewhere"):
        with pytest.raises(InvalidInput, match="still open"):
            with track_artifacts("running-elsewhere"):
                pass
    with pytest.raises(NotFound):
        with track_artifacts("exp-099"):
            pass
    with pytest.raises(UnsafePath):
        with track_artifacts(name="x", prefix="../outside"):
            pass
    with pytest.raises(InvalidInput, match="target"):
        with track_artifacts(42):  # type: ignore[arg-type]
            pass
    with track_experiment("reserved") as exp:
        with pytest.raises(InvalidInput, match="experiment's own files"):
            with track_artifacts(exp) as out:
                (out / "params.json").write_text("{}")
    assert [r.name for r in list_experiments(project)] == ["running-elsewhere", "reserved"]


def test_usable_as_a_decorator(project: Path) -> None:
    with track_experiment("decorated") as exp:
        @track_artifacts(exp)
        def evaluate() -> str:
            return "done"

        assert evaluate() == "done"
    assert exp.status == "completed"
