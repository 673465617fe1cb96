"""The MCP App: `view_experiments` bound to a `ui://` page through the SDK's Apps extension, fed by
our real server over MCP (the SDK's in-memory client, advertising MCP Apps support) and shown in
headless Chromium inside a host page written from the MCP Apps spec (2026-01-26): a sandboxed
iframe under the spec's restrictive CSP, the `ui/initialize` handshake, `tool-input` and
`tool-result` notifications, and the app's own `tools/call` proxied back to the server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from mcp_server.server import build_server
from tests.fixtures import sample_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]

# The spec's default for a resource that declares no domains (ours declares none), plus no frames.
CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; media-src 'self' data:; connect-src 'none'; frame-src 'none'; object-src 'none'; "
       "base-uri 'self'")

HOST = """<!doctype html><html><body><h1>test host</h1><script>
window.hostLog = []; window.sizes = [];
window.startHost = (html, args, result) => {
  const frame = document.createElement('iframe');
  frame.sandbox = 'allow-scripts';
  frame.style = 'width:1200px;height:700px;border:1px solid #ccc';
  frame.srcdoc = html.replace('<head>', '<head><meta http-equiv="Content-Security-Policy" content="' + window.CSP + '">');
  const send = (m) => frame.contentWindow.postMessage(Object.assign({jsonrpc: '2.0'}, m), '*');
  window.addEventListener('message', async (e) => {
    if (e.source !== frame.contentWindow) return;
    const m = e.data; window.hostLog.push(m.method || 'response');
    if (m.method === 'ui/initialize') {
      send({id: m.id, result: {protocolVersion: '2026-01-26', hostInfo: {name: 'test-host', version: '1'},
        hostCapabilities: {serverTools: {}}, hostContext: {theme: 'light', displayMode: 'inline',
        containerDimensions: {width: 1200, maxHeight: 3000},
        styles: {variables: {'--color-text-primary': 'rgb(10, 20, 30)'}}}}});
    } else if (m.method === 'ui/notifications/initialized') {
      send({method: 'ui/notifications/tool-input', params: {arguments: args}});
      send({method: 'ui/notifications/tool-result', params: result});
    } else if (m.method === 'tools/call') {
      try { send({id: m.id, result: await window.mcpCallTool(m.params.name, m.params.arguments)}); }
      catch (err) { send({id: m.id, error: {code: -32000, message: String(err)}}); }
    } else if (m.method === 'ui/notifications/size-changed') {
      window.sizes.push(m.params.height); frame.style.height = m.params.height + 'px';
    } else if (m.id !== undefined) {
      send({id: m.id, error: {code: -32601, message: 'not supported by the test host'}});
    }
  });
  document.body.append(frame);
};
</script></body></html>"""


def dump(result: Any) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_hosts_without_apps_get_the_text_answer(project: Path) -> None:
    sample_store(project, "views")

    async def main() -> None:
        async with Client(build_server(project)) as client:
            result = await client.call_tool("view_experiments", {})
            assert result.structured_content["view"] is None and result.structured_content["runs"] == 3
            text = result.content[0].text
            assert "3 runs of 0042-recommendation-model" in text and "test/logloss min 0.106@45" in text
            tools = {t.name: t for t in (await client.list_tools()).tools}
            tool = tools["view_experiments"]
            assert tool.meta == {"ui": {"resourceUri": "ui://specweave-ml/views.html"}}
            assert len(json.dumps(dump(tool))) < 1500  # a small share of the tools/list budget
            page = (await client.read_resource("ui://specweave-ml/views.html")).contents[0]
            assert page.mime_type == APP_MIME_TYPE and page.meta["ui"]["csp"] == {"connectDomains": [],
                                                                                 "resourceDomains": []}
            assert "<script src=" not in page.text and "https://" not in page.text.split("BokehJS", 1)[0]

    anyio.run(main)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (tasks.py installs it)")
def test_the_app_draws_in_a_host_and_asks_the_server_through_it(project: Path, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    sample_store(project, "views")
    host = tmp_path / "host.html"
    host.write_text(HOST.replace("<script>", f"<script>window.CSP = {json.dumps(CSP)};", 1))

    async def main() -> None:
        async with Client(build_server(project, read_only=True), extensions=APPS) as client, \
                async_playwright() as p:
            tool = next(t for t in (await client.list_tools()).tools if t.name == "view_experiments")
            uri = tool.meta["ui"]["resourceUri"]
            html = (await client.read_resource(uri)).contents[0].text
            args = {"increment": "0042"}
            result = await client.call_tool("view_experiments", args)
            assert result.structured_content["view"]["table"]["rows"]
            calls: list[dict[str, Any]] = []

            async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
                calls.append(arguments)
                return dump(await client.call_tool(name, arguments))

            browser = await p.chromium.launch(executable_path=CHROMIUM)
            try:
                page = await browser.new_page(viewport={"width": 1300, "height": 900})
                asked: list[str] = []

                async def refuse(route: Any) -> None:
                    asked.append(route.request.url)
                    await route.abort()

                await page.route(lambda url: not url.startswith(("file:", "about:", "data:")), refuse)
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.expose_function("mcpCallTool", call_tool)
                await page.goto(host.as_uri())
                await page.evaluate("([h, a, r]) => window.startHost(h, a, r)", [html, args, dump(result)])
                await page.wait_for_function("() => document.querySelector('iframe') !== null")
                frame = page.frames[1]
                await frame.wait_for_function("() => window.swCharts && window.swCharts.curves && "
                                              "window.swCharts.curves.series === 3", timeout=20_000)
                drawn = await frame.evaluate("() => window.swCharts.curves.figure.renderers.filter(r => r.name && "
                                             "r.name.startsWith('curve:')).length")
                selected = await frame.locator("#runs tbody tr.on").count()
                assert drawn == selected == 3
                assert await frame.evaluate("() => getComputedStyle(document.documentElement)"
                                            ".getPropertyValue('--color-text-primary')") == "rgb(10, 20, 30)"
                await frame.fill("#filter", "params.max_depth > 3 and metrics.accuracy < 0.87")
                await frame.press("#filter", "Enter")
                await frame.wait_for_function("() => document.querySelectorAll('#runs tbody tr').length === 1")
                assert calls == [{"increment": "0042", "where": "params.max_depth > 3 and metrics.accuracy < 0.87"}]
                assert "gbm-c" in await frame.locator("#runs tbody").inner_text()
                log = await page.evaluate("window.hostLog")
                assert log[:2] == ["ui/initialize", "ui/notifications/initialized"] and "tools/call" in log
                assert await page.evaluate("window.sizes.length") >= 1
                assert asked == [] and errors == []
            finally:
                await browser.close()

    anyio.run(main)
