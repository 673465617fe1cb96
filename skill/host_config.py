"""The `ml` server in each agent host's project config, for `sw-ml init --host ...`.

| host   | file                   | shape                                                   |
|--------|------------------------|---------------------------------------------------------|
| claude | `.mcp.json`            | `{"mcpServers": {"ml": {"command", "args"}}}`           |
| vscode | `.vscode/mcp.json`     | `{"servers": {"ml": {"type": "stdio", "command", ...}}}`|
| cursor | `.cursor/mcp.json`     | `{"mcpServers": {"ml": {"command", "args"}}}`           |
| codex  | `.codex/config.toml`   | `[mcp_servers.ml]` with `command` and `args`            |

Merged, never clobbered: another server, or an `ml` entry a person wrote, stays as it is; a file
that does not parse is refused, never rewritten. A cloned repository is data: no file or folder on
these paths may be a link (a clone can commit `.mcp.json -> ~/.npmrc`, `.claude -> ~/`), and the
`ml` entry found in a file is never run (only the command init itself registers is started, to check it).

`approve_in_claude` records the approval a person gives in Claude Code's own dialog:
`enabledMcpjsonServers` in `.claude/settings.local.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from .errors import DamagedFile, InvalidInput
from .storage.atomic_writes import atomic_write

SERVER_NAME = "ml"
HOSTS = ("claude", "vscode", "cursor", "codex")
CONFIG_FILES = {"claude": ".mcp.json", "vscode": ".vscode/mcp.json", "cursor": ".cursor/mcp.json",
                "codex": ".codex/config.toml"}
CLAUDE_LOCAL_SETTINGS = ".claude/settings.local.json"
START_TIMEOUT_S = 60.0


def refuse_links(root: Path, rel: str) -> Path:
    """`root/rel`, refused (DamagedFile, one line) when any part of it below `root` is a symbolic
    link or a file linked elsewhere too (more than one hard link): init never reads or writes through one."""
    path = root
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            raise InvalidInput("path", path.relative_to(root).as_posix(), "a regular file or folder, not a symbolic "
                               "link: init never reads or writes through one (a cloned repository can commit it); "
                               "replace it, then rerun init")
    if path.is_file() and path.stat().st_nlink > 1:
        raise InvalidInput("path", rel, "a file with one hard link: init never rewrites a file shared with another "
                           "path")
    return path


def ensure_parent(root: Path, rel: str) -> Path:
    """The folders of `root/rel` made one by one, none of them a link; the path."""
    from .storage.paths import make_dirs_within

    parts = Path(rel).parts
    make_dirs_within(root, parts[:-1], rel)
    return refuse_links(root, rel)


def server_command(use_python: bool = False) -> tuple[str, list[str], str | None]:
    """The command to register, its arguments, and a note when it is not the portable `sw-ml serve`.

    `sw-ml` when it is on PATH (a committed config then works for everyone who installed the
    package); else the absolute path of this interpreter's `sw-ml` (the virtualenv is not activated:
    the host would not find it), else this interpreter running `-m mcp_server`."""
    if use_python:
        return sys.executable, ["-m", "mcp_server"], None
    if shutil.which("sw-ml"):
        return "sw-ml", ["serve"], None
    script = Path(sysconfig.get_path("scripts")) / ("sw-ml.exe" if os.name == "nt" else "sw-ml")
    why = ("sw-ml is not on PATH here, so a host started from this shell would not find it: registered {} "
           "(a path of this machine; activate the virtualenv before starting the host and rerun init to "
           "register plain `sw-ml`)")
    if script.is_file():
        return str(script), ["serve"], why.format(script)
    return sys.executable, ["-m", "mcp_server"], why.format(f"{sys.executable} -m mcp_server")


def entry_for(host: str, command: str, args: list[str]) -> dict[str, Any]:
    if host == "vscode":
        return {"type": "stdio", "command": command, "args": args}
    return {"command": command, "args": args}


def read_json(path: Path, rel: str) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise DamagedFile(rel, f"{exc.msg}; fix it by hand, init never rewrites a file it cannot read",
                          exc.lineno) from None
    if not isinstance(data, dict):
        raise DamagedFile(rel, "not a JSON object; fix it by hand, init never rewrites it")
    return data


def write_host_config(root: Path, host: str, entry: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Add `entry` as the `ml` server of `host`'s project config. Returns what happened ("created",
    "updated", "unchanged") and the `ml` entry that was there before (None when init added it)."""
    rel = CONFIG_FILES[host]
    path = refuse_links(root, rel)
    if host == "codex":
        return _write_codex(root, rel, path, entry)
    data = read_json(path, rel)
    key = "servers" if host == "vscode" else "mcpServers"
    servers = data.setdefault(key, {})
    if not isinstance(servers, dict):
        raise DamagedFile(rel, f'"{key}" is not an object; fix it by hand, init never rewrites it')
    if SERVER_NAME in servers:
        return "unchanged", servers[SERVER_NAME]
    existed = path.exists()
    servers[SERVER_NAME] = entry
    path = ensure_parent(root, rel)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return ("updated" if existed else "created"), None


