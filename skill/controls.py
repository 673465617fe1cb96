"""Control characters made visible: what the CLI and the MCP text blocks print is inert.

Run names, notes, package names and recorded commands arrive from clones. Printed raw, an escape
sequence in them can set the window title, clear the screen, write the clipboard (OSC 52), hide a
link behind text (OSC 8) or draw `python train.py` over the `-c <code>` that really runs. So every
C0 control but newline and tab, DEL, every C1 control, and the lone surrogates a non-UTF-8 argument
leaves (Python's `surrogateescape`) are shown as escapes instead:

- C0 as `\\x1b` (what people recognise, and never raw in JSON: `json.dumps` escapes C0 itself);
- DEL, C1 and lone surrogates as `\\u009b`: the same text is a valid JSON escape, and
  `json.dumps(ensure_ascii=False)` leaves these raw inside strings, so `--json` output stays valid JSON
  with the same data.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control character but newline and tab shown as an escape (see the module doc)."""
    return _CONTROLS.sub(_shown, text)


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None


def shell_word(arg: str) -> str:
    """`arg` as one shell word, exactly: `shlex.quote` when every character is printable, else bash's
    `$'...'` quoting with newlines, tabs, controls and invisible characters (bidi overrides, zero
    widths) as escapes, so a recorded command shows on one line as what really runs."""
    import shlex

    if arg and all(c.isprintable() for c in arg):
        return shlex.quote(arg)
    out = []
    for c in arg:
        if c in "\\'":
            out.append("\\" + c)
        elif c in _NAMED:
            out.append(_NAMED[c])
        elif c.isprintable():
            out.append(c)
        else:
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "$'" + "".join(out) + "'"


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def shell_line(argv: list[str]) -> str:
    """A command line whose words are `shell_word`s."""
    return " ".join(shell_word(a) for a in argv)


__all__ = ["escape_controls", "has_controls", "shell_line", "shell_word"]
