"""The `--where` filter grammar, `--sort` keys, and filtering of experiment records.

One small safe language shared by the CLI and the MCP server. User text is
tokenized and parsed by hand into a tiny AST; nothing is ever passed to
Python `eval` or to pandas `eval`/`query`, so a filter cannot run code.

Grammar (keywords are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" or_expr ")" | comparison
    comparison := field OP value
                | field ["not"] "in" "(" value ("," value)* ")"
                | value ["not"] "in" "tags"
                | "has" field
    field      := params.KEY | metrics.KEY | tags | status | name | id | increment
                | parent | stage | source | author | duration_s
    OP         := = | == | != | < | <= | > | >=
    value      := number | 'text' | "text" | true | false | null | bare-word

Examples: `metrics.auc > 0.8 and params.max_depth <= 6`,
`status in (completed, failed)`, `'production' in tags`, `not has metrics.f1`.

Semantics: a comparison with a missing field is false (so `not` of it is
true); numbers compare as numbers, and a param stored as a numeric string
("6", as MLflow keeps them) compares as a number against a numeric literal;
text compares as text; NaN never compares. `tags = x` means x is one of the
tags, `tags != x` that it is not.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

MAX_FILTER_LEN = 2000
MAX_DEPTH = 40
EXAMPLE = "a filter like \"metrics.auc > 0.8 and params.max_depth <= 6\""
SIMPLE_FIELDS = ("tags", "status", "name", "id", "increment", "parent", "stage", "source", "author", "duration_s")
PREFIXED_FIELDS = ("params", "metrics")
_KEYWORDS = {"and", "or", "not", "in", "has", "true", "false", "null", "none"}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
    |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<op>==|!=|<=|>=|<>|=|<|>)
    |(?P<lparen>\()
    |(?P<rparen>\))
    |(?P<comma>,)
    |(?P<backtick>`[^`]*`)
    |(?P<word>[A-Za-z_][A-Za-z0-9_.:/\-]*)
    """,
    re.VERBOSE,
)


