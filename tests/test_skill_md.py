"""SKILL.md: valid Agent Skills front matter, and every name it teaches exists in the code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from skills_ref.validator import ALLOWED_FIELDS, validate

REPO = Path(__file__).resolve().parent.parent
SKILL = REPO / "SKILL.md"


def front_and_body() -> tuple[dict, str]:
    text = SKILL.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]), text[end + 5 :]


def code_blocks(body: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", body, flags=re.S)


def test_passes_the_agent_skills_validator(tmp_path: Path) -> None:
    folder = tmp_path / "experiment-tracker"
    folder.mkdir()
    shutil.copy(SKILL, folder / "SKILL.md")
    assert validate(folder) == []
    wrong = tmp_path / "other-name"
    shutil.copytree(folder, wrong)
    assert validate(wrong)  # the validator is really checking: a folder with another name fails


def test_front_matter_and_size() -> None:
    front, body = front_and_body()
    assert front["name"] == "experiment-tracker"
    assert set(front) <= ALLOWED_FIELDS
    assert 100 < len(front["description"]) <= 1024
    assert "Use it when" in front["description"]
    assert len(body.splitlines()) < 500


def test_every_facade_name_and_experiment_method_exists() -> None:
    import specweave
    from skill.tracking.experiment import Experiment

    _, body = front_and_body()
    python = "\n".join(code_blocks(body, "python"))
    imported = set()
    for names in re.findall(r"from specweave import (\([^)]*\)|[^\n]+)", python):
        names = names.strip("()")
        imported |= {n.strip() for n in names.split(",") if n.strip()}
    prose = set(re.findall(r"`(\w+)(?:\(|`)", body)) & set(specweave._EXPORTS)
    assert len(imported) >= 6
    for name in imported | prose:
        assert getattr(specweave, name) is not None, name
    for method in set(re.findall(r"\bexp\.(\w+)\(", body)):
        assert callable(getattr(Experiment, method, None)), method


def test_every_tool_prompt_resource_and_command_is_real(tmp_path: Path) -> None:
    from mcp_server.prompts import load_prompt_files
    from mcp_server.server import build_server
    from specweave.cli import build_parser

    _, body = front_and_body()
    server = build_server(tmp_path)
    tools = {t.name for t in server._tool_manager.list_tools()}
    documented = set(re.findall(r"^\| `(\w+)` \|", body, flags=re.M))
    assert documented == tools  # every tool documented, nothing documented that is not a tool
    prompts = {p.name for p in load_prompt_files()}
    assert set(re.findall(r"/ml:([\w-]+)", body)) == prompts
    templates = {t.uri_template for t in server._resource_manager.list_templates()}
    statics = {str(r.uri) for r in server._resource_manager.list_resources() if str(r.uri).startswith("specweave://")}
    assert set(re.findall(r"`(specweave://[^`]+)`", body)) == templates | statics
    parser = build_parser()
    commands = set(next(a for a in parser._actions if a.dest == "command").choices)
    used = {line.split()[1] for block in code_blocks(body, "bash") for line in block.splitlines()
            if line.startswith("sw-ml ")}
    assert used and used <= commands


def test_python_examples_run(project: Path, run_py) -> None:
    _, body = front_and_body()
    logging_block, reading_block = code_blocks(body, "python")
    prelude = (
        "import pandas as pd\n"
        "from specweave import track_experiment\n"
        "model = {'weights': [1, 2, 3]}\n"
        "frame = pd.DataFrame({'feature': ['a', 'b'], 'importance': [0.7, 0.3]})\n"
        "for name, auc in (('baseline', 0.7), ('lightgbm', 0.81)):\n"
        "    with track_experiment(name, increment='0042-recommendation-model') as e:\n"
        "        e.log_metric('auc', auc)\n"
    )
    run_py(prelude + logging_block + reading_block, project)
    inc = project / ".specweave" / "increments" / "0042-recommendation-model"
    assert (inc / "experiments" / "comparison.md").is_file()
    assert "exp-003-xgboost-depth6" in (inc / "experiments" / "decisions.jsonl").read_text()
    assert (project / "0042.csv").is_file()  # a Python user's path is theirs, like pandas' to_csv
    assert (project / ".specweave" / "docs" / "internal" / "architecture" / "ml-experiments.md").is_file()
