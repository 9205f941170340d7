"""Raw backend answers taken from the contract (``shared/nemo-api.md``), as plain data.

Each :class:`Fixture` is one HTTP answer of back end A: status, headers and the body as raw
bytes, the endpoint it answers, the contract section it comes from, and what it must mean to a
client (:class:`Expect`). Sandbox tests check the sandbox can emit these shapes; client tests
feed the bytes to the real client through ``httpx2.MockTransport``. Neither side imports the
other, so the two cannot silently agree on a wrong shape.

Markers from the contract are kept in ``note``: ``GUESS`` means no source showed this exact
shape; the client must still accept it. Nothing here imports the package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Endpoint = Literal[
    "anonymous_token",
    "create_session",
    "claim_token",
    "credits",
    "state",
    "upload",
    "run_sse",
    "render_submit",
    "render_poll",
    "render_cancel",
]

# Method and path template of each endpoint (contract §2); {sid} is a session id, {rid} a render id.
ENDPOINTS: Mapping[Endpoint, tuple[str, str]] = {
    "anonymous_token": ("POST", "/api/auth/anonymous-token"),
    "create_session": ("POST", "/api/tasks/me/with-session/nemo_agent"),
    "claim_token": ("POST", "/api/auth/claim-token"),
    "credits": ("GET", "/api/credits/balance/simple"),
    "state": ("GET", "/api/state/nemo_agent/me/{sid}/latest"),
    "upload": ("POST", "/api/upload-video/nemo_agent/me/{sid}"),
    "run_sse": ("POST", "/run_sse"),
    "render_submit": ("POST", "/api/render/proxy/lambda"),
    "render_poll": ("GET", "/api/render/proxy/lambda/{rid}"),
    "render_cancel": ("POST", "/api/render/proxy/lambda/{rid}/cancel"),
}

EventKind = Literal["text", "tool_call", "tool_result", "heartbeat", "error"]


@dataclass(frozen=True)
class Ev:
    """One expected stream event: ``value`` is the text, the tool name or the error message."""

    kind: EventKind
    value: str = ""
    partial: bool = False


@dataclass(frozen=True)
class Expect:
    """What a fixture means. Exactly one of ``data``/``error``/``events``/``render`` is the point."""

    data: Any = None  # the payload after removing the envelope (envelope fixtures)
    error: str | None = None  # class name in free_generation_image.nemo.errors
    attrs: Mapping[str, Any] = field(default_factory=dict)  # attributes the error must carry
    events: tuple[Ev, ...] = ()  # run_sse: the visible events, in order
    render: Mapping[str, Any] | None = None  # render_*: normalised id/status/progress/url/error


@dataclass(frozen=True)
class Fixture:
    name: str
    section: str  # contract section, e.g. "§1.3"
    endpoint: Endpoint
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    expect: Expect
    note: str = ""

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")


JSON_HEADERS = (("content-type", "application/json"),)
SSE_HEADERS = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))
HTML_HEADERS = (("content-type", "text/html; charset=utf-8"),)

SID = "5529798706024415232"
TASK = "task_8f3a2c1d"
USER = "anon_abc123def4567890"
RID = "render_1773423613616"
OUTPUT_URL = f"https://static1.nemovideo.ai/render-result/{RID}.mp4"


def body(value: Any) -> bytes:
    """Compact JSON bytes, the way FastAPI/ADK serialise (non-ASCII kept as UTF-8)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def frame(value: Any) -> bytes:
    """One SSE frame as ADK writes it: ``data: <json>`` and a blank line (contract §4.1)."""
    return b"data: " + body(value) + b"\n\n"


def adk_event(
    *parts: Mapping[str, Any], author: str = "nemo_agent", role: str = "model", **extra: Any
) -> dict[str, Any]:
    """An ADK Event as ``model_dump_json(exclude_none=True, by_alias=True)`` renders it (§4.1)."""
    event: dict[str, Any] = {
        "invocationId": "e-7c1f0a52-3b1d-4a8e-9f4e-1d2c3b4a5f60",
        "author": author,
        "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {}},
        "id": "Xq3kP9aB",
        "timestamp": 1773423613.616,
    }
    if parts:
        event["content"] = {"role": role, "parts": list(parts)}
    event.update(extra)
    return event


