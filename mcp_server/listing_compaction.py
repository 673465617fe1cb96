"""Compact tool listings: what `tools/list` sends, at the size a model's context can afford.

pydantic's schemas are written for documentation sites: a `title` on every model and property,
`"default": null` on every optional field, `anyOf` pairs for `X | None`. A model reads all of it on
every conversation. `compact_tool` rewrites each listed tool without changing what its schemas accept:

- no `title` keys (auto-generated from field names; a property *named* title stays);
- `X | None` written as `"type": [X, "null"]` where X is a plain type;
- output schemas lose `default` (meaningless for output), field descriptions, and every optional
  field: unlisted, it stays allowed (the schema accepts more, never less), a validator still holds
  an answer to its required structure, and the tool's description explains its answer. This keeps
  the whole tools/list answer under 12 KB on the wire (tests/test_mcp_tools.py measures it);
- `$defs` nothing refers to any more dropped;
- descriptions dedented (docstring indentation is bytes the model pays for).

Any tool registered on the server goes through it (`SpecweaveServer.list_tools`), whichever module
registered it.
"""

from __future__ import annotations

import inspect
from typing import Any

from mcp_types import Tool

# Keys whose value maps names to schemas: the names are data, never keywords.
_NAMED = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
# Keys holding one schema, or a list of schemas.
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_PLAIN_TYPES = {"string", "integer", "number", "boolean", "object", "array"}


def compact_schema(schema: Any, *, output: bool = False) -> Any:
    """`schema` without auto titles (and, for an output schema, without defaults and descriptions),
    with `X | None` folded into a type list. The result accepts exactly what `schema` accepts."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if output and key in ("default", "description", "examples"):
            continue
        if key == "default" and value is None:  # implied by the parameter not being required
            continue
        if output and key == "additionalProperties" and value is True:
            continue  # the default
        if key in _NAMED and isinstance(value, dict):
            out[key] = {name: compact_schema(sub, output=output) for name, sub in value.items()}
        elif key in _ONE:
            out[key] = compact_schema(value, output=output)
        elif key in _MANY and isinstance(value, list):
            out[key] = [compact_schema(sub, output=output) for sub in value]
        else:
            out[key] = value
    out = _fold_nullable(out)
    if output and isinstance(out.get("properties"), dict):
        # An optional field is left unlisted: unlisted properties stay allowed, and what remains is
        # what a validator holds an answer to (the required fields and their structure).
        required = set(out.get("required", ()))
        out["properties"] = {name: sub for name, sub in out["properties"].items() if name in required}
    return out


def prune_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without the `$defs` entries no `$ref` reaches any more."""
    import json

    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return schema
    body = {k: v for k, v in schema.items() if k != "$defs"}
    reached: set[str] = set()
    todo = [json.dumps(body)]
    while todo:
        text = todo.pop()
        for name in defs:
            if name not in reached and f'"#/$defs/{name}"' in text:
                reached.add(name)
                todo.append(json.dumps(defs[name]))
    if reached:
        body["$defs"] = {name: sub for name, sub in defs.items() if name in reached}
    return body