def _fail(text: str, pos: int, problem: str) -> InvalidInput:
    err = InvalidInput("--where filter", text, EXAMPLE)
    shown = repr(text) if len(text) <= 80 else repr(text[:77] + "...")
    err.message = f"invalid --where filter {shown} at position {pos}: {problem}; expected {EXAMPLE}"
    err.args = (err.message,)
    err.position = pos  # type: ignore[attr-defined]
    return err


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise _fail(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# -- the AST --------------------------------------------------------------------------------
_MISSING = object()


def _unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def field_value(record: Any, field: str) -> Any:
    """A record's value for a field name (`params.lr`, `metrics.auc`, `status`...); _MISSING if absent.

    Works on ExperimentRecord objects and on plain dicts of the same shape.
    """
    get = record.get if isinstance(record, dict) else (lambda k, d=None: getattr(record, k, d))
    head, _, rest = field.partition(".")
    if head in PREFIXED_FIELDS and rest:
        holder = get(head) or {}
        return holder.get(rest, _MISSING)
    if head == "tags":
        return list(get("tags") or [])
    meta = None if isinstance(record, dict) else getattr(record, "meta", None)
    if head in ("parent", "stage", "source", "author", "duration_s"):
        if isinstance(record, dict):
            value = get(head)
        else:
            value = getattr(meta, head, None) if meta is not None else None
        return _MISSING if value is None else value
    value = get(head)
    return _MISSING if value is None else value


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is _MISSING:
        return False
    if right is None:
        return (left is None) == (op in ("=", "=="))
    if isinstance(right, bool) or isinstance(left, bool):
        if isinstance(left, bool) and isinstance(right, bool) and op in ("=", "==", "!="):
            return (left == right) == (op != "!=")
        if isinstance(left, str) and isinstance(right, bool) and op in ("=", "==", "!="):
            return (left.lower() == str(right).lower()) == (op != "!=")
        return False
    lnum, rnum = _as_number(left), _as_number(right)
    if isinstance(right, (int, float)) and lnum is not None:
        a, b = lnum, float(right)
        if math.isnan(a) or math.isnan(b):
            return op == "!="
    elif isinstance(left, str) and isinstance(right, str):
        a, b = left, right  # type: ignore[assignment]
    elif isinstance(right, str) and lnum is not None and rnum is not None:
        a, b = lnum, rnum
    else:
        if op in ("=", "=="):
            return False
        return op == "!="
    if op in ("=", "=="):
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


class Filter:
    """A parsed filter. `matches(record)` says whether a record passes; `str()` gives the source text.

    `fields` are the `params.`/`metrics.` names it compares (not those it only asks `has` about):
    `filter_records` refuses one that no record of the set has, as a typo.
    """

    def __init__(self, text: str, predicate: Callable[[Any], bool], fields: Sequence[str] = ()):
        self.text = text
        self._predicate = predicate
        self.fields = tuple(dict.fromkeys(fields))

    def matches(self, record: Any) -> bool:
        return bool(self._predicate(record))

    __call__ = matches

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    def __str__(self) -> str:
        return self.text


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.compared: list[str] = []  # params./metrics. names compared, for the typo check

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() in words

    def expect(self, kind: str, what: str) -> Token:
        tok = self.peek()
        if tok.kind != kind:
            shown = repr(tok.text) if tok.text else "the end"
            raise _fail(self.text, tok.pos, f"expected {what}, found {shown}")
        return self.take()

    def parse(self) -> Callable[[Any], bool]:
        if self.peek().kind == "end":
            raise _fail(self.text, 0, "an empty filter")
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise _fail(self.text, tok.pos, f"expected 'and', 'or' or the end, found {tok.text!r}")
        return node

    def _nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _fail(self.text, pos, f"nesting deeper than {MAX_DEPTH}")

    def or_expr(self) -> Callable[[Any], bool]:
        parts = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) for p in parts)

    def and_expr(self) -> Callable[[Any], bool]:
        parts = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) for p in parts)

    def not_expr(self) -> Callable[[Any], bool]:
        if self.is_word("not"):
            tok = self.take()
            self._nest(tok.pos)
            inner = self.not_expr()
            self.depth -= 1
            return lambda r: not inner(r)
        return self.primary()

    def primary(self) -> Callable[[Any], bool]:
        tok = self.peek()
        if tok.kind == "lparen":
            self.take()
            self._nest(tok.pos)
            node = self.or_expr()
            self.depth -= 1
            self.expect("rparen", "')'")
            return node
        if self.is_word("has"):
            self.take()
            field = self.field()
            return lambda r: field_value(r, field) not in (_MISSING, [])
        nxt = self.tokens[self.i + 1] if tok.kind != "end" else tok
        value_first = tok.kind in ("number", "string") or (
            tok.kind == "word" and not self._looks_like_field(tok)
            and nxt.kind == "word" and nxt.text.lower() in ("in", "not"))
        if value_first:
            # `'production' in tags`
            value = self.value()
            negate = self._in_keyword()
            where = self.peek()
            if not (where.kind == "word" and where.text.lower() == "tags"):
                raise _fail(self.text, where.pos, "a value on the left is only allowed as `'tag' in tags`")
            self.take()
            return lambda r: (value in field_value(r, "tags")) != negate
        field = self.field()
        if field.partition(".")[0] in PREFIXED_FIELDS:
            self.compared.append(field)
        op_tok = self.peek()
        if op_tok.kind == "op":
            self.take()
            op = "!=" if op_tok.text == "<>" else op_tok.text
            value = self.value()
            if field == "tags":
                if op not in ("=", "==", "!="):
                    raise _fail(self.text, op_tok.pos, "tags compare only with =, != or in")
                return lambda r: (value in field_value(r, "tags")) == (op != "!=")
            return lambda r: _compare(field_value(r, field), op, value)
        if self.is_word("in", "not"):
            negate = self._in_keyword()
            values = self.value_list()
            if field == "tags":
                return lambda r: any(v in field_value(r, "tags") for v in values) != negate
            return lambda r: (field_value(r, field) is not _MISSING
                              and any(_compare(field_value(r, field), "=", v) for v in values) != negate)
        shown = repr(op_tok.text) if op_tok.text else "the end"
        raise _fail(self.text, op_tok.pos, f"expected a comparison (=, !=, <, <=, >, >=, in) after {field!r}, "
                                           f"found {shown}")

    def _looks_like_field(self, tok: Token) -> bool:
        head = tok.text.split(".", 1)[0].lower()
        return head in PREFIXED_FIELDS or head in SIMPLE_FIELDS

    def _in_keyword(self) -> bool:
        negate = False
        if self.is_word("not"):
            self.take()
            negate = True
        tok = self.peek()
        if not self.is_word("in"):
            raise _fail(self.text, tok.pos, f"expected 'in', found {tok.text or 'the end'!r}")
        self.take()
        return negate

    def field(self) -> str:
        tok = self.peek()
        if tok.kind == "backtick":
            self.take()
            name = tok.text[1:-1]
        elif tok.kind == "word":
            self.take()
            name = tok.text
        else:
            raise _fail(self.text, tok.pos, f"expected a field such as metrics.auc, found {tok.text or 'the end'!r}")
        head, dot, rest = name.partition(".")
        if head.lower() in PREFIXED_FIELDS:
            if not dot or not rest:
                raise _fail(self.text, tok.pos, f"{head}. needs a name after it, e.g. {head}.max_depth")
            return f"{head.lower()}.{rest}"
        if name.lower() in SIMPLE_FIELDS and not dot:
            return name.lower()
        known = ", ".join(["params.<name>", "metrics.<name>", *SIMPLE_FIELDS])
        raise _fail(self.text, tok.pos, f"unknown field {name!r} (known: {known})")

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "number":
            number = float(tok.text)
            return int(number) if re.fullmatch(r"[-+]?\d+", tok.text) else number
        if tok.kind == "string":
            return _unescape(tok.text)
        if tok.kind == "word":
            low = tok.text.lower()
            if low == "true":
                return True
            if low == "false":
                return False
            if low in ("null", "none"):
                return None
            if low in ("and", "or", "not", "in"):
                raise _fail(self.text, tok.pos, f"expected a value, found the keyword {tok.text!r}")
            return tok.text  # a bare word: `status = completed`
        shown = repr(tok.text) if tok.text else "the end"
        raise _fail(self.text, tok.pos, f"expected a value (number, 'text', true, false, null), found {shown}")

    def value_list(self) -> list[Any]:
        self.expect("lparen", "'(' to start a list of values")
        values = [self.value()]
        while self.peek().kind == "comma":
            self.take()
            values.append(self.value())
        self.expect("rparen", "')' to close the list of values")
        return values