def _json(
    name: str,
    section: str,
    endpoint: Endpoint,
    status: int,
    value: Any,
    expect: Expect,
    note: str = "",
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS,
) -> Fixture:
    return Fixture(name, section, endpoint, status, headers, body(value), expect, note)


def _raw(
    name: str,
    section: str,
    endpoint: Endpoint,
    status: int,
    raw: bytes,
    expect: Expect,
    note: str = "",
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS,
) -> Fixture:
    return Fixture(name, section, endpoint, status, headers, raw, expect, note)


def _err(name: str, **attrs: Any) -> Expect:
    return Expect(error=name, attrs=attrs)


# --------------------------------------------------------------------------------------------------
# §1.3 / §2.x  JSON endpoints: the three envelopes and the data they carry

TOKEN_DATA = {
    "token": "nmv_usr_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v",
    "user_id": USER,
    "expires_at": "2026-03-26T00:00:00Z",
    "credits": 100,
}
SESSION_DATA = {"task_id": TASK, "session_id": SID, "user_id": USER}
CREDITS_DATA = {"available": 25000, "frozen": 40, "total": 25040}
DRAFT = {
    "t": [
        {
            "id": "trk_v",
            "tt": 0,
            "n": "Video",
            "sg": [
                {"id": "seg_1", "s": 0, "d": 10000, "src": "https://cdn.example/clip.mp4", "kind": "video"}
            ],
        },
        {
            "id": "trk_a",
            "tt": 1,
            "n": "BGM",
            "sg": [
                {
                    "id": "seg_2",
                    "s": 0,
                    "d": 10000,
                    "src": "https://cdn.example/lofi.mp3",
                    "v": 0.35,
                    "n": "Lo-fi",
                }
            ],
        },
        {
            "id": "trk_t",
            "tt": 7,
            "n": "Title",
            "sg": [{"id": "seg_3", "s": 0, "d": 3000, "txt": "Urban Dreams", "sty": "neon blue, fade-in"}],
        },
    ],
    "d": 10000,
    "m": {"title": "Sunset", "width": 1920, "height": 1080, "fps": 30},
}
STATE_DATA = {
    "session_id": SID,
    "task_id": TASK,
    "task_name": "My Video Project",
    "state": {
        "video_infos": [
            {
                "filename": "clip.mp4",
                "file_type": "video",
                "cdn_url": "https://cdn.example/clip.mp4",
                "duration": 10.0,
                "width": 1920,
                "height": 1080,
                "fps": 30,
            }
        ],
        "draft": DRAFT,
        "canvas_config": {"width": 1920, "height": 1080, "ratio": "16:9"},
        "video_analyses": {},
        "generated_media": [
            {
                "id": "gm_1",
                "type": "video",
                "url": "https://cdn.example/clip.mp4",
                "prompt": "a sunset over the sea",
                "width": 1920,
                "height": 1080,
                "duration": 10.0,
                "created_at": 1773423600,
            }
        ],
    },
}
UPLOAD_DATA = {
    "files": [
        {
            "filename": "clip.mp4",
            "file_type": "video",
            "cdn_url": "https://cdn.example/clip.mp4",
            "duration": 30.5,
            "width": 1920,
            "height": 1080,
            "fps": 30,
            "hash": "9f86d081884c7d65",
        }
    ],
    "session_state_applied": True,
}

