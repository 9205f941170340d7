"""Pure parts of remote mode: rate limits, path scrubbing, token sealing, redirect rules, the card."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from free_generation_image.remote import card
from free_generation_image.remote.limits import RateLimiter
from free_generation_image.remote.logs import mask
from free_generation_image.remote.oauth import redirect_problem
from free_generation_image.remote.present import PathScrubber
from free_generation_image.remote.secrets import Keyring
from free_generation_image.remote.serve import RunningServer

ROOT = Path(__file__).resolve().parents[2]


def test_rate_limiter_allows_a_burst_then_meters_per_user() -> None:
    now = [0.0]
    limiter = RateLimiter(60, 3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0.0  # another user's bucket is untouched
    now[0] = 1.0
    assert limiter.take("a") == 0.0


def test_scrubber_leaves_names_only() -> None:
    scrub = PathScrubber("/srv/state")
    result = {
        "content": [
            {"type": "text", "text": "Saved PNG: /srv/state/users/ab/files/cat.png (https://cdn/x.png)"},
            {"type": "resource_link", "uri": "fgi://output/cat.png", "description": "Saved at /srv/state/x"},
        ],
        "structuredContent": {
            "media": [
                {
                    "path": "/srv/state/users/ab/files/cat.png",
                    "mime_type": "image/png",
                    "sidecar": "/srv/state/users/ab/files/cat.json",
                }
            ]
        },
    }
    out = scrub.tool_result(result)
    assert "/srv/state" not in json.dumps(out)
    assert out["content"][0]["text"].startswith("Saved PNG: cat.png (https://cdn/x.png)")
    assert out["structuredContent"]["media"][0] == {
        "path": "cat.png",
        "mime_type": "image/png",
        "sidecar": None,
    }


def test_tokens_are_sealed_to_their_grant_and_key() -> None:
    ring = Keyring("k" * 40)
    sealed = ring.encrypt("nmv_usr_secret", context="grant-1")
    assert "nmv_usr_secret" not in sealed
    assert ring.decrypt(sealed, context="grant-1") == "nmv_usr_secret"
    assert ring.decrypt(sealed, context="grant-2") is None  # moved to another grant
    assert Keyring("j" * 40).decrypt(sealed, context="grant-1") is None  # another key
    assert (
        ring.subject_for_token("t") == ring.subject_for_token("t") != Keyring("j" * 40).subject_for_token("t")
    )


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://claude.ai/api/mcp/auth_callback", True),
        ("https://chatgpt.com/connector_platform_oauth_redirect", True),
        ("http://127.0.0.1:5555/cb", True),
        ("http://localhost/cb", True),
        ("cursor://anysphere.cursor-retrieval/oauth/callback", True),
        ("http://evil.example/cb", False),
        ("javascript:alert(1)", False),
        ("https://user:pw@a.example/cb", False),
        ("https://a.example/cb#x", False),
    ],
)
def test_redirect_rules(uri: str, ok: bool) -> None:
    assert (redirect_problem(uri) is None) is ok


def test_logs_mask_anything_shaped_like_a_token() -> None:
    line = mask("Authorization: Bearer nmv_usr_abc123 then fgi_at_XYZ and fgi_rt_q-1")
    assert "abc123" not in line and "XYZ" not in line and "q-1" not in line


def test_card_identity_matches_server_json() -> None:
    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    doc = card.server_card(
        "https://x.example/mcp",
        "https://x.example/.well-known/oauth-protected-resource/mcp",
        "https://x.example",
    )
    for key in ("name", "title", "description", "websiteUrl", "repository", "version"):
        assert doc[key] == server[key], key
    assert doc["$schema"] == card.SCHEMA and doc["remotes"][0]["type"] == "streamable-http"
    assert len(doc["description"]) <= 100


async def test_discovery_and_health_are_public(remote: RunningServer) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        health = await http.get(remote.url + "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        for path in ("/.well-known/mcp/server-card.json", "/mcp/server-card"):
            answer = await http.get(remote.url + path)
            assert answer.headers["content-type"].startswith(card.MEDIA_TYPE)
            assert answer.json()["remotes"][0]["url"] == remote.mcp_url
        catalog = (await http.get(remote.url + "/.well-known/ai-catalog.json")).json()
        assert catalog["entries"][0]["url"] == remote.mcp_url + "/server-card"


pytestmark = pytest.mark.anyio
