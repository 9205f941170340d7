"""Settings, resolved in one place: explicit argument > NEMO_* environment > default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from free_generation_image.errors import InvalidInput

APP_NAME = "free-generation-image"
DEFAULT_API_URL = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_URL = "https://nemovideo.com"


def _clean(value: str | None) -> str | None:
    """Treat empty values and unsubstituted MCPB placeholders (``${user_config.x}``) as unset."""
    if value is None:
        return None
    value = value.strip()
    # A host that does not substitute a placeholder passes it through verbatim, possibly inside a longer
    # value (e.g. "${DOWNLOADS}/free-generation-image"): never use such a value as a path or a token.
    if not value or "${" in value:
        return None
    return value


def _http_url(name: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise InvalidInput(
            f"{name} must be an http(s) URL, got {value!r}.",
            hint=f"Fix or unset the {name} environment variable.",
        )
    return value.rstrip("/")


def default_output_dir() -> Path:
    """The user's Downloads folder / free-generation-image."""
    return Path(platformdirs.user_downloads_dir()) / APP_NAME


def default_config_dir() -> Path:
    """Our own platform config dir (not the shared nemovideo one: our own client id and quota)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build with :meth:`from_env`; tests pass explicit values."""

    api_url: str = DEFAULT_API_URL
    web_url: str = DEFAULT_WEB_URL
    token: str | None = None
    client_id: str | None = None
    language: str | None = None
    skill_source: str | None = None
    config_dir: Path = Path()
    output_dir: Path = Path()

    def __repr__(self) -> str:  # never show the token
        return (
            f"Settings(api_url={self.api_url!r}, web_url={self.web_url!r}, "
            f"token={'***' if self.token else None}, "
            f"config_dir={str(self.config_dir)!r}, output_dir={str(self.output_dir)!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read NEMO_* variables (and SKILL_SOURCE); keyword overrides win over the environment."""
        env = os.environ if env is None else env
        api_url = _http_url("NEMO_API_URL", _clean(env.get("NEMO_API_URL")) or DEFAULT_API_URL)
        web_url = _http_url("NEMO_WEB_URL", _clean(env.get("NEMO_WEB_URL")) or DEFAULT_WEB_URL)
        config_dir = _clean(env.get("NEMO_CONFIG_DIR"))
        output_dir = _clean(env.get("NEMO_OUTPUT_DIR"))
        settings = cls(
            api_url=api_url,
            web_url=web_url,
            token=_clean(env.get("NEMO_TOKEN")),
            client_id=_clean(env.get("NEMO_CLIENT_ID")),
            language=_clean(env.get("NEMO_LANGUAGE")),
            skill_source=_clean(env.get("SKILL_SOURCE")),
            config_dir=Path(config_dir).expanduser() if config_dir else default_config_dir(),
            output_dir=Path(output_dir).expanduser() if output_dir else default_output_dir(),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "api_url" in clean:
            clean["api_url"] = _http_url("api_url", str(clean["api_url"]))
        for key in ("config_dir", "output_dir"):
            if key in clean:
                clean[key] = Path(str(clean[key])).expanduser()
        return replace(settings, **clean)  # type: ignore[arg-type]