ENVELOPES: tuple[Fixture, ...] = (
    _json(
        "token_ok", "§2.1", "anonymous_token", 200, {"code": 0, "data": TOKEN_DATA}, Expect(data=TOKEN_DATA)
    ),
    _json(
        "session_ok",
        "§2.2",
        "create_session",
        200,
        {"code": 0, "data": SESSION_DATA},
        Expect(data=SESSION_DATA),
    ),
    _json(
        "session_ok_without_user_id",
        "§2.2",
        "create_session",
        200,
        {"code": 0, "data": {"task_id": TASK, "session_id": SID}},
        Expect(data={"task_id": TASK, "session_id": SID}),
        note="v1.0+ examples omit user_id",
    ),
    _json(
        "claim_ok",
        "§2.3",
        "claim_token",
        200,
        {"code": 0, "data": {"claim_token": "clm_Zx9Yw8Vu7Ts6", "expires_in": 604800}},
        Expect(data={"claim_token": "clm_Zx9Yw8Vu7Ts6", "expires_in": 604800}),
    ),
    _json(
        "credits_ok_with_message",
        "§1.3",
        "credits",
        200,
        {"code": 0, "message": "success", "data": CREDITS_DATA},
        Expect(data=CREDITS_DATA),
        note="GUESS: whether A sends message on success is unknown; clients must not depend on it",
    ),
    _json(
        "credits_ok_without_message",
        "§2.6",
        "credits",
        200,
        {"code": 0, "data": CREDITS_DATA},
        Expect(data=CREDITS_DATA),
    ),
    _json(
        "credits_fresh_anonymous",
        "§2.6",
        "credits",
        200,
        {"code": 0, "data": {"available": 100, "frozen": 0, "total": 100}},
        Expect(data={"available": 100, "frozen": 0, "total": 100}),
    ),
    _json("state_ok", "§2.7", "state", 200, {"code": 0, "data": STATE_DATA}, Expect(data=STATE_DATA)),
    _json(
        "state_before_generation",
        "§2.7",
        "state",
        200,
        {
            "code": 0,
            "data": {
                "session_id": SID,
                "task_id": TASK,
                "task_name": "project",
                "state": {"video_infos": [], "video_analyses": {}},
            },
        },
        Expect(
            data={
                "session_id": SID,
                "task_id": TASK,
                "task_name": "project",
                "state": {"video_infos": [], "video_analyses": {}},
            }
        ),
        note="draft may be empty or absent before anything was generated",
    ),
    _json("upload_ok", "§2.5", "upload", 200, {"code": 0, "data": UPLOAD_DATA}, Expect(data=UPLOAD_DATA)),
)

# --------------------------------------------------------------------------------------------------
# §1.4 application codes under HTTP 200 and under 4xx; FastAPI / HTML / malformed bodies

