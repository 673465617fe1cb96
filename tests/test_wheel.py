"""The built wheel carries prompts/, templates/, SKILL.md and the page sources (dashboard/), installs no
top-level package but skill, specweave and mcp_server, and finds its data when installed elsewhere: in a
fresh virtualenv, `sw-ml ui` serves the page and `sw-ml report` writes one from another folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import urllib.request
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
    sources = [p.relative_to(REPO).as_posix() for p in (REPO / "dashboard").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts]
    assert "dashboard/page/main.js" in sources and "dashboard/page.html" in sources
    assert {f"skill/_data/{name}" for name in sources} <= names
    assert not [n for n in names if n.endswith(".py") and n.startswith("skill/_data/")]
    tops = {n.split("/", 1)[0] for n in names if "/" in n and ".dist-info/" not in n}
    assert tops == {"skill", "specweave", "mcp_server"}, tops
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


def test_a_fresh_venv_serves_the_page_and_writes_a_report_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    """The wheel alone in a new virtualenv (its dependencies borrowed from this one through a path
    file, never the checkout): `sw-ml ui` serves the joined page script, `sw-ml report` writes a page."""
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, capture_output=True)
    python = env_dir / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                           str(wheel)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_borrowed_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(SPECWEAVE_QUIET="1", HOME=str(tmp_path / "home"))
    code = ("import skill, sys\n"
            "assert skill.__file__.startswith(sys.argv[1]), skill.__file__\n"
            "from specweave import track_experiment\n"
            "for n in (1, 2):\n"
            "    with track_experiment(f'run-{n}', increment='0001', root=sys.argv[2]) as e:\n"
            "        for step in range(5): e.log_metric('loss', 1 / (step + n), step=step)\n")
    done = subprocess.run([str(python), "-c", code, str(site), str(project)], cwd=elsewhere, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    sw_ml = str(env_dir / "bin" / "sw-ml")

    done = subprocess.run([sw_ml, "--root", str(project), "report", "-o", "r.html"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote r.html (2 runs")
    page = (elsewhere / "r.html").read_text(encoding="utf-8")
    assert '<body class="mode-report">' in page and "// ---- mcp_app.js" in page and "BokehJS" in page

    proc = subprocess.Popen([sw_ml, "--root", str(project), "ui", "--port", "0"], cwd=elsewhere, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline() + proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/)\?token=(\S+)", line)
        assert found, line + (proc.stderr.read() if proc.stderr else "")
        base, token = found.groups()
        with urllib.request.urlopen(f"{base}?token={token}", timeout=30) as answer:
            html = answer.read().decode()
        assert '<body class="mode-live">' in html and 'src="static/app.js?token=' in html
        with urllib.request.urlopen(f"{base}static/app.js?token={token}", timeout=30) as answer:
            script = answer.read().decode()
        assert "// ---- state.js" in script and script.rstrip().endswith("})();")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
