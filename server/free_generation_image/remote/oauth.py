"""The OAuth 2.1 authorization server behind Claude.ai / ChatGPT connectors, on the SDK's auth support.

The SDK serves metadata discovery, dynamic client registration, /authorize (PKCE S256 required), /token
(code and refresh grants, PKCE and redirect checks) and /revoke; this provider stores their state in
SQLite. ``authorize`` sends the person to our consent page (consent.py), which ends in :meth:`complete`.
Access and refresh tokens are opaque random strings, stored only as digests; refresh tokens rotate.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from urllib.parse import urlencode, urlsplit

from mcp.server.auth.provider import (
    AuthorizationCode,
    AuthorizationParams,
    IdentityAssertionParams,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from free_generation_image.remote.db import CodeRow, GrantRow, OAuthStore, TokenRow
from free_generation_image.remote.identity import UserAccess
from free_generation_image.remote.secrets import Keyring, digest, new_token

log = logging.getLogger(__name__)

ACCESS_PREFIX = "fgi_at_"  # token prefixes, not secrets
REFRESH_PREFIX = "fgi_rt_"
CODE_PREFIX = "fgi_ac_"
PENDING_SECONDS = 600.0  # time to fill in the consent page
CODE_SECONDS = 300.0
CONSENT_PATH = "/authorize/consent"
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
FORBIDDEN_SCHEMES = ("javascript", "data", "file", "vbscript", "about", "blob")


class GrantedCode(AuthorizationCode):
    grant_id: str


class GrantedRefresh(RefreshToken):
    grant_id: str


class GrantedAccess(UserAccess):
    grant_id: str


def redirect_problem(uri: str) -> str | None:
    """Why a redirect URI is refused (OAuth 2.1 §2.3.1 / §8.4.2), or None when it is acceptable.

    https anywhere; http only to a loopback host (native apps); private-use schemes (``cursor://``) for
    native apps; never script/data schemes, fragments or embedded credentials.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme:
        return "it is not an absolute URI"
    if scheme in FORBIDDEN_SCHEMES:
        return f"the {scheme}: scheme can run code or read local data"
    if parts.fragment:
        return "it has a fragment"
    if parts.username or parts.password:
        return "it carries credentials"
    if scheme == "http" and (parts.hostname or "") not in LOOPBACK:
        return "plain http is only allowed to a loopback address"
    if scheme in ("http", "https") and not parts.hostname:
        return "it has no host"
    return None


class OAuthProvider:
    """``OAuthAuthorizationServerProvider`` over an :class:`OAuthStore`; also the verifier of our tokens."""

    def __init__(
        self,
        db: OAuthStore,
        keyring: Keyring,
        *,
        issuer: str,
        resource: str,
        access_ttl: float = 3600.0,
        refresh_ttl: float = 30 * 24 * 3600.0,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.issuer = issuer.rstrip("/")
        self.resource = resource
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    # ----------------------------------------------------------------- clients
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        info = await self.db.get_client(client_id)
        if not info:
            return None
        client = OAuthClientInformationFull.model_validate_json(info)
        if client.client_secret is not None:  # sealed at rest; the SDK compares the plaintext
            secret = self.keyring.decrypt(client.client_secret, context="client:" + client_id)
            if secret is None:  # another key, or the row was tampered with: no such client
                return None
            client = client.model_copy(update={"client_secret": secret})
        return client

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        for uri in client_info.redirect_uris or []:
            problem = redirect_problem(str(uri))
            if problem:
                raise RegistrationError("invalid_redirect_uri", f"Redirect URI {uri} refused: {problem}.")
        client_id = client_info.client_id or ""
        stored = client_info
        if client_info.client_secret is not None:
            sealed = self.keyring.encrypt(client_info.client_secret, context="client:" + client_id)
            stored = client_info.model_copy(update={"client_secret": sealed})
        await self.db.put_client(client_id, stored.model_dump_json())

    # ----------------------------------------------------------------- authorization
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        """Park the request; send the person to the consent page (the SDK checked client and redirect)."""
        pending_id = secrets.token_urlsafe(32)
        await self.db.put_pending(
            pending_id, client.client_id or "", params.model_dump_json(), time.time() + PENDING_SECONDS
        )
        return f"{self.issuer}{CONSENT_PATH}?{urlencode({'request': pending_id})}"

    async def pending(self, pending_id: str) -> tuple[OAuthClientInformationFull, AuthorizationParams] | None:
        """The client and request behind a consent page, if it is still open."""
        found = await self.db.get_pending(pending_id)
        if found is None:
            return None
        client = await self.get_client(found[0])
        if client is None:
            return None
        return client, AuthorizationParams.model_validate_json(found[1])

    async def complete(
        self, pending_id: str, *, nemo_token: str, anonymous: bool, nemo_expires_at: float | None
    ) -> str | None:
        """Consent given: store the grant (token encrypted) and return the redirect carrying the code."""
        found = await self.db.take_pending(pending_id)
        if found is None:
            return None
        client_id, raw = found
        params = AuthorizationParams.model_validate_json(raw)
        grant_id = uuid.uuid4().hex
        subject = ("anon-" + uuid.uuid4().hex) if anonymous else self.keyring.subject_for_token(nemo_token)
        await self.db.put_grant(
            GrantRow(
                id=grant_id,
                subject=subject,
                client_id=client_id,
                token_enc=self.keyring.encrypt(nemo_token, context=grant_id),
                anonymous=anonymous,
                nemo_expires_at=nemo_expires_at,
            )
        )
        code = new_token(CODE_PREFIX)
        await self.db.put_code(
            digest(code),
            CodeRow(
                grant_id=grant_id, client_id=client_id, params=raw, expires_at=time.time() + CODE_SECONDS
            ),
        )
        log.info("authorization granted", extra={"client_id": client_id, "anonymous": anonymous})
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def deny(self, pending_id: str) -> str | None:
        """Consent refused: the redirect telling the client so."""
        found = await self.db.take_pending(pending_id)
        if found is None:
            return None
        params = AuthorizationParams.model_validate_json(found[1])
        return construct_redirect_uri(
            str(params.redirect_uri),
            error="access_denied",
            error_description="The user did not connect an account.",
            state=params.state,
        )

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GrantedCode | None:
        row = await self.db.get_code(digest(authorization_code))
        if row is None or row.client_id != client.client_id:
            return None
        grant = await self.db.get_grant(row.grant_id)
        if grant is None:
            return None
        params = AuthorizationParams.model_validate_json(row.params)
        return GrantedCode(
            code=authorization_code,
            scopes=params.scopes or [],
            expires_at=row.expires_at,
            client_id=row.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=grant.subject,
            grant_id=row.grant_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GrantedCode
    ) -> OAuthToken:
        if not await self.db.take_code(digest(authorization_code.code)):
            # A replayed code: revoke what it produced (OAuth 2.1 §4.1.3).
            await self.db.delete_grant(authorization_code.grant_id)
            raise TokenError("invalid_grant", "This authorization code was already used.")
        return await self._issue(
            authorization_code.grant_id, client, authorization_code.scopes, authorization_code.resource
        )

    # ----------------------------------------------------------------- refresh and access tokens
    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantedRefresh | None:
        if not refresh_token.startswith(REFRESH_PREFIX):
            return None
        row = await self.db.get_token(digest(refresh_token))
        if row is None or row.kind != "refresh" or row.client_id != client.client_id:
            return None
        grant = await self.db.get_grant(row.grant_id)
        if grant is None:
            return None
        return GrantedRefresh(
            token=refresh_token,
            client_id=row.client_id,
            scopes=row.scopes,
            expires_at=int(row.expires_at),
            resource=row.resource,
            subject=grant.subject,
            grant_id=row.grant_id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: GrantedRefresh, scopes: list[str]
    ) -> OAuthToken:
        if not await self.db.rotate(refresh_token.grant_id, digest(refresh_token.token)):
            raise TokenError("invalid_grant", "This refresh token was already used or revoked.")
        grant = await self.db.get_grant(refresh_token.grant_id)
        if grant is None or (grant.nemo_expires_at is not None and grant.nemo_expires_at <= time.time()):
            await self.db.delete_grant(refresh_token.grant_id)
            raise TokenError(
                "invalid_grant", "The NemoVideo account behind this connection expired; reconnect."
            )
        return await self._issue(grant.id, client, scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> GrantedAccess | None:
        if not token.startswith(ACCESS_PREFIX):
            return None
        row = await self.db.get_token(digest(token))
        if row is None or row.kind != "access" or row.expires_at <= time.time():
            return None
        if row.resource and row.resource.rstrip("/") != self.resource.rstrip("/"):
            return None  # issued for another resource server (RFC 8707)
        grant = await self.db.get_grant(row.grant_id)
        if grant is None:
            return None
        nemo_token = self.keyring.decrypt(grant.token_enc, context=grant.id)
        if nemo_token is None:
            log.error("a stored NemoVideo token cannot be decrypted (FGI_SECRET_KEY changed?)")
            return None
        return GrantedAccess(
            token=digest(token),
            client_id=row.client_id,
            scopes=row.scopes,
            expires_at=int(row.expires_at),
            resource=row.resource,
            subject=grant.subject,
            nemo_token=nemo_token,
            anonymous=grant.anonymous,
            grant_id=grant.id,
        )

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "Identity assertions are not accepted here.")

    async def revoke_token(self, token: GrantedAccess | GrantedRefresh) -> None:
        """Revoking either token ends the whole grant, its stored NemoVideo token included."""
        grant_id = getattr(token, "grant_id", None)
        if isinstance(grant_id, str):
            await self.db.delete_grant(grant_id)
            log.info("grant revoked")

    async def _issue(
        self, grant_id: str, client: OAuthClientInformationFull, scopes: list[str], resource: str | None
    ) -> OAuthToken:
        grant = await self.db.get_grant(grant_id)
        if grant is None:
            raise TokenError("invalid_grant", "This connection was revoked.")
        now = time.time()
        access_expires = now + self.access_ttl
        refresh_expires = now + self.refresh_ttl
        if grant.nemo_expires_at is not None:  # an anonymous account ends with its token
            access_expires = min(access_expires, grant.nemo_expires_at)
            refresh_expires = min(refresh_expires, grant.nemo_expires_at)
        access, refresh = new_token(ACCESS_PREFIX), new_token(REFRESH_PREFIX)
        client_id = client.client_id or grant.client_id
        await self.db.put_token(
            digest(access), TokenRow("access", grant_id, client_id, scopes, resource, access_expires)
        )
        await self.db.put_token(
            digest(refresh), TokenRow("refresh", grant_id, client_id, scopes, resource, refresh_expires)
        )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",  # noqa: S106 - the scheme name
            expires_in=max(1, int(access_expires - now)),
            scope=" ".join(scopes) or None,
            refresh_token=refresh,
        )


def client_label(client: OAuthClientInformationFull) -> str:
    """What the consent page calls the client: its registered name, else its redirect host."""
    if client.client_name:
        return str(client.client_name)
    uris: list[AnyUrl] = list(client.redirect_uris or [])
    return (uris[0].host or str(uris[0])) if uris else "an MCP client"
