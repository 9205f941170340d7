"""Pure pieces: SSE framing, the fault book, the journal, config validation, byte ranges, media synthesis."""

from __future__ import annotations

import io
import json

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from free_generation_image.sandbox import SandboxConfig
from free_generation_image.sandbox.compose import composition_of
from free_generation_image.sandbox.events import ModelError, StreamError, Text, ToolCall, ToolResult
from free_generation_image.sandbox.faults import FaultBook, parse_spec, validate
from free_generation_image.sandbox.files import byte_range, key_of
from free_generation_image.sandbox.frames import HEARTBEATS, Framer, split_partials
from free_generation_image.sandbox.journal import (
    Journal,
    JournalEntry,
    redact,
    redact_authorization,
    summarize_body,
)
from free_generation_image.sandbox.media import paint, png_bytes, prompt_image, tone_wav, wav_seconds
from free_generation_image.sandbox.video import probe, prompt_clip


def decode(frame: bytes) -> dict[str, object]:
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n") and frame.count(b"\n") == 2
    value: dict[str, object] = json.loads(frame[6:])
    return value


def test_adk_frames() -> None:
    framer = Framer("adk", "e-1", "nemo_agent")
    [text] = framer.encode(Text("héllo"))
    assert "héllo".encode() in text  # UTF-8, not \u escapes
    event = decode(text)
    assert event["content"] == {"role": "model", "parts": [{"text": "héllo"}]}
    assert (event["invocationId"], event["author"]) == ("e-1", "nemo_agent")
    call = decode(framer.encode(ToolCall("c1", "generate_image", {"prompt": "p"}, long_running=True))[0])
    assert call["longRunningToolIds"] == ["c1"]
    result = decode(framer.encode(ToolResult("c1", "generate_image", {"url": "u"}))[0])
    assert result["content"] == {
        "role": "user",
        "parts": [{"functionResponse": {"id": "c1", "name": "generate_image", "response": {"url": "u"}}}],
    }
    error = decode(framer.encode(ModelError("SAFETY", "blocked"))[0])
    assert "content" not in error and (error["errorCode"], error["errorMessage"]) == ("SAFETY", "blocked")
    assert decode(framer.encode(StreamError("boom"))[0]) == {"error": "boom"}


def test_typed_frames() -> None:
    framer = Framer("typed", "e-1")
    assert [
        decode(f)
        for e in (Text("hi"), ToolCall("c", "t", {"a": 1}), ToolResult("c", "t", {"ok": True}))
        for f in framer.encode(e)
    ] == [
        {"type": "text", "content": "hi"},
        {"type": "tool_call", "name": "t", "args": {"a": 1}},
        {"type": "tool_result", "name": "t", "result": {"ok": True}},
    ]
    assert decode(framer.encode(StreamError("x"))[0]) == {"error": "x"}


def test_streaming_text_is_partials_then_the_aggregate() -> None:
    frames = [decode(f) for f in Framer("adk", "e", streaming=True).encode(Text("Generating your video"))]
    assert [f.get("partial", False) for f in frames] == [True, True, True, False]
    assert "".join(f["content"]["parts"][0]["text"] for f in frames[:-1]) == "Generating your video"  # type: ignore[index]
    assert len(Framer("typed", "e", streaming=True).encode(Text("x"))) == 1


@given(st.text(min_size=1))
def test_partials_rejoin(text: str) -> None:
    assert "".join(split_partials(text)) == text and len(split_partials(text)) <= 3


def test_heartbeats() -> None:
    assert HEARTBEATS == {
        "typed": b'data: {"type":"heartbeat"}\n\n',
        "empty": b"data:\n\n",
        "comment": b": ping\n\n",
    }


def test_fault_book_targets_by_name_path_and_times() -> None:
    book = FaultBook()
    book.add("server_error", times=2, path="/api/credits", status=502)
    book.add("rate_limited", times=None)
    assert book.take("server_error", "/run_sse") is None
    first = book.take("server_error", "/api/credits/balance/simple")
    assert first is not None and first.params == {"status": 502}
    assert book.take("server_error", "/api/credits/x") is not None
    assert book.take("server_error", "/api/credits/x") is None
    for _ in range(5):
        assert book.take_stage("http", "/anything") is not None  # rate_limited, always
    assert [f.name for f in book.armed()] == ["rate_limited"]
    book.clear()
    assert book.armed() == []


def test_fault_validation() -> None:
    assert validate("drop_download", 1, {}) == {"after_bytes": None}
    assert validate("slow_stream", 1, {"seconds": 2}) == {"seconds": 2.0}
    assert validate("drop_stream", 1, {"after": 3.0}) == {"after": 3}
    for name, times, params in [
        ("nope", 1, {}),
        ("drop_stream", 1, {"after": 1.5}),
        ("drop_stream", 1, {"after": None}),
        ("silent_close", 1, {"x": 1}),
        ("silent_close", 0, {}),
        ("error_frame", 1, {"message": 3}),
    ]:
        with pytest.raises(ValueError):
            validate(name, times, params)
    assert parse_spec("token_expired") == ("token_expired", 1)
    assert parse_spec("rate_limited:3") == ("rate_limited", 3)
    assert parse_spec("server_error:always") == ("server_error", None)
    with pytest.raises(ValueError):
        parse_spec("x:soon")


