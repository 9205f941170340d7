"""Render submit / poll / cancel: every answer shape, normalised statuses, transient poll errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from free_generation_image.nemo.errors import BackendUnavailable, BadResponse, NemoError, RateLimited
from free_generation_image.nemo.models import RenderStatus, parse_render

from .conftest import MakeClient
from .fakes import FakeBackend, reply

pytestmark = pytest.mark.anyio

RID = "render_abc"
URL = "https://static1.nemovideo.ai/render-result/render_abc.mp4"
SUBMIT = "/api/render/proxy/lambda"
POLL = f"/api/render/proxy/lambda/{RID}"
CANCEL = f"/api/render/proxy/lambda/{RID}/cancel"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"success": True, "data": {"id": RID, "status": "processing", "progress": 12}},
            RenderStatus(RID, "processing", 12.0),
        ),
        ({"status": "completed", "output": {"url": URL}}, RenderStatus(RID, "completed", 100.0, URL)),
        (
            {"data": {"status": "completed", "output": {"url": URL}}},
            RenderStatus(RID, "completed", 100.0, URL),
        ),
        (
            {
                "data": {"status": "done", "outputUrl": URL},
                "status": "processing",
            },  # data wins over top level
            RenderStatus(RID, "completed", 100.0, URL),
        ),
        ({"code": 0, "data": {"id": "other", "status": "queued"}}, RenderStatus("other", "pending", 0.0)),
        ({"taskId": "t1", "status": "RUNNING", "progress": "55.5%"}, RenderStatus("t1", "processing", 55.5)),
        ({"status": "canceled"}, RenderStatus(RID, "cancelled", 0.0)),
        ({"status": "cancelled"}, RenderStatus(RID, "cancelled", 0.0)),
        (
            {"status": "error", "error": {"message": "gpu lost"}},
            RenderStatus(RID, "failed", 0.0, error="gpu lost"),
        ),
        (
            {"status": "failed", "errorMessage": "bad draft"},
            RenderStatus(RID, "failed", 0.0, error="bad draft"),
        ),
        ({"status": "processing", "progress": 250}, RenderStatus(RID, "processing", 100.0)),  # clamped
        ({"status": "processing", "progress": -4}, RenderStatus(RID, "processing", 0.0)),
        ({"status": "processing", "progress": "n/a"}, RenderStatus(RID, "processing", 0.0)),
        ({"status": "processing", "progress": True}, RenderStatus(RID, "processing", 0.0)),
        (
            {"status": "completed", "progress": 100, "outputUrl": URL, "completedAt": 1773423641222},
            RenderStatus(RID, "completed", 100.0, URL, completed_at=1773423641.222),
        ),
        (
            {"status": "completed", "completed_at": 1773423641},
            RenderStatus(RID, "completed", 100.0, completed_at=1773423641.0),
        ),
        (
            {"status": "completed", "completedAt": "2026-03-13T17:40:41+00:00"},
            RenderStatus(RID, "completed", 100.0, completed_at=1773423641.0),
        ),
        ({"status": "warming up"}, RenderStatus(RID, "processing", 0.0)),  # unknown: keep polling
    ],
)
def test_parse_render(body: dict[str, Any], expected: RenderStatus) -> None:
    assert parse_render(body, render_id=RID) == expected


@pytest.mark.parametrize("body", [{"success": True, "data": {"id": RID}}, {"progress": 5}, [1], "x", None])
def test_parse_render_needs_a_status(body: Any) -> None:
    with pytest.raises(BadResponse):
        parse_render(body, render_id=RID)


def test_done() -> None:
    assert [
        RenderStatus(RID, s).done for s in ("pending", "processing", "completed", "failed", "cancelled")
    ] == [False, False, True, True, True]


async def test_submit_body(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on(
        "POST", SUBMIT, reply(json={"success": True, "data": {"id": RID, "status": "pending", "progress": 5}})
    )
    draft = {"t": [{"tt": 0, "sg": [{"d": 1000}]}], "d": 1000}
    async with make_client(token="t") as client:
        status = await client.submit_render("123", draft, render_id=RID, fmt="png")
    assert status == RenderStatus(RID, "pending", 5.0)
    [request] = backend.calls("POST", SUBMIT)
    assert json.loads(request.content) == {
        "id": RID,
        "sessionId": "123",
        "draft": draft,
        "output": {"format": "png", "quality": "high"},
    }


async def test_submit_accepted_without_status_is_pending(
    backend: FakeBackend, make_client: MakeClient
) -> None:
    backend.on("POST", SUBMIT, reply(json={"success": True}))
    async with make_client(token="t") as client:
        assert await client.submit_render("1", {"t": []}, render_id=RID, fmt="mp4") == RenderStatus(
            RID, "pending"
        )


async def test_submit_is_not_retried_on_5xx(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", SUBMIT, reply(503))
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable):
            await client.submit_render("1", {"t": []}, render_id=RID, fmt="mp4")
    assert len(backend.calls("POST", SUBMIT)) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (reply(503), BackendUnavailable),
        (reply(408), BackendUnavailable),
        (reply(500, content=b"<html>"), BackendUnavailable),
        (reply(429, headers={"Retry-After": "4"}), RateLimited),
    ],
)
async def test_transient_poll_errors(
    backend: FakeBackend, make_client: MakeClient, answer: Any, error: type[NemoError]
) -> None:
    backend.on("GET", POLL, answer)
    async with make_client(token="t") as client:
        with pytest.raises(error):
            await client.poll_render(RID)
        backend.on(
            "GET", POLL, reply(json={"success": True, "data": {"status": "processing", "progress": 50}})
        )
        assert (await client.poll_render(RID)).progress == 50.0  # the same id can be polled again


async def test_poll_4xx_is_not_transient(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("GET", POLL, reply(400, json={"success": False, "error": "unknown render"}))
    async with make_client(token="t") as client:
        with pytest.raises(NemoError) as info:
            await client.poll_render(RID)
    assert not isinstance(info.value, BackendUnavailable | RateLimited)
    assert info.value.message == "unknown render"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            reply(json={"success": True, "data": {"id": RID, "status": "cancelled"}}),
            RenderStatus(RID, "cancelled"),
        ),
        (reply(json={"success": True}), None),
        (reply(404, json={"detail": "Not Found"}), None),
        (reply(405, json={"detail": "Method Not Allowed"}), None),
    ],
)
async def test_cancel(
    backend: FakeBackend, make_client: MakeClient, answer: Any, expected: RenderStatus | None
) -> None:
    backend.on("POST", CANCEL, answer)
    async with make_client(token="t") as client:
        assert await client.cancel_render(RID) == expected
    assert backend.calls("POST", CANCEL)[0].content == b""


async def test_cancel_server_error_is_raised(backend: FakeBackend, make_client: MakeClient) -> None:
    backend.on("POST", CANCEL, reply(500))
    async with make_client(token="t") as client:
        with pytest.raises(BackendUnavailable):
            await client.cancel_render(RID)


async def test_ids_are_escaped_in_paths(backend: FakeBackend, make_client: MakeClient) -> None:
    async with make_client(token="t") as client:
        with pytest.raises(NemoError):
            await client.poll_render("../../api/credits")
    assert backend.requests[0].url.raw_path == b"/api/render/proxy/lambda/..%2F..%2Fapi%2Fcredits"
