"""`sw-ml ui` (`python -m specweave.ui`): the views on a local web server (Starlette on uvicorn, both come with the MCP SDK).

- Loopback by default, and a token in the printed URL as Jupyter does: every request needs it (the
  query `?token=` or `Authorization: Bearer`), else 403. No cookie: a browser sends a cookie to
  every server of the same host whatever its port, so a cookie would hand the token to any other
  local server and a second dashboard would overwrite the first's. The page keeps the token it was
  opened with and sends it as a header (a query for the event stream, images and downloads, which
  cannot carry headers). The Host header must name the address served, so a page of another site
  cannot reach the server through DNS rebinding.
- Bounded: a request names at most MAX_INCREMENTS increments and MAX_RUNS runs (repeats counted
  once); every bad query is a one-line 400. Ctrl-C stops the server at once: open event streams end
  within a poll, and whatever still runs is cancelled after SHUTDOWN_S.
- Live: `/api/events` is a server-sent event stream per open page; it polls the store (a few stats
  per run) and pushes rows that changed and the points appended since the last poll, so the page
  never re-fetches a run's history to stay current.
- Read-only: the server writes nothing into the store.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from skill.errors import InvalidInput, NotFound, SpecweaveError
from skill.http_fence import (
    allowed_names,
    check_token,
    host_allowed,
    needs_token,
    new_token,
    presented_token,
    token_matches,
)
from skill.project import Project

DEFAULT_PORT = 8766
POLL_S = 0.5  # how often an open page's watch looks at the store
HEARTBEAT_S = 15.0
SHUTDOWN_S = 1  # what still runs this long after Ctrl-C is cancelled
MAX_INCREMENTS = 100  # increments one request may name (distinct)
MAX_RUNS = 1000  # runs one request may name (distinct)
MAX_DOWNLOAD = 1 << 30  # an artifact downloaded from the run page


def _split(value: str | None, what: str = "runs", limit: int = MAX_RUNS) -> list[str]:
    """A comma-separated list, each item once, at most `limit` items (else InvalidInput, a 400)."""
    items = list(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))
    if len(items) > limit:
        raise InvalidInput(what, f"{len(items)} names", f"at most {limit} distinct {what} in one request")
    return items


def _increments_of(q: Any) -> list[str]:
    return _split(q.get("increments"), "increments", MAX_INCREMENTS)


def _whole(q: Any, name: str) -> int | str | None:
    """A query's whole number as a number (the core checks its range), else the text as given (cut to 40
    characters) for the core to refuse in one line; None when absent."""
    text = q.get(name)
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text[:40]


def _error(exc: Exception) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 400
    return JSONResponse({"error": " ".join(str(exc).split())}, status_code=status)


class Dashboard:
    """The ASGI app for one project and one token; `.app` is the Starlette application."""

    def __init__(self, project: Project, token: str, hosts: list[str]):
        self.project = project
        self.token = token
        self.hosts = {h.lower() for h in hosts}
        self.closing = False  # set on Ctrl-C: open event streams end at their next poll
        project.page_asset("bokeh.min.js")  # a missing bokeh is said at start, in one line, not on the first page load
        routes = [
            Route("/", self.index), Route("/static/{name}", self.static),
            Route("/api/increments", self.api(self._increments)), Route("/api/table", self.api(self._table)),
            Route("/api/curves", self.api(self._curves)), Route("/api/run", self.api(self._run)),
            Route("/api/parallel", self.api(self._parallel)), Route("/api/compare", self.api(self._compare)),
            Route("/api/artifact", self.artifact), Route("/api/events", self.events),
        ]
        self.app = Starlette(routes=routes)

    # -- the fence ---------------------------------------------------------------------------------
    def refused(self, request: Request) -> Response | None:
        """The core's fence (skill.http_fence, the MCP server's too): the Host header names this server
        (no DNS rebinding), and the request presents the token (its Authorization header, else the query)."""
        if not host_allowed((request.headers.get("host") or "").lower(), self.hosts):
            return Response("sw-ml ui: this server answers only at its own address\n", status_code=403,
                            media_type="text/plain")
        given = presented_token(request.headers.get("authorization"),
                                parse_qsl(request.url.query, keep_blank_values=True))
        if not token_matches(given, self.token):
            return Response("sw-ml ui: a token is required: open the URL `sw-ml ui` printed (…/?token=...)\n",
                            status_code=403, media_type="text/plain")
        return None

    def _secure(self, response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = response.headers.get("Cache-Control", "no-store")
        return response

    # -- pages and files ---------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        from urllib.parse import quote

        try:
            increments = _increments_of(request.query_params)
        except InvalidInput as exc:
            return self._secure(Response(str(exc) + "\n", status_code=400, media_type="text/plain"))
        body = self.project.page_html("live", title=f"sw-ml ui: {self.project.root.name}",
                                      config={"project": self.project.root.name, "increments": increments,
                                              "select": request.query_params.get("select"), "token": self.token},
                                      asset_query="?token=" + quote(self.token, safe=""))
        response = HTMLResponse(body)
        response.headers["Content-Security-Policy"] = self.project.page_csp("live") or ""
        return self._secure(response)

    async def static(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        name = request.path_params["name"]
        try:
            data, media_type = self.project.page_asset(name)
        except NotFound:
            return Response("not found\n", status_code=404, media_type="text/plain")
        response = Response(data, media_type=media_type)
        if name.startswith("bokeh"):  # BokehJS changes only with the installed package
            response.headers["Cache-Control"] = "private, max-age=86400"
        return self._secure(response)

    # -- the API: one Project call each, answered as JSON --------------------------------------------
    def api(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if (refused := self.refused(request)) is not None:
                return refused
            try:
                result = await anyio.to_thread.run_sync(handler, request)
            except SpecweaveError as exc:
                return self._secure(_error(exc))
            except (ValueError, OverflowError) as exc:  # a query no check above foresaw: still one line, a 400
                return self._secure(JSONResponse({"error": " ".join(f"bad query: {exc}".split())[:300]},
                                                 status_code=400))
            data = _json_bytes(result)
            return self._secure(Response(data, media_type="application/json"))

        return endpoint

    def _increments(self, request: Request) -> Any:  # noqa: ARG002 - every handler takes the request
        return self.project.increment_entries()

    def _table(self, request: Request) -> Any:
        q = request.query_params
        return self.project.live_table(_increments_of(q) or None, where=q.get("where") or None,
                                       sort=q.get("sort") or None, columns=_split(q.get("columns"), "columns") or None)

    def _curves(self, request: Request) -> Any:
        q = request.query_params
        return self.project.live_curves(_split(q.get("runs")), q.get("metric") or "", _whole(q, "max_points"))

    def _run(self, request: Request) -> Any:
        return self.project.run_view(request.query_params.get("ref") or "")

    def _parallel(self, request: Request) -> Any:
        q = request.query_params
        return self.project.parallel(_increments_of(q) or None, _split(q.get("runs")) or None,
                                     q.get("metric") or None)

    def _compare(self, request: Request) -> Any:
        return self.project.compare_view(_split(request.query_params.get("runs")))  # a list of CompareView

    async def artifact(self, request: Request) -> Response:
        """An artifact's bytes, checked against its recorded sha256: an image shown inline, or with
        `download=1` any artifact (a model too) as an attachment the browser saves and never opens."""
        from urllib.parse import quote

        if (refused := self.refused(request)) is not None:
            return refused
        q = request.query_params
        name = q.get("name") or ""
        download = q.get("download") == "1"
        mime = self.project.image_type(name)
        if mime is None and not download:
            return self._secure(JSONResponse({"error": f"artifact {name!r}: only images are shown "
                                              "(png, jpg, gif, webp, svg); add download=1 to save a file"},
                                             status_code=400))
        try:
            _info, data = await anyio.to_thread.run_sync(lambda: self.project.read_artifact(
                q.get("ref") or "", name, max_bytes=MAX_DOWNLOAD if download else 16 << 20, models=download))
        except SpecweaveError as exc:
            return self._secure(_error(exc))
        response = Response(data, media_type="application/octet-stream" if download else mime)
        if download:
            base = name.rsplit("/", 1)[-1] or "artifact"
            response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(base, safe='')}"
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        response.headers["Cache-Control"] = "private, max-age=60"
        return self._secure(response)

    async def events(self, request: Request) -> Response:
        """Server-sent events: `hello` once, then a `data:` line per change (see skill.views.live)."""
        if (refused := self.refused(request)) is not None:
            return refused
        q = request.query_params
        try:
            incs = _increments_of(q)
            watch = await anyio.to_thread.run_sync(lambda: self.project.watch(incs, q.get("primary") or None))
        except SpecweaveError as exc:
            return self._secure(_error(exc))

        async def stream() -> Any:
            yield "event: hello\ndata: {}\n\n"
            quiet = 0.0
            while not self.closing:
                await anyio.sleep(POLL_S)
                if self.closing:
                    break
                changes = await anyio.to_thread.run_sync(watch.poll)
                for change in changes:
                    yield "data: " + json.dumps(change, separators=(",", ":"), allow_nan=False) + "\n\n"
                quiet = 0.0 if changes else quiet + POLL_S
                if quiet >= HEARTBEAT_S:
                    quiet = 0.0
                    yield ": alive\n\n"

        response = StreamingResponse(stream(), media_type="text/event-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"
        return self._secure(response)


def _json_bytes(result: Any) -> bytes | str:
    """An API answer as JSON: a model, or a list of models, by pydantic."""
    if isinstance(result, list):
        return b"[" + b",".join(item.model_dump_json().encode() for item in result) + b"]"
    return result.model_dump_json()


class _Server:
    """uvicorn's server that tells the open event streams to end as soon as it is asked to stop (they
    would otherwise keep it waiting), and whose second Ctrl-C exits quietly."""

    def __new__(cls, config: Any, dashboard: Dashboard) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: Any) -> None:
                dashboard.closing = True
                if self.should_exit:  # the second Ctrl-C: stop waiting for anything
                    self.force_exit = True
                self.should_exit = True

        return Server(config)


def serve(root: str | os.PathLike[str] | None = None, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          token: str | None = None, echo: Callable[[str], None] | None = None) -> None:
    """Serve the project at `root` until interrupted; says its URL (with the token) through `echo`."""
    import uvicorn

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidInput("--port", port, "a port from 0 to 65535 (0 picks a free one)")
    project = Project(root, read_only=True, memo=True)
    # a token always: the one given (checked as the MCP server checks its own), else a fresh one, printed in the URL
    token = check_token("127.0.0.1", token or os.environ.get("SPECWEAVE_UI_TOKEN")) or new_token()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        raise InvalidInput("--port", port, f"a free port on {host} ({exc.strerror or exc}; --port 0 picks one)") from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    # the names this server may be called by (the core's list), at the port it is bound to
    hosts = [f"{name}:{bound}".lower() for name in allowed_names(host)]
    dashboard = Dashboard(project, token, hosts)
    say = echo or (lambda line: print(line, flush=True))
    say(f"sw-ml ui: {project.root}")
    say(f"  http://{shown}:{bound}/?token={token}")
    if needs_token(host):
        say("  warning: listening beyond this machine; anyone with the token can read the experiments")
    config = uvicorn.Config(dashboard.app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=SHUTDOWN_S)
    server = _Server(config, dashboard)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["DEFAULT_PORT", "Dashboard", "serve"]

