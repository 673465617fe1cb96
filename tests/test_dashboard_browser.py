"""`sw-ml ui` in a real headless Chromium: what a person sees on the page.

The server is the real command in a subprocess (`sw-ml ui --port 0`), the store is logged with
track_experiment, and the browser is Debian's chromium driven by Playwright. The page draws with
BokehJS; "drawn" below is read from the live figure's renderers (one line per run), the legend and
the table rows are read from the DOM.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from skill.views.curves import ema
from tests.fixtures import CHROMIUM, INC, REPO, open_page, paused_run, sample_store

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (tasks.py installs it)")

DRAWN = """() => { const c = window.swCharts.curves; if (!c || !c.figure) return [];
  return c.figure.renderers.filter(r => r.name && r.name.startsWith('curve:') && r.visible)
    .map(r => ({run: r.name.slice(6), y: Array.from(r.data_source.data.y), raw: Array.from(r.data_source.data.raw),
                x: Array.from(r.data_source.data.x)})); }"""


@contextmanager
def ui(root: Path) -> Iterator[str]:
    """`sw-ml ui` on `root` in a subprocess: the URL it printed (with its token), stopped afterwards."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "specweave.cli", "ui", "--port", "0", "--root", str(root)],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = None
    assert proc.stdout is not None
    for _ in range(5):
        line = proc.stdout.readline()
        if match := re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line):
            url = match.group(1)
            break
    if url is None:
        proc.kill()
        pytest.fail(f"sw-ml ui printed no URL: {proc.stderr.read() if proc.stderr else ''}")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def server(project: Path) -> Iterator[tuple[str, Path]]:
    sample_store(project, "views")
    with ui(project) as url:
        yield url, project