def parse_where(text: str) -> Filter:
    """Parse a `--where` filter; raises InvalidInput naming the position of a syntax error."""
    if not isinstance(text, str):
        raise InvalidInput("--where filter", text, EXAMPLE)
    if len(text) > MAX_FILTER_LEN:
        raise InvalidInput("--where filter", text, f"at most {MAX_FILTER_LEN} characters")
    if "\x00" in text:
        raise _fail(text, text.index("\x00"), "a NUL character")
    parser = _Parser(text)
    predicate = parser.parse()
    return Filter(text, predicate, parser.compared)


def known_fields(records: Iterable[Any]) -> set[str]:
    """The `params.X` and `metrics.X` names present in at least one of the records."""
    names: set[str] = set()
    for record in records:
        for head in PREFIXED_FIELDS:
            holder = record.get(head) if isinstance(record, dict) else getattr(record, head, None)
            if isinstance(holder, dict):
                names.update(f"{head}.{key}" for key in holder)
    return names


def check_fields(records: Sequence[Any], fields: Iterable[str], what: str = "--where field") -> None:
    """Refuse (InvalidInput, one line, with the nearest names) a `params.`/`metrics.` name that no record
    of the set has: a typo such as `metrics.acuracy` would otherwise match nothing, or sort nothing, in
    silence. A name some records lack is fine (that is what `has` is for); an empty set is not checked."""
    wanted = [f for f in fields if f.partition(".")[0] in PREFIXED_FIELDS]
    if not wanted or not records:
        return
    known = known_fields(records)
    for name in wanted:
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
        if close:
            hint = f"did you mean {' or '.join(close)}?"
        elif known:
            shown = sorted(known)
            hint = "known: " + ", ".join(shown[:12]) + (f" (and {len(shown) - 12} more)" if len(shown) > 12 else "")
        else:
            hint = "none of them logged any params or metrics"
        count = f"{len(records)} experiment{'s' if len(records) != 1 else ''}"
        raise InvalidInput(what, name, f"a name one of these {count} has; {hint}")