ERRORS: tuple[Fixture, ...] = (
    _json(
        "auth_1001_under_401",
        "§1.4",
        "credits",
        401,
        {"code": 1001, "message": "invalid or expired token"},
        _err("AuthError", code=1001, status=401),
        note="GUESS: emulator default for bad tokens",
    ),
    _json(
        "auth_1001_under_200",
        "§1.4",
        "state",
        200,
        {"code": 1001, "message": "token has expired", "data": None},
        _err("AuthError", code=1001),
    ),
    _json(
        "auth_plain_401",
        "§1.4",
        "credits",
        401,
        {"detail": "Not authenticated"},
        _err("AuthError", status=401),
        note="HTTP status only, no code (FastAPI style)",
    ),
    _json(
        "session_1002_under_200",
        "§1.4",
        "state",
        200,
        {"code": 1002, "message": "session not found", "data": None},
        _err("SessionNotFound", code=1002),
    ),
    _json(
        "session_1002_under_404",
        "§1.4",
        "state",
        404,
        {"code": 1002, "message": "session not found"},
        _err("SessionNotFound", code=1002, status=404),
    ),
    _json(
        "session_fastapi_404",
        "§2.4",
        "state",
        404,
        {"detail": f"Session not found: {SID}"},
        _err("SessionNotFound", status=404),
        note="plain ADK HTTPException",
    ),
    _json(
        "credits_2001_under_200",
        "§1.4",
        "create_session",
        200,
        {"code": 2001, "message": "insufficient credits", "data": None},
        _err("InsufficientCredits", code=2001),
    ),
    _json(
        "credits_2001_under_402",
        "§1.4",
        "create_session",
        402,
        {"code": 2001, "message": "insufficient credits"},
        _err("InsufficientCredits", code=2001, status=402),
        note="code is checked before the HTTP status: 402 + 2001 is credits, not plan",
    ),
    _json(
        "upload_4001",
        "§1.4",
        "upload",
        200,
        {"code": 4001, "message": "unsupported file type", "data": None},
        _err("UnsupportedFileType", code=4001),
    ),
    _json(
        "upload_4002",
        "§1.4",
        "upload",
        200,
        {"code": 4002, "message": "file too large", "data": None},
        _err("FileTooLarge", code=4002),
    ),
    _json(
        "upload_4002_under_413",
        "§1.4",
        "upload",
        413,
        {"code": 4002, "message": "file too large"},
        _err("FileTooLarge", code=4002, status=413),
        note="GUESS: status unknown",
    ),
    _json(
        "token_400_no_client_id",
        "§2.1",
        "anonymous_token",
        400,
        {"detail": "X-Client-Id header is required"},
        _err("NemoError", status=400),
        note="GUESS: body shape unknown; the status is documented",
    ),
    _json(
        "token_429_retry_after",
        "§9",
        "anonymous_token",
        429,
        {"code": 429, "message": "too many anonymous tokens for this client"},
        _err("RateLimited", status=429, retry_after=12.0),
        headers=(*JSON_HEADERS, ("retry-after", "12")),
    ),
    _json(
        "token_429_no_retry_after",
        "§9",
        "anonymous_token",
        429,
        {"detail": "Too Many Requests"},
        _err("RateLimited", status=429, retry_after=30.0),
        note="no Retry-After: wait the documented 30 s",
    ),
    _json(
        "validation_422",
        "§4.1",
        "create_session",
        422,
        {"detail": [{"type": "missing", "loc": ["body", "task_name"], "msg": "Field required", "input": {}}]},
        _err("NemoError", status=422),
        note="FastAPI/pydantic validation error",
    ),
    _raw(
        "html_502",
        "§1.3",
        "state",
        502,
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
        b"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        _err("BackendUnavailable", status=502),
        headers=HTML_HEADERS,
    ),
    _raw(
        "empty_503",
        "§1.3",
        "credits",
        503,
        b"",
        _err("BackendUnavailable", status=503),
        headers=(("content-length", "0"),),
    ),
    _json(
        "json_500",
        "§1.3",
        "credits",
        500,
        {"code": 500, "message": "internal server error"},
        _err("BackendUnavailable", status=500),
    ),
    _raw(
        "malformed_json_200",
        "§1.3",
        "credits",
        200,
        b'{"code": 0, "data": {"available": 10',
        _err("BadResponse", status=200),
    ),
    _raw(
        "html_200",
        "§1.3",
        "state",
        200,
        b"<!doctype html><html><body>Sign in</body></html>",
        _err("BadResponse", status=200),
        headers=HTML_HEADERS,
        note="captive portal / proxy page",
    ),
)

# --------------------------------------------------------------------------------------------------
# §2.4 / §4  /run_sse: errors before the stream, then both framings and every heartbeat form

