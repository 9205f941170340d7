"""The authorization page: paste a NemoVideo token, or continue with a free anonymous account.

Plain HTML with labels, one form per choice, no scripts; it cannot be framed (clickjacking) and every
answer is no-store. The pending request id in the form is single-use and unguessable, so a forged post
cannot complete anyone else's authorization.
"""

from __future__ import annotations

import html
import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from free_generation_image.config import Settings
from free_generation_image.nemo import identity
from free_generation_image.nemo.auth import Auth
from free_generation_image.nemo.errors import NemoError
from free_generation_image.nemo.transport import Transport
from free_generation_image.remote.identity import NemoTokenChecker
from free_generation_image.remote.oauth import OAuthProvider, client_label
from free_generation_image.store import Store

log = logging.getLogger(__name__)

MAX_TOKEN_CHARS = 4096
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # No form-action: browsers apply it to the redirect after the post, and native clients use custom schemes.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect Free Generation Image</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 2rem auto; padding: 0 1rem; }}
fieldset {{ border: 1px solid #888; border-radius: 6px; margin: 1.5rem 0; padding: 1rem; }}
input[type=password] {{ width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; }}
button {{ font: inherit; padding: .5rem 1rem; margin-top: .75rem; cursor: pointer; }}
.error {{ border: 2px solid #b00020; padding: .75rem; border-radius: 6px; }}
.small {{ font-size: .9rem; color: #444; }}
</style></head>
<body><main>
<h1>Connect Free Generation Image</h1>
<p><strong>{client}</strong> wants to make images and videos for you with your NemoVideo credits.
After you choose, you go back to <strong>{target}</strong>.</p>
{error}
<form method="post" action="{action}">
<input type="hidden" name="request" value="{request}">
<fieldset><legend>Use my NemoVideo account</legend>
<label for="token">NemoVideo API token</label>
<input type="password" id="token" name="token" autocomplete="off" spellcheck="false"
 aria-describedby="token-help" maxlength="{max_token}">
<p id="token-help" class="small">From nemovideo.com &rarr; Settings &rarr; API Tokens. It is stored
encrypted on this server and sent only to NemoVideo.</p>
<button type="submit" name="choice" value="token">Connect my account</button>
</fieldset>
<fieldset><legend>No account yet?</legend>
<p>Start with a free anonymous account and its starter credits. Results include a link to claim the
project into a registered account later.</p>
<button type="submit" name="choice" value="anonymous">Continue with a free account</button>
</fieldset>
<p><button type="submit" name="choice" value="deny">Cancel</button></p>
</form>
</main></body></html>
"""

GONE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link expired</title></head>
<body><main><h1>This sign-in link has expired</h1>
<p>Go back to your assistant and connect again.</p></main></body></html>"""


@dataclass
class ConsentPage:
    """GET shows the page; POST records the choice and redirects back to the client."""

    provider: OAuthProvider
    checker: NemoTokenChecker
    base: Settings
    http: httpx2.AsyncClient
    action: str

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._post(request)
        return await self._show(request.query_params.get("request", ""))

    async def _show(self, pending_id: str, error: str = "", status: int = 200) -> Response:
        found = await self.provider.pending(pending_id) if pending_id else None
        if found is None:
            return HTMLResponse(GONE, status_code=400, headers=HEADERS)
        client, params = found
        target = params.redirect_uri.host or str(params.redirect_uri)
        body = PAGE.format(
            client=html.escape(client_label(client)),
            target=html.escape(target),
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
            action=html.escape(self.action),
            request=html.escape(pending_id),
            max_token=MAX_TOKEN_CHARS,
        )
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    async def _post(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        pending_id = str(form.get("request") or "")
        choice = str(form.get("choice") or "")
        if choice == "deny":
            return self._redirect(await self.provider.deny(pending_id))
        if await self.provider.pending(pending_id) is None:
            return HTMLResponse(GONE, status_code=400, headers=HEADERS)
        if choice == "anonymous":
            try:
                token, expires_at = await anonymous_token(self.base, self.http)
            except NemoError as err:
                log.warning("no anonymous account: %s", err.message)
                return await self._show(
                    pending_id, "NemoVideo did not issue a free account right now. Try again shortly.", 503
                )
            return self._redirect(
                await self.provider.complete(
                    pending_id, nemo_token=token, anonymous=True, nemo_expires_at=expires_at
                )
            )
        token = str(form.get("token") or "").strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            return await self._show(
                pending_id, "Paste your NemoVideo API token, or pick a free account.", 400
            )
        accepted = await self.checker.check(token)
        if accepted is None:
            return await self._show(pending_id, "NemoVideo cannot be reached to check the token; retry.", 503)
        if not accepted:
            return await self._show(pending_id, "NemoVideo did not accept this token; check it.", 400)
        return self._redirect(
            await self.provider.complete(pending_id, nemo_token=token, anonymous=False, nemo_expires_at=None)
        )

    @staticmethod
    def _redirect(url: str | None) -> Response:
        if url is None:
            return HTMLResponse(GONE, status_code=400, headers=HEADERS)
        return RedirectResponse(url, status_code=303, headers=HEADERS)


async def anonymous_token(base: Settings, http: httpx2.AsyncClient) -> tuple[str, float | None]:
    """A new free anonymous NemoVideo account (its own client id, so the weekly quota is its own)."""
    settings = Settings(
        api_url=base.api_url,
        web_url=base.web_url,
        client_id=str(uuid.uuid4()),
        skill_source=base.skill_source,
    )
    transport = Transport(
        http,
        api_url=settings.api_url,
        web_url=settings.web_url,
        headers=lambda: identity.attribution_headers(skill_source=settings.skill_source, client_name=None),
        retry_sleep=anyio.sleep,
    )
    # Auth caches what it fetches; a throwaway folder keeps the plain token off the server's disk.
    with tempfile.TemporaryDirectory(prefix="fgi-anon-") as scratch:
        credential = await Auth(settings, Store(Path(scratch)), transport).credential()
    return credential.token, credential.expires_at
