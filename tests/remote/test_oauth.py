"""OAuth 2.1 end to end over HTTP: discovery, registration, PKCE authorize via the consent page's form,
token, refresh (rotating), revoke; redirect checks; and 401s that leave nothing behind."""

from __future__ import annotations

import base64
import hashlib
import secrets
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from free_generation_image.remote.serve import RunningServer
from free_generation_image.sandbox import Sandbox
from tests.helpers import connect

pytestmark = pytest.mark.anyio

REDIRECT = "http://127.0.0.1:33418/callback"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def _register(http: httpx2.AsyncClient, base: str, redirect: str = REDIRECT) -> httpx2.Response:
    return await http.post(
        base + "/register",
        json={
            "redirect_uris": [redirect],
            "client_name": "Test Host",
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        },
    )


async def _authorize(
    http: httpx2.AsyncClient, remote: RunningServer, client_id: str, form: dict[str, str]
) -> tuple[dict[str, list[str]], str]:
    """GET /authorize -> consent page -> form post; the query the client's redirect receives."""
    verifier, challenge = _pkce()
    start = await http.get(
        remote.url + "/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "xyz",
            "resource": remote.mcp_url,
        },
    )
    assert start.status_code == 302, start.text
    page = await http.get(start.headers["location"])
    assert page.status_code == 200 and "<form" in page.text and 'name="token"' in page.text
    assert page.headers["x-frame-options"] == "DENY" and "no-store" in page.headers["cache-control"]
    pending = parse_qs(urlsplit(start.headers["location"]).query)["request"][0]
    done = await http.post(remote.url + "/authorize/consent", data={"request": pending, **form})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(REDIRECT)
    return parse_qs(urlsplit(done.headers["location"]).query), verifier


async def _sign_in(
    http: httpx2.AsyncClient, remote: RunningServer, consent: dict[str, str]
) -> dict[str, Any]:
    """Register a client, authorize with PKCE through the consent form, exchange the code: the tokens."""
    reg = (await _register(http, remote.url)).json()
    query, verifier = await _authorize(http, remote, reg["client_id"], consent)
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": REDIRECT,
        "client_id": reg["client_id"],
        "client_secret": reg["client_secret"],
        "code_verifier": verifier,
    }
    answer: dict[str, Any] = (await http.post(remote.url + "/token", data=form)).json()
    return answer


def _assert_stored_nowhere(state: Path, *secrets_: str) -> None:
    """No file of the server's state (SQLite + WAL, user folders) holds any of these in clear."""
    db = state / "remote.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and stat.S_IMODE(state.stat().st_mode) == 0o700
    files = [p for p in state.rglob("*") if p.is_file()]
    assert db in files
    for path in files:
        data = path.read_bytes()
        leaked = [i for i, value in enumerate(secrets_) if value.encode() in data]
        assert not leaked, (path, leaked)


async def test_oauth_end_to_end(remote: RunningServer, sandbox: Sandbox) -> None:
    user = sandbox.new_user(credits=500)
    async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
        unauth = await http.post(remote.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert unauth.status_code == 401
        metadata_url = unauth.headers["www-authenticate"].split('resource_metadata="')[1].split('"')[0]
        resource = (await http.get(metadata_url)).json()
        assert resource["resource"] == remote.mcp_url
        issuer = resource["authorization_servers"][0].rstrip("/")
        server = (await http.get(issuer + "/.well-known/oauth-authorization-server")).json()
        assert server["code_challenge_methods_supported"] == ["S256"]
        assert {"registration_endpoint", "revocation_endpoint"} <= server.keys()

        registered = await _register(http, issuer)
        assert registered.status_code == 201, registered.text
        client_id, secret = registered.json()["client_id"], registered.json()["client_secret"]

        query, verifier = await _authorize(http, remote, client_id, {"choice": "token", "token": user.token})
        assert query["state"] == ["xyz"]
        code = query["code"][0]
        token_form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "client_secret": secret,
            "code_verifier": verifier,
            "resource": remote.mcp_url,
        }
        wrong = await http.post(issuer + "/token", data={**token_form, "code_verifier": "x" * 50})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        tokens = (await http.post(issuer + "/token", data=token_form)).json()
        access, refresh = tokens["access_token"], tokens["refresh_token"]
        assert access.startswith("fgi_at_") and user.token not in str(tokens)
        replay = await http.post(issuer + "/token", data=token_form)
        assert replay.status_code == 400  # a code works once

        async with connect(remote.mcp_url, access) as client:
            credits = await client.call_tool("credits", {})
            assert (credits.structured_content or {})["available"] == 500
        _assert_stored_nowhere(remote.config.state_dir, user.token, access, refresh, code, secret)

        auth = {"client_id": client_id, "client_secret": secret}
        refreshed = (
            await http.post(
                issuer + "/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh, **auth},
            )
        ).json()
        assert refreshed["access_token"] != access and refreshed["refresh_token"] != refresh
        reused = await http.post(
            issuer + "/token", data={"grant_type": "refresh_token", "refresh_token": refresh, **auth}
        )
        assert reused.status_code == 400  # refresh tokens rotate
        old = await http.post(
            remote.mcp_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": f"Bearer {access}"},
        )
        assert old.status_code == 401  # the previous access token went with the rotation

        new_access = refreshed["access_token"]
        async with connect(remote.mcp_url, new_access) as client:
            assert not (await client.call_tool("credits", {})).is_error
        revoked = await http.post(issuer + "/revoke", data={"token": refreshed["refresh_token"], **auth})
        assert revoked.status_code == 200, revoked.text
        after = await http.post(
            remote.mcp_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": f"Bearer {new_access}"},
        )
        assert after.status_code == 401