def filter_records(records: Iterable[Any], where: str | Filter | None = None, status: str | None = None,
                   tag: str | None = None) -> list[Any]:
    """Records passing every given filter (a status, a tag, a `--where` expression).

    A `params.`/`metrics.` name the expression compares that no record of `records` has is refused
    (`check_fields`), naming the nearest known names.
    """
    flt = parse_where(where) if isinstance(where, str) and where.strip() else (where or None)
    records = list(records)
    if isinstance(flt, Filter):
        check_fields(records, flt.fields)
    out = []
    for record in records:
        if status and field_value(record, "status") != status:
            continue
        if tag and tag not in field_value(record, "tags"):
            continue
        if isinstance(flt, Filter) and not flt.matches(record):
            continue
        out.append(record)
    return out


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


def parse_sort(text: str) -> list[SortKey]:
    """`metrics.auc desc`, `-metrics.auc`, `name`, or several joined by commas."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_FILTER_LEN:
        raise InvalidInput("--sort", text, "a field like 'metrics.auc desc' or '-metrics.auc'")
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise InvalidInput("--sort", text, "fields like 'metrics.auc desc, name' or '-metrics.auc'")
        name, descending = words[0], False
        if name.startswith("-"):
            name, descending = name[1:], True
        elif name.startswith("+"):
            name = name[1:]
        if len(words) == 2:
            direction = words[1].lower()
            if direction not in ("asc", "desc"):
                raise InvalidInput("--sort direction", words[1], "asc or desc")
            descending = direction == "desc"
        try:
            parser = _Parser(name)
            field = parser.field()
        except InvalidInput:
            known = "params.<name>, metrics.<name>, " + ", ".join(SIMPLE_FIELDS)
            raise InvalidInput("--sort field", name, known) from None
        if parser.peek().kind != "end":
            raise InvalidInput("--sort field", name, "params.<name>, metrics.<name>, " + ", ".join(SIMPLE_FIELDS))
        keys.append(SortKey(field, descending))
    return keys


def _sortable(value: Any) -> tuple[int, Any]:
    """Numbers before text; missing and NaN handled by the caller."""
    num = _as_number(value)
    if num is not None and not isinstance(value, str):
        return (0, num)
    if num is not None:
        return (0, num)
    if isinstance(value, list):
        return (1, ",".join(map(str, value)))
    return (1, str(value))


def sort_records(records: Sequence[Any], sort: str | None) -> list[Any]:
    """Records sorted by one or more keys; missing values and NaN always go last.

    A `params.`/`metrics.` key that no record has is refused as a typo (`check_fields`).
    """
    items = list(records)
    if not sort:
        return items
    keys = parse_sort(sort)
    check_fields(items, [k.field for k in keys], "--sort field")
    for key in reversed(keys):
        present, missing = [], []
        for record in items:
            value = field_value(record, key.field)
            if value is _MISSING or value is None or (isinstance(value, float) and math.isnan(value)):
                missing.append(record)
            else:
                present.append(record)
        present.sort(key=lambda r: _sortable(field_value(r, key.field)), reverse=key.descending)
        items = present + missing
    return items


__all__ = ["Filter", "SortKey", "check_fields", "field_value", "filter_records", "known_fields", "parse_sort",
           "parse_where", "sort_records", "tokenize"]