RUN_SSE_ERRORS: tuple[Fixture, ...] = (
    _json(
        "sse_1001_before_stream",
        "§2.4",
        "run_sse",
        401,
        {"code": 1001, "message": "invalid token"},
        _err("AuthError", code=1001, status=401),
        note="GUESS: status",
    ),
    _json(
        "sse_1002_before_stream",
        "§2.4",
        "run_sse",
        404,
        {"code": 1002, "message": "session not found"},
        _err("SessionNotFound", code=1002, status=404),
        note="GUESS: status",
    ),
    _json(
        "sse_session_fastapi_404",
        "§4.1",
        "run_sse",
        404,
        {"detail": f"Session not found: {SID}"},
        _err("SessionNotFound", status=404),
    ),
    _json(
        "sse_2001_before_stream",
        "§2.4",
        "run_sse",
        402,
        {"code": 2001, "message": "insufficient credits"},
        _err("InsufficientCredits", code=2001),
        note="GUESS: status",
    ),
    _json(
        "sse_2001_json_under_200",
        "§2.4",
        "run_sse",
        200,
        {"code": 2001, "message": "insufficient credits", "data": None},
        _err("InsufficientCredits", code=2001),
        note="a JSON envelope where a stream was expected",
    ),
    _json(
        "sse_422",
        "§4.1",
        "run_sse",
        422,
        {"detail": [{"type": "missing", "loc": ["body", "session_id"], "msg": "Field required"}]},
        _err("NemoError", status=422),
    ),
    _raw(
        "sse_html_502",
        "§1.3",
        "run_sse",
        502,
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        _err("BackendUnavailable", status=502),
        headers=HTML_HEADERS,
    ),
)

_GEN = "generate_video_with_seedance"
_EDIT = "edit_multitrack"


def _sse(name: str, section: str, raw: bytes, events: tuple[Ev, ...], note: str = "") -> Fixture:
    return Fixture(name, section, "run_sse", 200, SSE_HEADERS, raw, Expect(events=events), note)


