"""`sw-ml report`: one self-contained HTML file, opened from file:// in headless Chromium with every
network request refused; what a person sees there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from skill.views.curves import ema
from tests.fixtures import REPO, git, sample_store, sw

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRAWN = """() => window.swCharts.curves.figure.renderers.filter(r => r.name && r.name.startsWith('curve:'))
  .map(r => ({run: r.name.slice(6), y: Array.from(r.data_source.data.y), raw: Array.from(r.data_source.data.raw)}))"""


def test_report_goes_to_a_git_ignored_folder_by_default(project: Path) -> None:
    sample_store(project, "views")
    done = sw("report", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "wrote .specweave/reports/0042.html (3 runs" in done.stdout
    page = project / ".specweave" / "reports" / "0042.html"
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "BokehJS" in text and "BSD" in text  # the licence travels with it
    assert "http://" not in text.split("<script", 1)[0] and "cdn" not in text.lower().split("<script", 1)[0]
    assert ".specweave/reports" not in git(project, "status", "--porcelain", "--untracked-files=all")
    out = sw("report", "0042", "-o", "mine.html", cwd=project)
    assert out.returncode == 0 and (project / "mine.html").is_file()
    bad = sw("report", "0099", cwd=project)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "0099" in bad.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (tasks.py installs it)")
def test_the_report_works_offline_from_a_file(project: Path) -> None:
    from playwright.sync_api import sync_playwright

    sample_store(project, "views")
    assert sw("report", "-o", "r.html", cwd=project).returncode == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            asked: list[str] = []

            def refuse(route: object) -> None:
                asked.append(route.request.url)  # type: ignore[attr-defined]
                route.abort()  # type: ignore[attr-defined]

            page.route(lambda url: not url.startswith("file:"), refuse)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto((project / "r.html").as_uri())
            page.wait_for_function("() => window.swCharts.curves && window.swCharts.curves.series === 3")
            assert len(page.evaluate(DRAWN)) == page.locator("#runs tbody tr.on").count() == 3
            page.locator("#runs tbody tr").nth(2).locator("input[type=checkbox]").uncheck()
            page.wait_for_function("() => window.swCharts.curves.series === 2")
            page.fill("#filter", "gbm-b")
            page.press("#filter", "Enter")
            page.wait_for_function("() => document.querySelectorAll('#runs tbody tr').length === 1")
            page.fill("#filter", "")
            page.press("#filter", "Enter")
            page.wait_for_function("() => document.querySelectorAll('#runs tbody tr').length === 3")
            before = page.evaluate(DRAWN)[0]
            page.locator("#smoothing").fill("0.8")
            page.wait_for_function("() => window.swCharts.curves.figure.renderers.some(r => r.name && r.name.startsWith('raw:'))")
            after = next(d for d in page.evaluate(DRAWN) if d["run"] == before["run"])
            assert after["y"] == pytest.approx(ema(before["raw"], 0.8)) and after["y"] != before["y"]
            page.locator("#runs tbody a").first.click()
            page.locator(".artifacts img").wait_for()
            page.wait_for_function("() => document.querySelector('.artifacts img').complete")
            assert page.locator(".artifacts img").evaluate("img => img.naturalWidth") == 4
            page.click("[data-tab=parallel]")
            page.wait_for_function("() => window.swCharts.parallel && window.swCharts.parallel.series === 3")
            assert "booster" in page.locator("#importance").inner_text()
            page.click("[data-tab=compare]")
            assert "computed for the runs selected when this page was made" in page.locator("#compare").inner_text()
            page.locator("#runs tbody tr").nth(2).locator("input[type=checkbox]").check()  # back to the report's
            page.wait_for_function("() => document.querySelector('#compare').innerText.includes('Best:')")
            assert "Best: exp-001-gbm-a" in page.locator("#compare").inner_text()
            assert asked == [] and errors == []
        finally:
            browser.close()


def test_the_page_script_is_its_modules_joined_in_order() -> None:
    """Every module in dashboard/page/ is in the one script, once, in PAGE_MODULES' order; the inlined page
    (report, MCP App) fetches nothing, and the live page loads BokehJS and our one script from its server."""
    from skill.project import Project
    from skill.views.page import PAGE_MODULES

    assert sorted(PAGE_MODULES) == sorted(p.stem for p in (REPO / "dashboard" / "page").glob("*.js"))
    script, media_type = Project.page_asset("app.js")
    text = script.decode("utf-8")
    assert media_type == "text/javascript" and text.rstrip().endswith("})();")
    marks = [text.index(f"// ---- {name}.js\n") for name in PAGE_MODULES]
    assert marks == sorted(marks) and all(text.count(f"// ---- {name}.js\n") == 1 for name in PAGE_MODULES)
    page = Project.page_html("app", title="<t>", config={})
    assert ' src="' not in page and page.count("// ---- main.js") == 1 and "<title>&lt;t&gt;</title>" in page
    live = Project.page_html("live", title="t", config={}, asset_query="?token=x")
    assert [line for line in live.splitlines() if "<script src=" in line] == [
        '<script src="static/bokeh.min.js?token=x"></script>', '<script src="static/bokeh-api.min.js?token=x"></script>',
        '<script src="static/app.js?token=x"></script>']
