"""`sw-ml ui` on a small sweep in headless Chromium: the compare tab, grouping by all params but the
seed, log axes for log-spaced params, any param or metric on the scatter axes, the default order of
the table, and a live run drawn while ten runs are selected already.

The store: 12 runs, lr in 1e-4 ... 1e-1 (log-spaced) x seed 0..2, a loss curve of 30 steps that
depends on lr only, a final accuracy. SW_SCREENSHOTS=<folder> keeps a screenshot of each view.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from skill.project import Project
from skill.tracking.track import track_experiment
from tests.fixtures import CHROMIUM, open_page, paused_run, start_ui

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (tasks.py installs it)")
INC = "0007-lr-sweep"
LRS = (1e-4, 1e-3, 1e-2, 1e-1)


def loss(lr: float, seed: int, step: int) -> float:
    return 0.3 + abs(lr - 1e-2) * 3 + 1.0 / (1 + step) + seed * 0.002


def make_sweep(root: Path) -> None:
    for lr in LRS:
        for seed in range(3):
            with track_experiment(f"lr{lr:g}-s{seed}", increment=INC, root=root, system_metrics=False) as exp:
                exp.log_params({"lr": lr, "seed": seed, "opt": "sgd" if lr < 1e-2 else "adam"})
                for step in range(30):
                    exp.log_metric("loss", loss(lr, seed, step), step=step)
                exp.log_metric("accuracy", 0.9 - abs(lr - 1e-2) - seed * 0.001)


@pytest.fixture
def sweep(project: Path) -> Iterator[tuple[str, Path]]:
    make_sweep(project)
    proc, base, token = start_ui(project)
    try:
        yield f"{base}?token={token}", project
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def shot(page: object, name: str) -> None:
    folder = os.environ.get("SW_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_table_order_compare_tab_and_a_decision_against_the_metric(sweep: tuple[str, Path], browser: object) -> None:
    url, project = sweep
    Project(project).log_decision("exp-004", "adam is what production runs")  # lr 1e-3, seed 0: not the best
    page = open_page(browser, url)
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 12
    first = rows.nth(0).inner_text()
    assert "exp-004" in first and "selected" in first  # the decision's run first, then the best
    assert "best" in rows.nth(1).inner_text() and "exp-007" in rows.nth(1).inner_text()
    heads = page.locator("#runs thead tr.groups-head").inner_text()
    assert "METRICS" in heads.upper() and "PARAMS" in heads.upper()
    assert page.locator("#runs td.param").first.get_attribute("title") is not None
    page.click("#tabs button[data-tab=compare]")
    page.wait_for_selector(".verdict")
    verdict = page.locator(".verdict").inner_text()
    assert "Best: exp-004" in verdict and "selected by a decision" in verdict
    assert "Computed best: exp-007" in verdict and "margin" in verdict
    assert page.locator("table.compare tr").first.locator("th").count() == 11  # 10 runs, none cut
    shot(page, "compare")
    assert page.errors == []  # type: ignore[attr-defined]


def test_grouping_by_all_params_but_the_seed_draws_bands_and_sums_up_the_table(sweep: tuple[str, Path],
                                                                                browser: object) -> None:
    url, _ = sweep
    page = open_page(browser, url)
    page.locator("#runs thead input[type=checkbox]").check()
    page.select_option("#group-by", label="all params but seed")
    page.wait_for_function("() => window.swCharts.curves.groups === 4")
    names = page.evaluate("() => window.swCharts.curves.figure.renderers.map(r => r.name).filter(Boolean)")
    assert sum(n.startswith("band:") for n in names) == 4 and sum(n.startswith("mean:") for n in names) == 4
    band = page.evaluate("() => { const r = window.swCharts.curves.figure.renderers.find(r => r.name && "
                         "r.name.startsWith('band:') && r.name.includes('lr=0.01 ')); const d = r.data_source.data;"
                         " return {x: Array.from(d.x), y: Array.from(d.y), lo: Array.from(d.lo),"
                         " n: Array.from(d.n)}; }")
    assert band["x"][:3] == [0, 1, 2] and set(band["n"]) == {3}
    mean0 = sum(loss(1e-2, s, 0) for s in range(3)) / 3
    assert band["y"][0] == pytest.approx(mean0) and band["lo"][0] == pytest.approx(mean0 - 0.002)  # sample std
    groups = page.locator("#groups tbody tr")
    assert groups.count() == 4
    assert groups.nth(0).inner_text().startswith("lr=0.01 opt=adam\t3")  # the best group first
    assert "±" in groups.nth(0).inner_text()
    shot(page, "grouped")
    assert page.errors == []  # type: ignore[attr-defined]


def test_log_spaced_params_get_log_axes_and_the_scatter_takes_any_column(sweep: tuple[str, Path],
                                                                         browser: object) -> None:
    url, _ = sweep
    page = open_page(browser, url)
    page.click("#tabs button[data-tab=parallel]")
    page.wait_for_function("() => window.swCharts.parallel && window.swCharts.parallel.series === 12")
    assert page.evaluate("window.swCharts.parallel.logAxes") == ["lr"]
    assert "better" in page.locator("#parallel-legend").inner_text()
    importance = page.locator("#importance").inner_text()
    assert importance.index("lr") < importance.index("opt") and "not ranked (seed)" in importance
    shot(page, "parallel")
    page.click("#tabs button[data-tab=scatter]")
    page.wait_for_function("() => window.swCharts.scatter && window.swCharts.scatter.series === 12")
    scatter = page.evaluate("() => { const s = window.swCharts.scatter; return {x: s.x, y: s.y, xLog: s.xLog,"
                            " type: s.figure.x_scale.type}; }")
    # the top param against the primary metric
    assert scatter == {"x": "p:lr", "y": "m:accuracy", "xLog": True, "type": "LogScale"}
    page.select_option("#scatter-x", "m:loss")
    page.select_option("#scatter-y", "p:opt")
    page.wait_for_function("() => window.swCharts.scatter.x === 'm:loss' && window.swCharts.scatter.y === 'p:opt'"
                           " && window.swCharts.scatter.series === 12")
    page.select_option("#scatter-x", "p:lr")
    page.wait_for_function("() => window.swCharts.scatter.xLog === true")
    page.locator("#tab-scatter input.logaxes").uncheck()  # the toggle
    page.wait_for_function("() => window.swCharts.scatter.xLog === false && "
                           "window.swCharts.scatter.figure.x_scale.type === 'LinearScale'")
    shot(page, "scatter")
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_live_run_is_drawn_while_ten_are_selected(sweep: tuple[str, Path], browser: object) -> None:
    url, project = sweep
    page = open_page(browser, url)
    page.wait_for_function("() => document.querySelector('#live').textContent.includes('live')")
    assert page.evaluate("window.swState.selection.size") == 10
    script = (
        "import sys\n"
        "from skill.tracking.track import track_experiment\n"
        f"with track_experiment('live-run', increment={INC!r}, root={str(project)!r}, system_metrics=False) as exp:\n"
        "    exp.log_params({'lr': 0.05, 'seed': 9})\n"
        "    for step in range(5):\n"
        "        exp.log_metric('loss', 2 - step / 10, step=step)\n"
        "    print('first', flush=True)\n"
        "    sys.stdin.readline()\n"
        "    for step in range(5, 9):\n"
        "        exp.log_metric('loss', 2 - step / 10, step=step)\n")
    with paused_run(project, script) as resume:
        page.wait_for_function("() => window.swCharts.curves.series === 11", timeout=20_000)
        key = page.evaluate("[...window.swState.selection].find(k => k.includes('live-run'))")
        assert key
        resume()
        page.wait_for_function("key => { const r = window.swCharts.curves.figure.renderers.find(r => r.name === "
                               "'curve:' + key); return !!r && r.data_source.data.x.length === 9; }", arg=key,
                               timeout=20_000)
    page.locator("#runs tbody a", has_text="exp-007").click()
    page.wait_for_selector("#run .metric-charts .mini[data-metric=loss] canvas", timeout=10_000)
    started = page.locator("#run table.kv").nth(1).inner_text()
    assert "started" in started and "T" not in started.split("started")[1].split("\n")[0]  # local time, no ISO
    shot(page, "run")
    assert page.errors == []  # type: ignore[attr-defined]