def _write_codex(root: Path, rel: str, path: Path, entry: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    import tomllib

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DamagedFile(rel, f"{exc}; fix it by hand, init never rewrites a file it cannot read") from None
    servers = data.get("mcp_servers", {})
    if isinstance(servers, dict) and SERVER_NAME in servers:
        return "unchanged", servers[SERVER_NAME]
    # Appended as text, so what a person wrote (comments, order) stays byte for byte. JSON strings
    # in ASCII are TOML basic strings.
    table = (f"\n[mcp_servers.{SERVER_NAME}]  # the specweave-ml experiment tracker (sw-ml init)\n"
             f"command = {json.dumps(entry['command'])}\nargs = {json.dumps(entry['args'])}\n")
    new = (text if not text or text.endswith("\n") else text + "\n") + table
    try:
        written = tomllib.loads(new).get("mcp_servers", {}).get(SERVER_NAME)
    except tomllib.TOMLDecodeError:
        written = None
    if written != {"command": entry["command"], "args": entry["args"]}:
        raise DamagedFile(rel, f"its mcp_servers cannot take a [mcp_servers.{SERVER_NAME}] table appended; add "
                          f"command = {json.dumps(entry['command'])} and args = {json.dumps(entry['args'])} by hand")
    path = ensure_parent(root, rel)
    atomic_write(path, new.lstrip("\n"))
    return ("updated" if text else "created"), None


def approve_in_claude(root: Path) -> str:
    """`ml` in `enabledMcpjsonServers` of `.claude/settings.local.json` (and out of
    `disabledMcpjsonServers`), as Claude Code writes it when a person approves the project's server."""
    rel = CLAUDE_LOCAL_SETTINGS
    path = refuse_links(root, rel)
    data = read_json(path, rel)
    enabled = data.get("enabledMcpjsonServers", [])
    disabled = data.get("disabledMcpjsonServers", [])
    if not isinstance(enabled, list) or not isinstance(disabled, list):
        raise DamagedFile(rel, "enabledMcpjsonServers / disabledMcpjsonServers are not lists; fix it by hand")
    if SERVER_NAME in enabled and SERVER_NAME not in disabled:
        return "unchanged"
    existed = path.exists()
    data["enabledMcpjsonServers"] = [*enabled, SERVER_NAME] if SERVER_NAME not in enabled else enabled
    if SERVER_NAME in disabled:
        data["disabledMcpjsonServers"] = [s for s in disabled if s != SERVER_NAME]
    path = ensure_parent(root, rel)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return "updated" if existed else "created"


def exchange(argv: list[str], requests: list[dict[str, Any]], want_id: int, *, cwd: Path, env: dict[str, str],
             timeout: float) -> tuple[dict[str, Any] | None, str, int | None, bytes]:
    """Start `argv` as an MCP stdio server, send `requests` (JSON lines), and read until the answer
    with id `want_id`; stdin stays open until then (a server may drop requests still running at EOF).
    Returns that answer (None when none came), the last stderr line, the exit code if it exited, and
    the answer's line as it came on the wire."""
    import selectors
    import time

    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin and proc.stdout and proc.stderr
    found: dict[str, Any] | None = None
    raw = b""
    try:
        proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests).encode())
        proc.stdin.flush()
        deadline, buffer = time.monotonic() + timeout, b""
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while found is None and time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(message, dict) and message.get("id") == want_id:
                        found, raw = message, line
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode("utf-8", "replace")
        proc.stdout.close()
        proc.stderr.close()
    last = [line.strip() for line in err.splitlines() if line.strip()]
    return found, last[-1] if last else "", proc.returncode, raw


def check_starts(root: Path, command: str, args: list[str], timeout: float = START_TIMEOUT_S) -> str | None:
    """Start the command as a host would (in `root`, over stdio) and send MCP `initialize`.
    None when the server `ml` answered; else one line saying what went wrong."""
    exe = command if os.sep in command or (os.altsep and os.altsep in command) else shutil.which(command)
    if exe is None:
        return f"{command!r} is not on PATH"
    request = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "sw-ml-init", "version": "1"}}}
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(root)}
    env.pop("SPECWEAVE_ROOT", None)
    try:
        answer, last, code, _ = exchange([exe, *args], [request], 1, cwd=root, env=env, timeout=timeout)
    except OSError as exc:
        return f"could not start: {exc.strerror or exc}"
    if answer is None:
        said = f": {last}" if last else ""
        return (f"exited {code} without answering initialize{said}" if code is not None
                else f"no answer to initialize within {timeout:.0f} s{said}")
    info = (answer.get("result") or {}).get("serverInfo") or {}
    if info.get("name") == SERVER_NAME:
        return None
    return f"answered initialize as {info.get('name')!r}, not {SERVER_NAME!r}"


__all__ = ["CONFIG_FILES", "HOSTS", "approve_in_claude", "check_starts", "entry_for", "ensure_parent", "exchange",
           "read_json",
           "refuse_links", "server_command", "write_host_config"]
