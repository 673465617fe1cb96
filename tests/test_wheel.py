"""The built wheel carries prompts/, templates/ and SKILL.md, and finds them when installed elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.fixtures import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{done.stderr[-3000:]}")
    (found,) = out.glob("specweave_ml-*.whl")
    return found


def test_wheel_holds_the_data_folders(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for prompt in (REPO / "prompts").glob("*.md"):
        assert f"skill/_data/prompts/{prompt.name}" in names
    for template in (REPO / "templates").glob("*.j2"):
        assert f"skill/_data/templates/{template.name}" in names
    assert "skill/_data/SKILL.md" in names
    assert {"specweave/py.typed", "skill/py.typed", "mcp_server/py.typed"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "sw-ml = specweave.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_renders_and_serves_prompts_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import skill, skill.resources_path as r\n"
        "assert skill.__file__.startswith(%r), skill.__file__\n"
        "print(r.data_dir('templates'))\n"
        "print(r.data_dir('prompts'))\n"
        "from specweave import track_experiment, compare_experiments\n"
        "with track_experiment('a', increment='0001') as e:\n"
        "    e.log_metric('accuracy', 0.9)\n"
        "print(compare_experiments(increment='0001').markdown.splitlines()[0])\n"
    ) % str(target)
    env = {**os.environ, "PYTHONPATH": str(target), "SPECWEAVE_QUIET": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    templates, prompts, heading = done.stdout.splitlines()
    assert templates == str(target / "skill" / "_data" / "templates")
    assert prompts == str(target / "skill" / "_data" / "prompts")
    assert heading.startswith("# ")
