"""OAuth state in one SQLite file (WAL): clients, pending authorizations, codes, grants, tokens.

Tokens and codes are stored as SHA-256 digests; the NemoVideo token behind a grant and a client's secret
only encrypted. Every call runs in a worker thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import anyio.to_thread

T = TypeVar("T")
TokenKind = Literal["access", "refresh"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, info TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
  id TEXT PRIMARY KEY, client_id TEXT NOT NULL, params TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS grants (
  id TEXT PRIMARY KEY, subject TEXT NOT NULL, client_id TEXT NOT NULL, token_enc TEXT NOT NULL,
  anonymous INTEGER NOT NULL, nemo_expires_at REAL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
  hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL, params TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, kind TEXT NOT NULL, grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL, scopes TEXT NOT NULL, resource TEXT, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_by_grant ON tokens(grant_id);
"""


@dataclass(frozen=True)
class GrantRow:
    id: str
    subject: str
    client_id: str
    token_enc: str
    anonymous: bool
    nemo_expires_at: float | None


@dataclass(frozen=True)
class TokenRow:
    kind: TokenKind
    grant_id: str
    client_id: str
    scopes: list[str]
    resource: str | None
    expires_at: float


@dataclass(frozen=True)
class CodeRow:
    grant_id: str
    client_id: str
    params: str
    expires_at: float


class OAuthStore(Protocol):
    """Where OAuth state lives: this SQLite file on one machine, Redis across replicas."""

    def close(self) -> None: ...
    async def put_client(self, client_id: str, info: str) -> None: ...
    async def get_client(self, client_id: str) -> str | None: ...
    async def put_pending(self, pending_id: str, client_id: str, params: str, expires_at: float) -> None: ...
    async def get_pending(self, pending_id: str) -> tuple[str, str] | None: ...
    async def take_pending(self, pending_id: str) -> tuple[str, str] | None: ...
    async def put_grant(self, grant: GrantRow) -> None: ...
    async def get_grant(self, grant_id: str) -> GrantRow | None: ...
    async def delete_grant(self, grant_id: str) -> None: ...
    async def put_code(self, code_hash: str, row: CodeRow) -> None: ...
    async def get_code(self, code_hash: str) -> CodeRow | None: ...
    async def take_code(self, code_hash: str) -> bool: ...
    async def put_token(self, token_hash: str, row: TokenRow) -> None: ...
    async def get_token(self, token_hash: str) -> TokenRow | None: ...
    async def rotate(self, grant_id: str, old_refresh_hash: str) -> bool: ...
    async def purge_expired(self, now: float | None = None) -> int: ...


class Database:
    """Thread-safe access to the state file; use the async methods from the event loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        path.chmod(0o600)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn(self._conn)

        return await anyio.to_thread.run_sync(locked)

    # ----------------------------------------------------------------- clients
    async def put_client(self, client_id: str, info: str) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO clients VALUES (?, ?, ?)", (client_id, info, time.time())
            )
        )

    async def get_client(self, client_id: str) -> str | None:
        row = await self._run(
            lambda c: c.execute("SELECT info FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        )
        return str(row[0]) if row else None

    # ----------------------------------------------------------------- pending authorizations
    async def put_pending(self, pending_id: str, client_id: str, params: str, expires_at: float) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO pending VALUES (?, ?, ?, ?)", (pending_id, client_id, params, expires_at)
            )
        )

    async def get_pending(self, pending_id: str) -> tuple[str, str] | None:
        """(client_id, params) of an unexpired pending authorization."""
        row = await self._run(
            lambda c: c.execute(
                "SELECT client_id, params FROM pending WHERE id = ? AND expires_at > ?",
                (pending_id, time.time()),
            ).fetchone()
        )
        return (str(row[0]), str(row[1])) if row else None

    async def take_pending(self, pending_id: str) -> tuple[str, str] | None:
        """Like :meth:`get_pending`, and deletes it: a consent form can be submitted once."""

        def take(c: sqlite3.Connection) -> tuple[str, str] | None:
            row = c.execute(
                "DELETE FROM pending WHERE id = ? AND expires_at > ? RETURNING client_id, params",
                (pending_id, time.time()),
            ).fetchone()
            return (str(row[0]), str(row[1])) if row else None

        return await self._run(take)

    # ----------------------------------------------------------------- grants, codes, tokens
    async def put_grant(self, grant: GrantRow) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    grant.id,
                    grant.subject,
                    grant.client_id,
                    grant.token_enc,
                    int(grant.anonymous),
                    grant.nemo_expires_at,
                    time.time(),
                ),
            )
        )

    async def get_grant(self, grant_id: str) -> GrantRow | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT id, subject, client_id, token_enc, anonymous, nemo_expires_at "
                "FROM grants WHERE id = ?",
                (grant_id,),
            ).fetchone()
        )
        if row is None:
            return None
        return GrantRow(str(row[0]), str(row[1]), str(row[2]), str(row[3]), bool(row[4]), row[5])

    async def delete_grant(self, grant_id: str) -> None:
        """Revocation: the grant, its encrypted NemoVideo token, its codes and tokens all go."""
        await self._run(lambda c: c.execute("DELETE FROM grants WHERE id = ?", (grant_id,)))

    async def put_code(self, code_hash: str, row: CodeRow) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO codes VALUES (?, ?, ?, ?, ?)",
                (code_hash, row.grant_id, row.client_id, row.params, row.expires_at),
            )
        )

    async def get_code(self, code_hash: str) -> CodeRow | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT grant_id, client_id, params, expires_at FROM codes WHERE hash = ?", (code_hash,)
            ).fetchone()
        )
        return CodeRow(str(row[0]), str(row[1]), str(row[2]), float(row[3])) if row else None

    async def take_code(self, code_hash: str) -> bool:
        """Delete a code; False if it was already used (a replay)."""
        deleted = await self._run(
            lambda c: c.execute("DELETE FROM codes WHERE hash = ?", (code_hash,)).rowcount
        )
        return deleted == 1

    async def put_token(self, token_hash: str, row: TokenRow) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    token_hash,
                    row.kind,
                    row.grant_id,
                    row.client_id,
                    " ".join(row.scopes),
                    row.resource,
                    row.expires_at,
                ),
            )
        )

    async def get_token(self, token_hash: str) -> TokenRow | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT kind, grant_id, client_id, scopes, resource, expires_at FROM tokens WHERE hash = ?",
                (token_hash,),
            ).fetchone()
        )
        if row is None or row[0] not in ("access", "refresh"):
            return None
        kind: TokenKind = "access" if row[0] == "access" else "refresh"
        return TokenRow(kind, str(row[1]), str(row[2]), str(row[3]).split(), row[4], float(row[5]))

    async def rotate(self, grant_id: str, old_refresh_hash: str) -> bool:
        """Drop a grant's tokens before new ones are issued; False if the refresh token was already used."""

        def rotate(c: sqlite3.Connection) -> bool:
            c.execute("BEGIN IMMEDIATE")
            try:
                used = c.execute("DELETE FROM tokens WHERE hash = ?", (old_refresh_hash,)).rowcount
                if used == 1:
                    c.execute("DELETE FROM tokens WHERE grant_id = ?", (grant_id,))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return used == 1

        return await self._run(rotate)

    async def purge_expired(self, now: float | None = None) -> int:
        """Forget expired pending requests, codes and tokens; returns how many rows went."""
        moment = time.time() if now is None else now

        def purge(c: sqlite3.Connection) -> int:
            total = 0
            for table in ("pending", "codes", "tokens"):
                total += c.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (moment,)).rowcount  # noqa: S608
            return total

        return await self._run(purge)
