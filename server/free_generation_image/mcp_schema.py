"""What a model reads of the tools: compact tool listings and argument errors in one plain sentence.

Pure: JSON Schema and pydantic errors in, text and schemas out. Every host pays for ``tools/list`` in
context on every turn, so the listing says each fact once; an argument error names the argument and
what it accepts, from the same schema the model was shown, never as a pydantic dump.
"""

from __future__ import annotations

import inspect
import json
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from mcp.types import Tool
from pydantic import ValidationError

JsonSchema = dict[str, Any]

_DEFS_PREFIX = "#/$defs/"
_SHOWN_CHARS = 40
# Output schemas describe results: defaults mean nothing there, and pydantic's titles only repeat names.
_OUTPUT_NOISE = frozenset({"title", "default"})
# Keywords that never reject null, so `anyOf: [X, null]` can become `type: [X's type, "null"]`.
_NULL_SAFE = frozenset(
    {"type", "description", "items", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
    | {"minLength", "maxLength", "minItems", "maxItems", "format", "pattern"}
)


# ------------------------------------------------------------------------------------ descriptions


def reflow(doc: str) -> str:
    """A docstring as prose: indentation gone, wrapped lines joined, paragraphs and "- " items kept."""
    paragraphs: list[str] = []
    for block in inspect.cleandoc(doc).split("\n\n"):
        lines: list[str] = []
        for raw in block.splitlines():
            line = raw.strip()
            if not line:
                continue
            if lines and not line.startswith("- "):
                lines[-1] += " " + line
            else:
                lines.append(line)
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


# ---------------------------------------------------------------------------------- tools/list size


def compact_tools(tools: Sequence[Tool]) -> list[Tool]:
    """The listing with descriptions reflowed, titles dropped and each output fact stated once.

    A result nested in another tool's result (``chat.generate``, ``status.export``) points at the tool
    that owns it instead of repeating its schema; a field description already given by an earlier
    tool's output schema is not repeated. Structured content still validates against every schema.
    """
    owners = {
        str(tool.output_schema["title"]): tool.name
        for tool in tools
        if tool.output_schema and "title" in tool.output_schema
    }
    said: set[str] = set()
    compacted: list[Tool] = []
    for tool in tools:
        output = tool.output_schema
        if output is not None:
            output = _compact_output(output, tool.name, owners, said)
        compacted.append(
            tool.model_copy(
                update={
                    "description": reflow(tool.description) if tool.description else tool.description,
                    "input_schema": _strip(tool.input_schema, frozenset({"title"})),
                    "output_schema": output,
                }
            )
        )
    return compacted


def _compact_output(schema: JsonSchema, owner: str, owners: Mapping[str, str], said: set[str]) -> JsonSchema:
    pointers = frozenset(_pointer(name) for name in owners.values())  # repeated on purpose, never dropped
    pointed = _point_at_owners(schema, owner, owners)
    defs = pointed.pop("$defs", None) or {}
    used = _reachable(pointed, defs)
    if used:
        pointed["$defs"] = {name: defs[name] for name in defs if name in used}
    stripped = _strip(pointed, _OUTPUT_NOISE)
    merged = _merge_nullable(stripped)
    compacted: JsonSchema = _say_once(merged, said, pointers)
    return compacted


def _point_at_owners(node: Any, owner: str, owners: Mapping[str, str]) -> Any:
    """Replace refs to another tool's whole result with a pointer to that tool."""
    if isinstance(node, list):
        return [_point_at_owners(item, owner, owners) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
        other = owners.get(ref[len(_DEFS_PREFIX) :])
        if other is not None and other != owner:
            return {"type": "object", "description": _pointer(other)}
    return {key: _point_at_owners(value, owner, owners) for key, value in node.items()}


def _pointer(tool: str) -> str:
    return f"The {tool} tool's result (see its output schema)."


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _refs(item)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
            yield ref[len(_DEFS_PREFIX) :]
        for value in node.values():
            yield from _refs(value)


def _reachable(root: JsonSchema, defs: Mapping[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = list(_refs(root))
    while pending:
        name = pending.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        pending.extend(_refs(defs[name]))
    return seen


def _strip(node: Any, keywords: frozenset[str]) -> Any:
    """Drop schema keywords, never a property that happens to carry the same name."""
    if isinstance(node, list):
        return [_strip(item, keywords) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _strip(sub, keywords) for name, sub in value.items()}
        elif key not in keywords:
            out[key] = _strip(value, keywords)
    return out


def _merge_nullable(node: Any) -> Any:
    """``anyOf: [{type: T, ...}, {type: null}]`` -> ``{type: [T, null], ...}`` where that means the same."""
    if isinstance(node, list):
        return [_merge_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _merge_nullable(value) for key, value in node.items()}
    options = out.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return out
    other = options[0] if options[1] == {"type": "null"} else options[1]
    if not isinstance(other, dict) or not isinstance(other.get("type"), str) or not set(other) <= _NULL_SAFE:
        return out
    rest = {key: value for key, value in out.items() if key != "anyOf"}
    if "description" in rest and "description" in other:
        return out
    return {**other, **rest, "type": [other["type"], "null"]}


def _say_once(node: Any, said: set[str], keep: frozenset[str]) -> Any:
    """Drop field descriptions already given (by an earlier tool or an earlier field)."""
    if isinstance(node, list):
        return [_say_once(item, said, keep) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            if value in said and value not in keep:
                continue
            said.add(value)
            out[key] = value
        elif key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _say_once(sub, said, keep) for name, sub in value.items()}
        else:
            out[key] = _say_once(value, said, keep)
    return out


# --------------------------------------------------------------------------------- argument errors


def argument_error(
    tool: str, error: ValidationError, arguments: Mapping[str, Any], input_schema: Mapping[str, Any]
) -> str:
    """One sentence naming each rejected argument, what it accepts and what was sent."""
    properties: Mapping[str, Any] = input_schema.get("properties") or {}
    defs: Mapping[str, Any] = input_schema.get("$defs") or {}
    rejected: list[str] = []
    for detail in error.errors(include_url=False, include_context=False, include_input=False):
        name = str(detail["loc"][0]) if detail["loc"] else ""
        if name not in rejected:
            rejected.append(name)
    order = list(properties)
    rejected.sort(key=lambda name: order.index(name) if name in order else len(order))
    clauses: list[str] = []
    for name in rejected:
        schema = properties.get(name)
        if not isinstance(schema, Mapping):
            clauses.append(f"the arguments do not match its input schema ({', '.join(order) or 'none'})")
        elif name not in arguments:
            clauses.append(f"{name} is missing; it must be {describe(schema, defs)}")
        else:
            clauses.append(f"{name} must be {describe(schema, defs)} (got {shown(arguments[name])})")
    if not clauses:
        clauses.append("the arguments do not match its input schema")
    return f"{tool} was not run: {'; '.join(clauses)}."


def describe(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> str:
    """What a JSON Schema accepts, in words: "a number from 0 to 55", "one of "mp4" or "png""."""
    defs = defs or {}
    ref = schema.get("$ref")
    if (
        isinstance(ref, str)
        and ref.startswith(_DEFS_PREFIX)
        and isinstance(defs.get(ref[len(_DEFS_PREFIX) :]), dict)
    ):
        return describe(defs[ref[len(_DEFS_PREFIX) :]], defs)
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    if isinstance(schema.get("enum"), list):
        return "one of " + _alternatives([json.dumps(value, ensure_ascii=False) for value in schema["enum"]])
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list):
        choices = _choices(options)
        if choices is not None:  # enums and null together read as one list: "one of "1:1", "4:3" or null"
            return "one of " + _alternatives([json.dumps(value, ensure_ascii=False) for value in choices])
        words = [describe(option, defs) for option in options if isinstance(option, Mapping)]
        return _alternatives(list(dict.fromkeys(words)))
    kind = schema.get("type")
    if isinstance(kind, list):
        return _alternatives([describe({**schema, "type": one}, defs) for one in kind])
    if kind == "string":
        return _text(schema)
    if kind in ("number", "integer"):
        return _number(schema, "a whole number" if kind == "integer" else "a number")
    if kind == "boolean":
        return "true or false"
    if kind == "null":
        return "null"
    if kind == "array":
        items = schema.get("items")
        if isinstance(items, Mapping) and items.get("type") == "string" and len(items) == 1:
            return "a list of text"
        if isinstance(items, Mapping) and items:
            return f"a list whose items are each {describe(items, defs)}"
        return "a list"
    if kind == "object":
        return "an object"
    return "a value of the documented type"


def _choices(options: list[Any]) -> list[Any] | None:
    """The values of options that are all enums, consts or null; None when any is something else."""
    values: list[Any] = []
    for option in options:
        if not isinstance(option, Mapping):
            return None
        if isinstance(option.get("enum"), list):
            values += option["enum"]
        elif "const" in option:
            values.append(option["const"])
        elif option.get("type") == "null":
            values.append(None)
        else:
            return None
    return values if any(value is not None for value in values) else None


def _alternatives(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _bound(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _text(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low == 1 and high is not None:
        return f"non-empty text of at most {_bound(high)} characters"
    if low == 1:
        return "non-empty text"
    if low and high is not None:
        return f"text of {_bound(low)} to {_bound(high)} characters"
    if low:
        return f"text of at least {_bound(low)} characters"
    if high is not None:
        return f"text of at most {_bound(high)} characters"
    return "text"


def _number(schema: Mapping[str, Any], noun: str) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if low is not None and high is not None:
        return f"{noun} from {_bound(low)} to {_bound(high)}"
    parts = [noun]
    if low is not None:
        parts.append(f"of at least {_bound(low)}")
    if above is not None:
        parts.append(f"greater than {_bound(above)}")
    if high is not None:
        parts.append(f"{'and ' if len(parts) > 1 else ''}of at most {_bound(high)}")
    if below is not None:
        parts.append(f"{'and ' if len(parts) > 1 else ''}less than {_bound(below)}")
    return " ".join(parts)


def shown(value: Any) -> str:
    """A sent value quoted back briefly and harmlessly: no long echo, no control or bidi characters."""
    if isinstance(value, str) and not value.strip():
        return "empty text" if not value else "only spaces"
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return f"text of {len(value)} characters"
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (TypeError, ValueError):
        text = type(value).__name__
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


__all__ = ["argument_error", "compact_tools", "describe", "reflow", "shown"]
