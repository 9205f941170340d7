"""Pure parts of the tool surface: argument errors in words, reflowed descriptions, compact listings."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from mcp.server.mcpserver import MCPServer
from mcp.types import Tool
from pydantic import BaseModel, Field, ValidationError

from free_generation_image.mcp_schema import argument_error, compact_tools, describe, reflow, shown
from free_generation_image.models import (
    ChatResult,
    CreditsInfo,
    ExportResult,
    GenerateResult,
    JobSummary,
    MediaFile,
    Project,
    StatusResult,
    UploadedItem,
    UploadResult,
)

PYDANTIC_WORDS = ("pydantic", "validation error", "Input should", "type=", "For further information")


class Args(BaseModel):
    prompt: Annotated[str, Field(min_length=1, max_length=80)]
    count: Annotated[int, Field(ge=1, le=4)] = 1
    ratio: Literal["1:1", "4:3"] | None = None
    seconds: Annotated[float | None, Field(gt=0)] = None
    tags: str | list[str] = ""
    loud: bool = False


def rejection(arguments: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Args.model_validate(arguments)
    return argument_error("make", caught.value, arguments, Args.model_json_schema())


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"prompt": ""},
            "make was not run: prompt must be non-empty text of at most 80 characters (got empty text).",
        ),
        ({}, "make was not run: prompt is missing; it must be non-empty text of at most 80 characters."),
        ({"prompt": "x", "count": 9}, "make was not run: count must be a whole number from 1 to 4 (got 9)."),
        (
            {"prompt": "x", "ratio": "21:9"},
            'make was not run: ratio must be one of "1:1", "4:3" or null (got "21:9").',
        ),
        (
            {"prompt": "x", "seconds": "NaN"},
            'make was not run: seconds must be a number greater than 0 or null (got "NaN").',
        ),
        ({"prompt": "x", "tags": 5}, "make was not run: tags must be text or a list of text (got 5)."),
        ({"prompt": "x", "loud": "maybe"}, 'make was not run: loud must be true or false (got "maybe").'),
        (
            {"prompt": 7, "count": 0},
            "make was not run: prompt must be non-empty text of at most 80 characters (got 7); "
            "count must be a whole number from 1 to 4 (got 0).",
        ),
    ],
)
def test_argument_errors_name_the_argument_and_what_it_accepts(
    arguments: dict[str, Any], expected: str
) -> None:
    message = rejection(arguments)
    assert message == expected
    assert not any(word in message for word in PYDANTIC_WORDS)


def test_every_rejected_argument_is_named_once_in_schema_order() -> None:
    message = rejection({"loud": 3, "count": 99, "tags": [1]})
    assert (
        message.index("prompt is missing")
        < message.index("count")
        < message.index("tags")
        < message.index("loud")
    )
    assert message.count("count") == 1 and message.endswith(".")


def test_a_sent_value_is_quoted_back_short_and_harmless() -> None:
    assert shown("a" * 5000) == "text of 5000 characters"
    assert shown("") == "empty text" and shown("   ") == "only spaces"
    assert shown(float("nan")) == "NaN"
    hostile = shown("\u202eevil\x1b]0;title\x07\x1b[2J")
    assert all(ch not in hostile for ch in "\u202e\x1b\x07")
    assert len(shown(list(range(100)))) <= 40


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "string"}, "text"),
        ({"type": "string", "minLength": 2, "maxLength": 9}, "text of 2 to 9 characters"),
        ({"type": "number", "minimum": 0, "maximum": 55}, "a number from 0 to 55"),
        ({"type": "number", "maximum": 5.5}, "a number of at most 5.5"),
        ({"type": "integer", "minimum": 1}, "a whole number of at least 1"),
        ({"enum": ["mp4", "png"], "type": "string"}, 'one of "mp4" or "png"'),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "text or null"),
        ({"type": ["string", "null"]}, "text or null"),
        ({"type": "array", "items": {"type": "integer"}}, "a list whose items are each a whole number"),
        ({"$ref": "#/$defs/Fmt"}, 'one of "a" or "b"'),
        ({"type": "object"}, "an object"),
    ],
)
def test_schemas_are_described_in_words(schema: dict[str, Any], words: str) -> None:
    assert describe(schema, {"Fmt": {"enum": ["a", "b"]}}) == words


def test_docstrings_are_reflowed_into_prose() -> None:
    doc = """First line of the tool. About 100
        per video clip, and more.

        Second paragraph
        continues here.
        - an item
        - another item"""
    assert reflow(doc) == (
        "First line of the tool. About 100 per video clip, and more.\n\n"
        "Second paragraph continues here.\n- an item\n- another item"
    )


# ------------------------------------------------------------------------------------ listings


async def raw_and_compact(server: MCPServer) -> tuple[list[Tool], list[Tool]]:
    raw = await MCPServer.list_tools(server)  # what the SDK alone would list
    return raw, compact_tools(raw)


def samples() -> dict[str, list[BaseModel]]:
    """Results with every optional part filled, as tools return them."""
    project = Project(task_id="t1", session_id="s1", link="https://example.invalid/p")
    media = MediaFile(
        path="/out/cat.png", url="https://example.invalid/c.png", resource_uri="fgi://output/cat.png",
        kind="png", mime_type="image/png", size=10, sidecar="/out/cat.png.json",
    )  # fmt: skip
    generated = GenerateResult(
        status="completed", job_id="job_1", reply="Done", changes=["added"], timeline="1 clip", media=[media],
        credits_before=100, credits_after=70, credits_spent=30, suggestions=["export"], credits_estimate=30,
        notes=["n"], deduplicated=True, project=project, progress="done",
    )  # fmt: skip
    exported = ExportResult(
        status="running", job_id="job_2", format="mp4", file=media, percent=40.0, project=project
    )
    uploaded = UploadResult(files=[UploadedItem(source="a.png", filename="a.png", width=3)], project=project)
    job = JobSummary(job_id="job_1", kind="generate", status="completed", what="a cat", created_at=1.0)
    status = StatusResult(
        project=project, jobs=[job], job=job, generate=generated, export=exported, upload=uploaded, error="e"
    )
    return {
        "generate": [generated, GenerateResult(status="running", job_id="job_3")],
        "upload": [uploaded],
        "credits": [CreditsInfo(available=1, total=1, top_up_link="https://example.invalid/top")],
        "status": [status, StatusResult()],
        "export": [exported],
        "chat": [
            ChatResult(operation="generate", generate=generated),
            ChatResult(operation="status", status=status),
        ],
    }


@pytest.mark.anyio
async def test_compact_output_schemas_still_accept_every_result_and_reject_wrong_ones(
    server: MCPServer,
) -> None:
    _, compact = await raw_and_compact(server)
    schemas = {tool.name: tool.output_schema for tool in compact}
    for name, results in samples().items():
        schema = schemas[name]
        assert schema is not None
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        for result in results:
            data = result.model_dump(mode="json")
            assert not list(validator.iter_errors(data)), (name, data)
    wrong = samples()["generate"][0].model_dump(mode="json") | {"status": "exploded"}
    assert list(Draft202012Validator(schemas["generate"] or {}).iter_errors(wrong))
    nested_wrong = {"jobs": [{"job_id": "j"}]}  # a job summary missing its required fields
    assert list(Draft202012Validator(schemas["status"] or {}).iter_errors(nested_wrong))


def _strings(node: Any, key: str) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                found.add(v)
            found |= _strings(v, key)
    elif isinstance(node, list):
        for item in node:
            found |= _strings(item, key)
    return found


def _drop_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_drop_titles(v) if k != "properties" else {n: _drop_titles(s) for n, s in v.items()})
                for k, v in node.items() if k != "title"}  # fmt: skip
    return [_drop_titles(item) for item in node] if isinstance(node, list) else node


@pytest.mark.anyio
async def test_compact_listing_keeps_every_fact_the_model_reads(server: MCPServer) -> None:
    raw, compact = await raw_and_compact(server)
    assert [tool.name for tool in compact] == [tool.name for tool in raw]
    listed = json.dumps([tool.model_dump(mode="json", by_alias=True) for tool in compact], ensure_ascii=False)
    for before, after in zip(raw, compact, strict=True):
        assert after.title == before.title and after.annotations == before.annotations
        assert " ".join((after.description or "").split()) == " ".join((before.description or "").split())
        assert after.input_schema == _drop_titles(before.input_schema)  # arguments: only the titles go
        if before.output_schema is None:
            continue
        out = after.output_schema or {}
        assert set(out["properties"]) == set(before.output_schema["properties"])
        assert out.get("required") == before.output_schema.get("required")
        for text in _strings(before.output_schema, "description"):
            assert json.dumps(text, ensure_ascii=False) in listed, text  # said once, somewhere
    # Enum values (job states, formats, operations) survive too.
    for value in ("interrupted", "png", "cancel", "upload"):
        assert f'"{value}"' in listed


def test_compaction_points_at_owners_says_things_once_and_keeps_fields_named_like_keywords() -> None:
    class Card(BaseModel):
        title: str  # a field named like a schema keyword stays
        description: str | None = Field(None, description="Shown under the title")

    class Deck(BaseModel):
        cards: list[Card] = Field(description="Shown under the title")
        top: Card | None = None

    def tool(name: str, model: type[BaseModel]) -> Tool:
        return Tool(
            name=name,
            description="  Wrapped\n        docstring.",
            input_schema={"type": "object", "title": f"{name}Arguments", "properties": {}},
            output_schema=model.model_json_schema(),
        )

    card, deck = compact_tools([tool("card", Card), tool("deck", Deck)])
    assert card.description == "Wrapped docstring." and "title" not in card.input_schema
    assert set((card.output_schema or {})["properties"]) == {"title", "description"}
    assert (card.output_schema or {})["properties"]["description"] == {
        "type": ["string", "null"],
        "description": "Shown under the title",
    }
    out = deck.output_schema or {}
    assert "$defs" not in out  # Card is the card tool's result: pointed at, not repeated
    assert out["properties"]["top"] == {"type": ["object", "null"], "description": _pointer_text("card")}
    assert out["properties"]["cards"]["items"] == {"type": "object", "description": _pointer_text("card")}
    assert "description" not in out["properties"]["cards"]  # card already said it
    validator = Draft202012Validator(out)
    assert not list(validator.iter_errors(Deck(cards=[Card(title="a")], top=None).model_dump(mode="json")))
    assert list(validator.iter_errors({"cards": "not a list"}))


def _pointer_text(tool: str) -> str:
    return f"The {tool} tool's result (see its output schema)."