STREAMS: tuple[Fixture, ...] = (
    _sse(
        "adk_full_turn",
        "§4.4",
        b"".join(
            [
                frame(adk_event({"text": "Generating your video…"})),
                frame(
                    adk_event(
                        {
                            "functionCall": {
                                "id": "adk-1",
                                "name": _GEN,
                                "args": {"prompt": "sunset", "duration": 10, "aspect_ratio": "16:9"},
                            }
                        },
                        longRunningToolIds=["adk-1"],
                    )
                ),
                frame(
                    adk_event(
                        {
                            "functionResponse": {
                                "id": "adk-1",
                                "name": _GEN,
                                "response": {"url": "https://cdn.example/clip.mp4", "duration": 10},
                            }
                        },
                        role="user",
                    )
                ),
                frame(adk_event({"text": "Your raw clip is ready. Adding music and a title…"})),
                frame(
                    adk_event(
                        {"functionCall": {"id": "adk-2", "name": _EDIT, "args": {"ops": ["bgm", "title"]}}}
                    )
                ),
                frame(
                    adk_event(
                        {"functionResponse": {"id": "adk-2", "name": _EDIT, "response": {"ok": True}}},
                        role="user",
                    )
                ),
                frame(
                    adk_event(
                        {"text": "Done! Click Export to download it."},
                        usageMetadata={
                            "promptTokenCount": 812,
                            "candidatesTokenCount": 40,
                            "totalTokenCount": 852,
                        },
                    )
                ),
            ]
        ),
        (
            Ev("text", "Generating your video…"),
            Ev("tool_call", _GEN),
            Ev("tool_result", _GEN),
            Ev("text", "Your raw clip is ready. Adding music and a title…"),
            Ev("tool_call", _EDIT),
            Ev("tool_result", _EDIT),
            Ev("text", "Done! Click Export to download it."),
        ),
    ),
    _sse(
        "adk_thought_hidden",
        "§4.1",
        frame(
            adk_event(
                {"text": "The user wants a sunset; pick seedance.", "thought": True}, {"text": "On it."}
            )
        ),
        (Ev("text", "On it."),),
        note="thought parts are model reasoning: hide",
    ),
    _sse(
        "adk_partial_then_aggregate",
        "§4.1",
        b"".join(
            [
                frame(adk_event({"text": "Gener"}, partial=True)),
                frame(adk_event({"text": "ating your"}, partial=True)),
                frame(adk_event({"text": " video"}, partial=True)),
                frame(adk_event({"text": "Generating your video"})),
            ]
        ),
        (
            Ev("text", "Gener", partial=True),
            Ev("text", "ating your", partial=True),
            Ev("text", " video", partial=True),
            Ev("text", "Generating your video"),
        ),
        note="streaming:true; the non-partial aggregate repeats the chunks (it replaces them)",
    ),
    _sse(
        "adk_error_code",
        "§4.1",
        b"".join(
            [
                frame(adk_event({"text": "Let me try."})),
                frame(
                    adk_event(errorCode="SAFETY", errorMessage="The prompt was blocked by the safety filter.")
                ),
            ]
        ),
        (Ev("text", "Let me try."), Ev("error", "The prompt was blocked by the safety filter.")),
    ),
    _sse(
        "adk_artifact_split",
        "§4.1",
        b"".join(
            [
                frame(adk_event({"text": "Saved the storyboard."})),
                frame(
                    {
                        **adk_event(),
                        "actions": {
                            "stateDelta": {},
                            "artifactDelta": {"storyboard.png": 0},
                            "requestedAuthConfigs": {},
                        },
                    }
                ),
            ]
        ),
        (Ev("text", "Saved the storyboard."),),
        note="newer ADK splits content and artifactDelta",
    ),
    _sse(
        "adk_final_error_frame",
        "§4.1",
        b"".join(
            [
                frame(adk_event({"text": "Generating…"})),
                b'data: {"error": "Tool generate_video_with_seedance timed out"}\n\n',
            ]
        ),
        (Ev("text", "Generating…"), Ev("error", "Tool generate_video_with_seedance timed out")),
    ),
    _sse(
        "adk_final_error_frame_broken_quotes",
        "§4.1",
        b"".join(
            [
                frame(adk_event({"text": "Generating…"})),
                b'data: {"error": "Invalid value "16:10" for aspect_ratio"}\n\n',
            ]
        ),
        (Ev("text", "Generating…"), Ev("error", 'Invalid value "16:10" for aspect_ratio')),
        note="old ADK built this JSON by string formatting, so quotes can break it",
    ),
    _sse(
        "adk_silent_edit",
        "§4.2",
        b"".join(
            [
                frame(adk_event({"functionCall": {"id": "adk-3", "name": _EDIT, "args": {"ops": ["trim"]}}})),
                frame(
                    adk_event(
                        {"functionResponse": {"id": "adk-3", "name": _EDIT, "response": {"ok": True}}},
                        role="user",
                    )
                ),
            ]
        ),
        (Ev("tool_call", _EDIT), Ev("tool_result", _EDIT)),
        note="≈30 % of edits end without text",
    ),
    _sse(
        "adk_temporary_issue_tail",
        "§3",
        b"".join(
            [
                frame(adk_event({"text": "Here is your video."})),
                frame(adk_event({"text": "I encountered a temporary issue. Please try again."})),
            ]
        ),
        (Ev("text", "Here is your video."), Ev("text", "I encountered a temporary issue. Please try again.")),
        note="the client shows it; the service decides to ignore it when earlier output was normal",
    ),
    _sse(
        "typed_dialect",
        "§4.2",
        b"".join(
            [
                b'data: {"type":"text","content":"Generating your video..."}\n\n',
                b'data: {"type":"tool_call","name":"generate_video_with_seedance",'
                b'"args":{"prompt":"sunset"}}\n\n',
                b'data: {"type":"heartbeat"}\n\n',
                b'data: {"type":"tool_result","name":"generate_video_with_seedance","result":{"url":"https://cdn.example/c.mp4"}}\n\n',
                b'data: {"type":"text","content":"Your video is ready."}\n\n',
            ]
        ),
        (
            Ev("text", "Generating your video..."),
            Ev("tool_call", _GEN),
            Ev("heartbeat"),
            Ev("tool_result", _GEN),
            Ev("text", "Your video is ready."),
        ),
        note="reverted reference [AR@v4.4]",
    ),
    _sse(
        "typed_dialect_silent",
        "§4.2",
        b"".join(
            [
                b'data: {"type":"tool_call","name":"edit_multitrack","args":{}}\n\n',
                b'data: {"type":"tool_result","name":"edit_multitrack","result":{}}\n\n',
            ]
        ),
        (Ev("tool_call", _EDIT), Ev("tool_result", _EDIT)),
    ),
    _sse(
        "heartbeat_forms",
        "§4.2",
        b"".join(
            [
                b'data: {"type":"heartbeat"}\n\n',
                b"data:\n\n",
                b": ping\n\n",
                frame(adk_event({"text": "Still here."})),
            ]
        ),
        (Ev("heartbeat"), Ev("heartbeat"), Ev("heartbeat"), Ev("text", "Still here.")),
    ),
    _sse(
        "heartbeats_during_tool",
        "§4.4",
        b"".join(
            [
                frame(adk_event({"functionCall": {"id": "adk-4", "name": _GEN, "args": {}}})),
                b": ping\n\n",
                b": ping\n\n",
                b"data:\n\n",
                frame(
                    adk_event(
                        {"functionResponse": {"id": "adk-4", "name": _GEN, "response": {}}}, role="user"
                    )
                ),
            ]
        ),
        (Ev("tool_call", _GEN), Ev("heartbeat"), Ev("heartbeat"), Ev("heartbeat"), Ev("tool_result", _GEN)),
    ),
    _sse("empty_stream", "§4.1", b"", (), note="the server closed at once: end of turn, nothing seen"),
)

