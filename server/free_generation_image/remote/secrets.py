"""Keys derived from ``FGI_SECRET_KEY``: AES-GCM for NemoVideo tokens at rest, HMAC for identities."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
VERSION = b"v1"


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fgi-remote/" + purpose).derive(
        secret.encode()
    )


def new_token(prefix: str) -> str:
    """An opaque bearer value with 256 bits of entropy; the prefix tells our tokens from NemoVideo's."""
    return prefix + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """What the database stores instead of a token: a leaked database holds no usable token."""
    return hashlib.sha256(value.encode()).hexdigest()


class Keyring:
    """Encrypts and fingerprints secrets; ``repr`` shows nothing."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(_derive(secret, b"token-encryption"))
        self._mac_key = _derive(secret, b"identity")

    def __repr__(self) -> str:
        return "Keyring(***)"

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """AES-256-GCM with a random nonce; ``context`` (the grant id) is bound as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), VERSION + context.encode())
        return VERSION.decode() + "." + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str) -> str | None:
        """The plaintext, or None when the value was tampered with, moved, or sealed with another key."""
        version, _, body = token.partition(".")
        if version.encode() != VERSION:
            return None
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return self._aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], VERSION + context.encode()
            ).decode()
        except (InvalidTag, ValueError):
            return None

    def fingerprint(self, value: str) -> str:
        """Keyed hash: the same NemoVideo token always maps to the same user, and nobody without the key
        can compute which user (or which directory) a token belongs to."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()[:40]

    def subject_for_token(self, nemo_token: str) -> str:
        """The user identity behind a NemoVideo token, shared by header and OAuth connections."""
        return "nemo-" + self.fingerprint("token:" + nemo_token)

    def directory_for(self, subject: str) -> str:
        """A user's state folder name: a hash of the identity, never the token."""
        return self.fingerprint("dir:" + subject)