async def test_anonymous_account_and_same_identity_as_header_users(
    remote: RunningServer, sandbox: Sandbox
) -> None:
    async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
        tokens = await _sign_in(http, remote, {"choice": "anonymous"})
        assert tokens["expires_in"] > 0
    async with connect(remote.mcp_url, tokens["access_token"]) as client:
        credits = (await client.call_tool("credits", {})).structured_content or {}
        assert credits["anonymous"] is True or credits["available"] > 0


async def test_bad_token_on_the_consent_page_is_refused_in_place(remote: RunningServer) -> None:
    async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
        client_id = (await _register(http, remote.url)).json()["client_id"]
        _, challenge = _pkce()
        start = await http.get(
            remote.url + "/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT,
                "code_challenge": challenge,
                "state": "s",
            },
        )
        pending = parse_qs(urlsplit(start.headers["location"]).query)["request"][0]
        page = await http.post(
            remote.url + "/authorize/consent", data={"request": pending, "choice": "token", "token": "nope"}
        )
        assert page.status_code == 400 and 'role="alert"' in page.text and "nope" not in page.text
        forged = await http.post(
            remote.url + "/authorize/consent", data={"request": "guessed", "choice": "anonymous"}
        )
        assert forged.status_code == 400 and "location" not in forged.headers
        denied = await http.post(
            remote.url + "/authorize/consent", data={"request": pending, "choice": "deny"}
        )
        assert "error=access_denied" in denied.headers["location"]


@pytest.mark.parametrize(
    "redirect",
    ["http://evil.example/cb", "javascript:alert(1)", "data:text/html,hi", "https://a.example/cb#frag"],
)
async def test_unsafe_redirect_uris_are_refused_at_registration(remote: RunningServer, redirect: str) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await _register(http, remote.url, redirect)
    assert answer.status_code == 400, answer.text


async def test_authorize_never_redirects_to_an_unregistered_uri(remote: RunningServer) -> None:
    async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
        client_id = (await _register(http, remote.url)).json()["client_id"]
        _, challenge = _pkce()
        answer = await http.get(
            remote.url + "/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": "https://attacker.example/cb",
                "code_challenge": challenge,
            },
        )
    assert answer.status_code == 400 and "location" not in answer.headers


@pytest.mark.parametrize("token", [None, "not-a-token", "fgi_at_forged", "Bearer-less"])
async def test_bad_credentials_get_401_and_nothing_else_happens(
    remote: RunningServer, sandbox: Sandbox, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token and token != "Bearer-less" else {}
    if token == "Bearer-less":
        headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "generate", "arguments": {}},
    }
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(
            remote.mcp_url, json=body, headers={**headers, "Accept": "application/json, text/event-stream"}
        )
    assert answer.status_code == 401
    assert "resource_metadata=" in answer.headers["www-authenticate"]
    assert not (remote.config.state_dir / "users").exists()  # no user state was created
    assert not [e for e in sandbox.journal() if e.kind == "request" and "/run_sse" in e.path]


async def test_an_expired_access_token_gets_401(sandbox: Sandbox, tmp_path: object) -> None:
    from pathlib import Path

    from free_generation_image.remote.serve import run_in_thread
    from tests.helpers import make_remote_service, remote_config

    config = remote_config(sandbox, Path(str(tmp_path)) / "state", access_token_ttl=1.0)
    user = sandbox.new_user(credits=100)
    with run_in_thread(config, factory=make_remote_service) as remote:
        async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
            tokens = await _sign_in(http, remote, {"choice": "token", "token": user.token})
            import anyio

            assert "access_token" in tokens, tokens
            await anyio.sleep(1.2)  # the token's own expiry, not a timing guess
            answer = await http.post(
                remote.mcp_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
    assert answer.status_code == 401
