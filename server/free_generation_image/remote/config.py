"""Remote-mode settings, from ``FGI_*`` environment variables (the backend settings stay ``NEMO_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from free_generation_image.config import APP_NAME, Settings
from free_generation_image.errors import InvalidInput

MIN_SECRET_CHARS = 32
KEY_HELP = (
    'Set FGI_SECRET_KEY to a long random value, e.g. the output of python -c "import secrets; '
    'print(secrets.token_urlsafe(32))", and keep it: it decrypts the stored NemoVideo tokens.'
)


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number, got {raw!r}.", hint=f"Fix or unset {name}.") from None
    if value < minimum:
        raise InvalidInput(f"{name} must be at least {minimum:g}.", hint=f"Fix or unset {name}.")
    return value


@dataclass(frozen=True)
class RemoteConfig:
    """How the shared HTTP server runs. ``repr`` never shows the secret key."""

    base: Settings
    secret_key: str = field(repr=False)
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None  # what users type into their host; default http://host:port
    access_token_ttl: float = 3600.0
    refresh_token_ttl: float = 30 * 24 * 3600.0
    bearer_cache_seconds: float = 60.0
    max_open_users: int = 200
    idle_seconds: float = 900.0
    rate_per_minute: float = 120.0
    rate_burst: float = 30.0
    user_files_mb: float = 200.0
    stateless: bool = False
    trusted_hosts: tuple[str, ...] = ()
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    lease_seconds: float = 10.0

    @property
    def url(self) -> str:
        """The server's public base URL, no trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104 - a comparison
        return f"http://{host}:{self.port}"

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        base: Settings | None = None,
    ) -> RemoteConfig:
        """Read ``FGI_*`` (and ``NEMO_API_URL`` etc. for the backend); arguments win."""
        env = os.environ if env is None else env
        secret = (env.get("FGI_SECRET_KEY") or "").strip()
        if len(secret) < MIN_SECRET_CHARS:
            raise InvalidInput(
                f"FGI_SECRET_KEY is {'too short' if secret else 'not set'} "
                f"(at least {MIN_SECRET_CHARS} characters are needed in remote mode).",
                hint=KEY_HELP,
            )
        state = (env.get("FGI_STATE_DIR") or "").strip()
        public = (env.get("FGI_PUBLIC_URL") or "").strip() or None
        if public is not None and not public.startswith(("https://", "http://")):
            raise InvalidInput("FGI_PUBLIC_URL must be an http(s) URL.", hint="Fix or unset FGI_PUBLIC_URL.")
        hosts = tuple(h.strip() for h in (env.get("FGI_ALLOWED_HOSTS") or "").split(",") if h.strip())
        redis_url = (env.get("FGI_REDIS_URL") or "").strip() or None
        if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise InvalidInput(
                "FGI_REDIS_URL must be a redis://, rediss:// or unix:// URL.",
                hint="Fix or unset FGI_REDIS_URL.",
            )
        stateless = (env.get("FGI_STATELESS") or "").strip().lower()
        return cls(
            base=base or Settings.from_env(env),
            secret_key=secret,
            state_dir=Path(state).expanduser()
            if state
            else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "remote",
            host=host or (env.get("FGI_HOST") or "").strip() or "127.0.0.1",
            port=port if port is not None else int(_number(env, "FGI_PORT", 8000, minimum=0)),
            public_url=public,
            access_token_ttl=_number(env, "FGI_ACCESS_TOKEN_TTL", 3600.0, minimum=30),
            refresh_token_ttl=_number(env, "FGI_REFRESH_TOKEN_TTL", 30 * 24 * 3600.0, minimum=60),
            bearer_cache_seconds=_number(env, "FGI_BEARER_CACHE_SECONDS", 60.0),
            max_open_users=int(_number(env, "FGI_MAX_OPEN_USERS", 200, minimum=1)),
            idle_seconds=_number(env, "FGI_IDLE_SECONDS", 900.0, minimum=1),
            rate_per_minute=_number(env, "FGI_RATE_PER_MINUTE", 120.0, minimum=1),
            rate_burst=_number(env, "FGI_RATE_BURST", 30.0, minimum=1),
            user_files_mb=_number(env, "FGI_USER_FILES_MB", 200.0, minimum=1),
            # Replicas keep no session between requests: any of them answers any call.
            stateless=stateless in ("1", "true", "yes") or (redis_url is not None and stateless == ""),
            trusted_hosts=hosts,
            redis_url=redis_url,
            lease_seconds=_number(env, "FGI_LEASE_SECONDS", 10.0, minimum=1),
        )

    def with_port(self, port: int) -> RemoteConfig:
        return replace(self, port=port)