def test_no_token_no_page(server: tuple[str, Path]) -> None:
    url, _ = server
    base = url.split("?")[0]
    for path in ("", "api/table", "api/events", "static/app.js", "api/artifact?ref=exp-001&name=confusion_matrix.png"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(base + path, timeout=10)
        assert caught.value.code == 403
    wrong = urllib.request.Request(url.replace("token=", "token=x"))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(wrong, timeout=10)
    assert caught.value.code == 403
    rebound = urllib.request.Request(url, headers={"Host": "evil.example:80"})  # DNS rebinding: another name
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(rebound, timeout=10)
    assert caught.value.code == 403
    with urllib.request.urlopen(url, timeout=10) as ok:
        assert ok.status == 200 and b"sw-config" in ok.read()


def test_series_drawn_are_the_runs_selected_and_a_filter_changes_the_rows(server: tuple[str, Path],
                                                                          browser: object) -> None:
    url, _ = server
    page = open_page(browser, url)
    assert page.locator("#runs tbody tr").count() == 3
    assert page.locator("#metric").input_value() == "test/logloss"
    assert len(page.evaluate(DRAWN)) == 3 and page.locator("#legend .item").count() == 3
    page.locator("#runs tbody tr").nth(0).locator("input[type=checkbox]").uncheck()
    page.wait_for_function("() => window.swCharts.curves.series === 2")
    drawn = page.evaluate(DRAWN)
    checked = page.locator("#runs tbody tr.on").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert sorted(d["run"] for d in drawn) == sorted(checked) and len(checked) == 2
    page.fill("#filter", "params.max_depth > 3 and metrics.accuracy < 0.87")
    page.click("text=Filter")
    page.wait_for_function("() => document.querySelectorAll('#runs tbody tr').length === 1")
    assert "gbm-c" in page.locator("#runs tbody").inner_text()
    page.fill("#filter", "params.max_deptj > 3")
    page.press("#filter", "Enter")
    page.wait_for_function("() => document.querySelector('#filter-error').textContent.includes('max_deptj')")
    assert page.errors == []


def test_smoothing_changes_the_drawn_line_as_the_core_smooths(server: tuple[str, Path], browser: object) -> None:
    url, _ = server
    page = open_page(browser, url)
    before = page.evaluate(DRAWN)[0]
    assert before["y"] == before["raw"]
    page.locator("#smoothing").fill("0.9")
    page.wait_for_function("() => window.swState.smoothing === 0.9")
    page.wait_for_function("() => window.swCharts.curves.figure.renderers.some(r => r.name && r.name.startsWith('raw:'))")
    after = next(d for d in page.evaluate(DRAWN) if d["run"] == before["run"])
    assert after["y"] != before["y"]
    assert after["y"] == pytest.approx(ema(before["raw"], 0.9))  # the page smooths as skill/views does
    page.check("#logy")
    page.wait_for_function("() => window.swCharts.curves.figure.y_scale.type === 'LogScale'")


def test_an_artifact_image_loads_in_the_run_view(server: tuple[str, Path], browser: object) -> None:
    url, _ = server
    page = open_page(browser, url)
    page.locator("#runs tbody a").first.click()
    image = page.locator(".artifacts img")
    image.wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('.artifacts img').complete")
    assert image.evaluate("img => img.naturalWidth") == 4
    assert page.locator("#run table.stats").inner_text().count("test/logloss") == 1
    assert "45" in page.locator("#run table.stats").inner_text()  # the best step


def test_a_run_that_logs_while_the_page_is_open_appears_without_a_reload(server: tuple[str, Path],
                                                                         browser: object) -> None:
    url, project = server
    page = open_page(browser, url)
    page.wait_for_function("() => document.querySelector('#live').textContent.includes('live')")
    curve_requests: list[str] = []
    page.on("request", lambda r: curve_requests.append(r.url) if "/api/curves" in r.url else None)
    page.evaluate("window.swLoaded = performance.timeOrigin")
    script = (
        "import sys, time\n"
        "from skill.tracking.track import track_experiment\n"
        f"with track_experiment('live-run', increment={INC!r}, root={str(project)!r}) as exp:\n"
        "    exp.log_params({'max_depth': 9})\n"
        "    for step in range(3):\n"
        "        exp.log_metric('test/logloss', 0.5 - step / 10, step=step)\n"
        "    exp.flush() if hasattr(exp, 'flush') else None\n"
        "    print('first', flush=True)\n"
        "    sys.stdin.readline()\n"
        "    for step in range(3, 8):\n"
        "        exp.log_metric('test/logloss', 0.5 - step / 20, step=step)\n")
    with paused_run(project, script) as resume:
        page.wait_for_function("() => [...document.querySelectorAll('#runs tbody tr')].some(r => r.innerText.includes('live-run'))",
                               timeout=20_000)
        page.wait_for_function("() => window.swCharts.curves.series === 4", timeout=20_000)  # selected and drawn
        key = page.evaluate("[...window.swState.selection].find(k => k.includes('live-run'))")
        page.wait_for_function("key => { const c = window.swState.curves.get('test/logloss').get(key);"
                               " return !!c && c.steps.length >= 3; }", arg=key, timeout=20_000)
        fetched = len(curve_requests)
        resume()
        page.wait_for_function("key => { const r = window.swCharts.curves.figure.renderers.find(r => r.name === "
                               "'curve:' + key); return !!r && r.data_source.data.x.length === 8; }", arg=key,
                               timeout=20_000)
        assert len(curve_requests) == fetched  # the points were pushed, not re-fetched
        assert page.evaluate("window.swLoaded === performance.timeOrigin")  # the same page: no reload
        page.wait_for_function("() => [...document.querySelectorAll('#runs tbody tr')].some(r => r.innerText.includes('live-run')"
                               " && r.innerText.includes('completed'))", timeout=20_000)


def test_a_selected_run_without_a_line_is_named_with_why_on_the_live_page_and_in_the_report(
        project: Path, browser: object) -> None:
    """The curves chart never leaves a selected run out silently: a run whose only history is a damaged
    summary says it cannot be read and why; a run that never logged the metric says so."""
    import json

    from specweave import track_experiment
    from tests.fixtures import sw

    for name in ("good", "cut"):
        with track_experiment(name, increment="0042", root=project) as exp:
            for step in range(20):
                exp.log_metric("loss", 1 / (step + 1), step=step)
    cut = exp.path / "metrics.summary.json"
    raw = json.loads(cut.read_text())
    raw["metrics"]["loss"]["dt"] = raw["metrics"]["loss"]["dt"][:10]
    cut.write_text(json.dumps(raw))
    with track_experiment("other", increment="0042", root=project) as exp:
        exp.log_metric("acc", 0.5, step=0)
        exp.log_metric("acc", 0.6, step=1)
    why = "20 values but 10 times (dt)"
    legend = "() => document.querySelector('#legend').innerText"

    def check(page: object) -> None:
        page.select_option("#metric", "loss")  # type: ignore[attr-defined]
        for row in range(page.locator("#runs tbody tr").count()):  # type: ignore[attr-defined]
            box = page.locator("#runs tbody tr").nth(row).locator("input[type=checkbox]")  # type: ignore[attr-defined]
            box.check()
        page.wait_for_function(legend + ".includes('exp-003-other: no loss logged')")  # type: ignore[attr-defined]
        text = page.evaluate(legend)  # type: ignore[attr-defined]
        assert f"exp-002-cut: cannot be read: metrics.summary.json: metrics.loss: {why}" in text, text
        assert "/tmp" not in text and str(project) not in text, text  # named within the run, no absolute path
        assert [d["run"] for d in page.evaluate(DRAWN)] == [k for k in page.evaluate(  # type: ignore[attr-defined]
            "[...window.swState.selection]") if "good" in k]
        assert page.errors == []  # type: ignore[attr-defined]

    with ui(project) as url:
        check(open_page(browser, url))
    assert sw("report", "-o", "r.html", cwd=project).returncode == 0  # the report: the same notes from its bundle
    check(open_page(browser, (project / "r.html").as_uri()))


def test_a_fresh_clone_shows_curves_and_stats_from_the_summary_and_says_so(project: Path, tmp_path: Path,
                                                                           browser: object) -> None:
    """A clone without a long run's log object draws the summary's points: the legend marks the line as the
    summary's (its title: how many of the run's points), and the run's page says where its stats came from."""
    from specweave import track_experiment
    from tests.fixtures import git

    with track_experiment("long", increment="0042", root=project) as exp:
        for step in range(2000):
            exp.log_metric("loss", 1 / (step + 1) + (step * 7919 % 100) / 1e4, step=step)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a long run")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True, capture_output=True)
    with ui(clone) as url:
        page = open_page(browser, url)
        page.wait_for_function("() => window.swCharts.curves.series === 1")
        item = page.locator("#legend .item").first
        assert item.inner_text().endswith("· summary")
        title = item.get_attribute("title")
        assert "of the run's 2000 points, from git's summary" in title and "sw-ml artifacts pull" in title, title
        page.locator("#runs tbody a").first.click()
        page.locator("#run .summary-note").wait_for()
        assert "sw-ml artifacts pull brings the full log" in page.locator("#run .summary-note").inner_text()
        assert "2000" in page.locator("#run table.stats").inner_text()  # the count the run logged
        assert page.errors == []