# --------------------------------------------------------------------------------------------------
# §2.8–2.12 / §6.2  render submit and poll, every shape

_DONE = {"id": RID, "status": "completed", "progress": 100.0, "url": OUTPUT_URL, "error": None}


def _render(
    name: str,
    section: str,
    endpoint: Endpoint,
    value: Any,
    expected: Mapping[str, Any],
    note: str = "",
    status: int = 200,
) -> Fixture:
    return _json(name, section, endpoint, status, value, Expect(render=expected), note)


RENDERS: tuple[Fixture, ...] = (
    _render(
        "submit_ok",
        "§2.8",
        "render_submit",
        {"success": True, "data": {"id": RID, "status": "pending", "progress": 5}},
        {"id": RID, "status": "pending", "progress": 5.0, "url": None, "error": None},
    ),
    _render(
        "poll_success_data",
        "§6.2",
        "render_poll",
        {
            "success": True,
            "data": {
                "id": RID,
                "status": "completed",
                "progress": 100,
                "outputUrl": OUTPUT_URL,
                "createdAt": 1773423613616,
                "completedAt": 1773423641222,
            },
        },
        {**_DONE, "completed_at": 1773423641.222},
        note="best-evidenced shape [AR@v4.4]",
    ),
    _render(
        "poll_processing_float",
        "§2.9",
        "render_poll",
        {"success": True, "data": {"id": RID, "status": "processing", "progress": 42.5}},
        {"id": RID, "status": "processing", "progress": 42.5, "url": None, "error": None},
    ),
    _render(
        "poll_progress_string",
        "§14",
        "render_poll",
        {"success": True, "data": {"id": RID, "status": "processing", "progress": "37"}},
        {"id": RID, "status": "processing", "progress": 37.0, "url": None, "error": None},
        note="GUESS: int or float unknown; accept a numeric string too",
    ),
    _render(
        "poll_top_level",
        "§6.2",
        "render_poll",
        {"status": "completed", "progress": 100, "output": {"url": OUTPUT_URL}},
        _DONE,
        note="SKILL v4.5.1…v1.9 wording; no id in the body: the client keeps the id it polled",
    ),
    _render(
        "poll_mirrored",
        "§6.2",
        "render_poll",
        {
            "success": True,
            "data": {"id": RID, "status": "completed", "progress": 100, "outputUrl": OUTPUT_URL},
            "status": "completed",
            "progress": 100,
            "output": {"url": OUTPUT_URL},
        },
        _DONE,
        note="emulator compatibility flag: both places at once",
    ),
    _render(
        "poll_data_output_url",
        "§6.2",
        "render_poll",
        {
            "success": True,
            "data": {
                "id": RID,
                "status": "completed",
                "progress": 100,
                "output": {"url": OUTPUT_URL, "size": 15728640},
            },
        },
        _DONE,
        note="typings of the older CLI: output.url inside data",
    ),
    _render(
        "poll_legacy_raw",
        "§2.12",
        "render_poll",
        {
            "taskId": RID,
            "status": "completed",
            "progress": 100,
            "output": {"url": OUTPUT_URL, "duration": 30.5, "size": 15728640},
        },
        _DONE,
        note="init version, raw body without envelope",
    ),
    _render(
        "poll_failed_in_data",
        "§2.9",
        "render_poll",
        {"success": True, "data": {"id": RID, "status": "failed", "progress": 40, "error": "invalid draft"}},
        {"id": RID, "status": "failed", "progress": 40.0, "url": None, "error": "invalid draft"},
    ),
    _render(
        "poll_failed_top_level",
        "§6.2",
        "render_poll",
        {"status": "failed", "progress": 0, "error": "render worker crashed"},
        {"id": RID, "status": "failed", "progress": 0.0, "url": None, "error": "render worker crashed"},
    ),
    _render(
        "poll_completed_without_url",
        "§6.1",
        "render_poll",
        {"success": True, "data": {"id": RID, "status": "completed", "progress": 100}},
        {"id": RID, "status": "completed", "progress": 100.0, "url": None, "error": None},
        note="the CLI calls this an error; we report it and let the caller use the §2.11 download",
    ),
    _render(
        "cancel_cancelled",
        "§2.10",
        "render_cancel",
        {"success": True, "data": {"id": RID, "status": "cancelled"}},
        {"id": RID, "status": "cancelled", "url": None, "error": None},
        note="GUESS: shape",
    ),
    _render(
        "cancel_canceled_spelling",
        "§12",
        "render_cancel",
        {"success": True, "data": {"id": RID, "status": "canceled"}},
        {"id": RID, "status": "cancelled", "url": None, "error": None},
        note="NemoVideo's vocabulary has both spellings",
    ),
    _json(
        "submit_plan_402",
        "§1.4",
        "render_submit",
        402,
        {"success": False, "error": "Export requires a paid plan"},
        _err("PlanRequired", status=402),
        note="402 is the plan (or missing attribution headers), never credits",
    ),
    _json(
        "submit_duplicate_409",
        "§2.8",
        "render_submit",
        409,
        {"success": False, "error": "duplicate render id"},
        _err("NemoError", status=409),
        note="GUESS: shape and status",
    ),
    _json(
        "submit_invalid_draft_400",
        "§2.8",
        "render_submit",
        400,
        {"success": False, "error": "invalid draft"},
        _err("NemoError", status=400),
        note="GUESS",
    ),
    _json(
        "submit_failure_under_200",
        "§1.3",
        "render_submit",
        200,
        {"success": False, "error": "invalid draft"},
        _err("NemoError", status=200),
    ),
    _raw(
        "poll_html_503",
        "§6.1",
        "render_poll",
        503,
        b"<html><body>Service Unavailable</body></html>",
        _err("BackendUnavailable", status=503),
        headers=HTML_HEADERS,
        note="transient: keep polling",
    ),
    _json(
        "poll_408",
        "§6.1",
        "render_poll",
        408,
        {"detail": "Request Timeout"},
        _err("BackendUnavailable", status=408),
        note="transient per the CLI",
    ),
    _json(
        "poll_429",
        "§6.1",
        "render_poll",
        429,
        {"detail": "Too Many Requests"},
        _err("RateLimited", status=429, retry_after=5.0),
        headers=(*JSON_HEADERS, ("retry-after", "5")),
    ),
)

ALL: tuple[Fixture, ...] = ENVELOPES + ERRORS + RUN_SSE_ERRORS + STREAMS + RENDERS
BY_NAME: Mapping[str, Fixture] = {f.name: f for f in ALL}
assert len(BY_NAME) == len(ALL), "fixture names must be unique"