def share_repeats(schema: dict[str, Any], *, min_size: int = 48) -> dict[str, Any]:
    """Subschemas written out two or more times (a NaN-safe number in every metric field, say) moved
    once into `$defs` and referenced, largest first. What the schema accepts does not change."""
    import json

    def walk(node: Any, seen: dict[str, int]) -> None:
        if isinstance(node, dict):
            if "$ref" not in node and "$defs" not in node:
                text = json.dumps(node, sort_keys=True, separators=(",", ":"))
                if len(text) >= min_size:
                    seen[text] = seen.get(text, 0) + 1
            for key, value in node.items():
                if key in _NAMED and isinstance(value, dict):
                    for sub in value.values():
                        walk(sub, seen)
                elif key in _ONE or key in _MANY:
                    walk(value, seen)
        elif isinstance(node, list):
            for sub in node:
                walk(sub, seen)

    seen: dict[str, int] = {}
    walk(schema, seen)
    repeats = sorted((t for t, n in seen.items() if n > 1), key=len, reverse=True)
    if not repeats:
        return schema
    defs = dict(schema.get("$defs", {}))
    names = {}
    for i, text in enumerate(repeats):
        name = f"_{i}"
        while name in defs:
            name += "_"
        names[text] = name

    def replace(node: Any, top: bool = False) -> Any:
        if isinstance(node, dict):
            if not top and "$ref" not in node:
                text = json.dumps(node, sort_keys=True, separators=(",", ":"))
                if text in names:
                    return {"$ref": f"#/$defs/{names[text]}"}
            out = {}
            for key, value in node.items():
                if key in _NAMED and isinstance(value, dict) and not (top and key == "$defs"):
                    out[key] = {name: replace(sub) for name, sub in value.items()}
                elif key in _ONE or key in _MANY:
                    out[key] = replace(value)
                else:
                    out[key] = value
            return out
        if isinstance(node, list):
            return [replace(sub) for sub in node]
        return node

    out = replace(schema, top=True)
    # the shared definitions themselves may hold smaller repeats: replace inside them, never the whole
    new_defs = {name: replace(json.loads(text), top=True) for text, name in names.items()}
    out["$defs"] = {**{name: replace(sub, top=True) for name, sub in defs.items()}, **new_defs}
    return out


def _fold_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [{"type": "string", ...}, {"type": "null"}]}` -> `{"type": ["string", "null"], ...}`."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    other = options[0] if options[1] == {"type": "null"} else options[1]
    kind = other.get("type") if isinstance(other, dict) else None
    if kind not in _PLAIN_TYPES or set(other) & set(schema) - {"anyOf"}:
        return schema  # a $ref, a union, or keys that would clash: left as it is
    folded = {k: v for k, v in schema.items() if k != "anyOf"}
    folded.update(other)
    folded["type"] = [kind, "null"]
    if "enum" in folded:  # an enum must list null too, or the type list would not accept it
        folded["enum"] = [*folded["enum"], None]
    return folded


def compact_description(text: str | None) -> str | None:
    return inspect.cleandoc(text) if text else text


def inline_single_use(schema: dict[str, Any]) -> dict[str, Any]:
    """`$defs` entries referenced once (and not from inside themselves) written in place of the
    reference: the same schema, without the name twice and the `$ref` around it."""
    import json

    defs = schema.get("$defs")
    if not isinstance(defs, dict) or not defs:
        return schema
    text = json.dumps(schema, separators=(",", ":"))
    once = {name for name in defs
            if text.count(f'"#/$defs/{name}"') == 1 and f'"#/$defs/{name}"' not in json.dumps(defs[name])}

    def put(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in once and len(node) == 1:
                return put(defs[ref[8:]])
            return {k: put(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [put(v) for v in node]
        return node

    out = put(schema)
    kept = {name: put(sub) for name, sub in defs.items() if name not in once}
    if kept:
        out = {"$defs": kept, **out}
    return out


def _tidy(node: Any) -> Any:
    """Keywords that say nothing: `type: string` beside an enum of strings, empty `properties`."""
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _NAMED and isinstance(value, dict):
            if key == "properties" and not value:
                continue
            out[key] = {name: _tidy(sub) for name, sub in value.items()}
        elif key in _ONE or key in _MANY:
            out[key] = _tidy(value)
        else:
            out[key] = value
    enum = out.get("enum")
    if out.get("type") == "string" and isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        del out["type"]
    return out


def compact_tool(tool: Tool) -> Tool:
    """The same tool, listed compactly (see the module docstring)."""
    return tool.model_copy(update={
        "description": compact_description(tool.description),
        "input_schema": compact_schema(tool.input_schema),
        "output_schema": _tidy(inline_single_use(share_repeats(prune_defs(compact_schema(tool.output_schema,
                                                                                         output=True)))))
        if tool.output_schema else None,
    })


__all__ = ["compact_description", "compact_schema", "compact_tool", "inline_single_use", "prune_defs", "share_repeats"]