def test_redaction() -> None:
    assert redact_authorization("Bearer nmv_usr_secret") == "Bearer nmv_usr_<redacted>"
    assert redact_authorization("Bearer clm_secret") == "Bearer clm_<redacted>"
    assert redact_authorization("Bearer whatever") == "Bearer <redacted>"
    assert redact_authorization("garbage") == "<redacted>"
    assert redact('{"token":"nmv_usr_abc-DEF_1"}') == '{"token":"nmv_usr_<redacted>"}'
    summary = summarize_body("application/json", b'{"t": "nmv_usr_abcdef", "x": "' + b"y" * 1000 + b'"}')
    assert "abcdef" not in summary and len(summary) == 400 and summary.endswith("…")
    assert summarize_body("video/mp4", b"\0" * 10) == "<10 bytes video/mp4>"
    assert summarize_body("", b"") == ""


def test_journal_filters_and_round_trips() -> None:
    journal = Journal(limit=3)
    journal.request(
        method="GET",
        path="/a",
        status=200,
        headers={"authorization": "Bearer nmv_usr_x", "x-other": "no"},
        body="",
    )
    journal.event("render.completed", render_id="r", completedAt=5)
    journal.request(method="POST", path="/b", status=201, headers={}, body="{}", faults=("rate_limited",))
    journal.request(method="POST", path="/c", status=201, headers={}, body="{}")
    assert [e.path for e in journal.entries()] == ["render.completed", "/b", "/c"]  # bounded
    assert [e.path for e in journal.entries(kind="request", path="/b")] == ["/b"]
    for entry in journal.entries():
        assert JournalEntry.from_json(json.loads(json.dumps(entry.to_json()))) == entry
    assert Journal().request(
        method="GET",
        path="/",
        status=200,
        headers={"authorization": "Bearer nmv_usr_x", "x-other": "no"},
        body="",
    ).headers == {"authorization": "Bearer nmv_usr_<redacted>"}


def test_config_validation() -> None:
    assert SandboxConfig(render_seconds=3).render_seconds == 3.0
    assert SandboxConfig().with_changes(faults=["rate_limited:2"]).faults == ("rate_limited:2",)
    for bad in [
        {"framing": "xml"},
        {"render_seconds": -1},
        {"media_scale": 0},
        {"quota_enabled": 1},
        {"heartbeat_interval": 0},
        {"port": 70000},
        {"faults": ("gremlins",)},
        {"fps": "30"},
    ]:
        with pytest.raises(ValueError):
            SandboxConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown sandbox setting"):
        SandboxConfig().with_changes(speed=2)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=8-100", 10, (8, 9)),
        ("bytes=-100", 10, (0, 9)),
        ("items=0-1", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("bytes=-", 10, None),
    ],
)
def test_byte_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-", 10), ("bytes=5-2", 10), ("bytes=-0", 10), ("bytes=0-", 0)]
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(ValueError):
        byte_range(header, size)


def test_file_keys_from_urls() -> None:
    assert key_of("http://localhost:1/files/media/a%20b.png") == "media/a b.png"
    assert key_of("https://cdn.example/clip.mp4") is None


def test_prompt_images_are_deterministic_and_distinct() -> None:
    a, b = png_bytes(prompt_image("a fox", 320, 180)), png_bytes(prompt_image("a fox", 320, 180))
    assert a == b and a != png_bytes(prompt_image("a cat", 320, 180))
    assert Image.open(io.BytesIO(a)).size == (320, 180)
    colors = prompt_image("雪地里的狐狸", 64, 64).getcolors(maxcolors=64 * 64)
    assert colors is not None and len(colors) > 10  # a gradient, not a flat fill


def test_clip_and_tone() -> None:
    clip = prompt_clip("waves", 96, 54, 2.0, 12)
    info = probe(clip)
    assert info is not None and (info.width, info.height, info.fps) == (96, 54, 12.0)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    with av.open(io.BytesIO(clip)) as container:
        frames = [f.to_image().tobytes() for f in container.decode(video=0)]
    assert len(frames) == 24 and len(set(frames)) > 1  # it moves
    wav = tone_wav("waves", 3.0)
    assert wav_seconds(wav) == pytest.approx(3.0) and wav == tone_wav("waves", 3.0)
    assert probe(b"not a video") is None


def test_painting_never_draws_on_a_shared_source() -> None:
    still = Image.new("RGB", (64, 36), (0, 90, 0))
    draft = {
        "t": [{"tt": 0, "sg": [{"d": 2000, "src": "s"}]}, {"tt": 7, "sg": [{"d": 1000, "txt": "Hi"}]}],
        "d": 2000,
        "m": {"width": 64, "height": 36},
    }
    comp = composition_of(draft)
    titled, plain = paint(comp, 0, {"s": still}), paint(comp, 1500, {"s": still})
    assert titled.tobytes() != still.tobytes() and plain.tobytes() == still.tobytes()
    assert still.getcolors() == [(64 * 36, (0, 90, 0))]
