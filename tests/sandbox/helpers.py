"""Small HTTP helpers for driving the sandbox with httpx2 directly (no client code under test here)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from free_generation_image.sandbox import Credentials

ATTRIBUTION = {
    "X-Skill-Source": "free-generation-image",
    "X-Skill-Version": "0.1.0",
    "X-Skill-Platform": "test",
}


@dataclass(frozen=True)
class Login:
    token: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **ATTRIBUTION}


def as_login(user: Credentials) -> Login:
    """A control-API user (no quota, chosen credits) as a Login."""
    return Login(user.token, user.user_id)


async def login(http: httpx2.AsyncClient, client_id: str = "client-1") -> Login:
    response = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return Login(data["token"], data["user_id"])


async def new_session(http: httpx2.AsyncClient, who: Login, language: str = "en") -> str:
    response = await http.post(
        "/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "test project", "language": language},
        headers=who.headers,
    )
    assert response.json()["code"] == 0, response.text
    return str(response.json()["data"]["session_id"])


def sse_request(session_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": session_id,
        "new_message": {"parts": [{"text": text}]},
        **extra,
    }


@dataclass(frozen=True)
class Frame:
    """One SSE block: its ``data:`` payload (joined) or its comment."""

    data: str | None
    comment: str | None

    @property
    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)

    @property
    def is_heartbeat(self) -> bool:
        return self.comment is not None or self.data == "" or self.data == '{"type":"heartbeat"}'


def parse_sse(raw: str) -> list[Frame]:
    frames = []
    for block in raw.split("\n\n"):
        if not block:
            continue
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        comments = [line[1:].strip() for line in block.split("\n") if line.startswith(":")]
        frames.append(Frame("\n".join(data) if data else None, comments[0] if comments else None))
    return frames


async def turn(http: httpx2.AsyncClient, who: Login, session_id: str, text: str, **extra: Any) -> list[Frame]:
    """Send one message and read the whole stream."""
    response = await http.post("/run_sse", json=sse_request(session_id, text, **extra), headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


def payloads(frames: list[Frame]) -> list[Any]:
    """The JSON of every non-heartbeat frame."""
    return [f.json for f in frames if not f.is_heartbeat]


def texts(frames: list[Frame]) -> list[str]:
    """User-visible text of either dialect."""
    out = []
    for p in payloads(frames):
        if p.get("type") == "text":
            out.append(p["content"])
        for part in (p.get("content") or {}).get("parts", []) if isinstance(p.get("content"), dict) else []:
            if "text" in part and not p.get("partial"):
                out.append(part["text"])
    return out


def tool_calls(frames: list[Frame]) -> list[str]:
    """Names of the tools called, in order, in either dialect."""
    out = []
    for p in payloads(frames):
        if p.get("type") == "tool_call":
            out.append(p["name"])
        if isinstance(p.get("content"), dict):
            out += [part["functionCall"]["name"] for part in p["content"]["parts"] if "functionCall" in part]
    return out


async def state(http: httpx2.AsyncClient, who: Login, session_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/state/nemo_agent/me/{session_id}/latest", headers=who.headers)
    assert response.json()["code"] == 0, response.text
    result: dict[str, Any] = response.json()["data"]["state"]
    return result


async def balance(http: httpx2.AsyncClient, who: Login) -> dict[str, int]:
    response = await http.get("/api/credits/balance/simple", headers=who.headers)
    result: dict[str, int] = response.json()["data"]
    return result


async def generated(
    http: httpx2.AsyncClient, text: str = "Generate an image of a red fox"
) -> tuple[Login, str]:
    """A user with a session whose draft holds one generated image (costs 30 credits)."""
    who = await login(http)
    session_id = await new_session(http, who)
    await turn(http, who, session_id, text)
    return who, session_id


async def submit_render(
    http: httpx2.AsyncClient, who: Login, session_id: str, render_id: str, fmt: str = "mp4"
) -> httpx2.Response:
    draft = (await state(http, who, session_id))["draft"]
    body = {
        "id": render_id,
        "sessionId": session_id,
        "draft": draft,
        "output": {"format": fmt, "quality": "high"},
    }
    return await http.post("/api/render/proxy/lambda", json=body, headers=who.headers)


async def wait_render(
    http: httpx2.AsyncClient, who: Login, render_id: str, timeout: float = 10
) -> dict[str, Any]:
    """Poll until the render is terminal; return its ``data``."""
    deadline = time.monotonic() + timeout
    while True:
        body = (await http.get(f"/api/render/proxy/lambda/{render_id}", headers=who.headers)).json()
        if body["data"]["status"] in ("completed", "failed", "cancelled"):
            return dict(body["data"])
        assert time.monotonic() < deadline, f"render {render_id} still {body['data']['status']}"
        await anyio.sleep(0.02)
