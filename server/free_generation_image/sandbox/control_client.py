"""Drive a running sandbox (in this process or another) through its ``/_sandbox`` control API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

import httpx2

from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.control import PREFIX
from free_generation_image.sandbox.journal import JournalEntry


@dataclass(frozen=True)
class Credentials:
    """A user made through the control API."""

    user_id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class UserInfo:
    """A user's credits."""

    user_id: str
    anonymous: bool
    available: int
    frozen: int
    total: int


class SandboxControl:
    """Drive a running sandbox (in-process or another process) through its control API."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        # Loading the TLS trust store costs ~50 ms and plain-HTTP sandboxes never use it.
        self._http = httpx2.Client(
            base_url=self.url + PREFIX,
            timeout=timeout,
            trust_env=False,
            verify=not self.url.startswith("http://"),
        )

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        response = self._http.request(method, path, json=body, params=params, **extra)
        if response.status_code >= 400:
            message = response.json().get("error", response.text)
            raise (KeyError(message) if response.status_code == 404 else ValueError(message))
        return response.json()

    def inject(
        self, name: str, times: int | None = 1, path: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Arm fault ``name`` for ``times`` matching requests (``None`` = always); returns the armed fault."""
        result: dict[str, Any] = self._call(
            "POST", "/faults", {"name": name, "times": times, "path": path, "params": params}
        )
        return result

    def faults(self) -> list[dict[str, Any]]:
        """Faults still armed."""
        armed: list[dict[str, Any]] = self._call("GET", "/faults")["armed"]
        return armed

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._call("DELETE", "/faults")

    def journal(self, path: str | None = None, kind: str | None = None) -> list[JournalEntry]:
        """Journal entries in order, optionally those whose path contains ``path`` and/or of one kind."""
        params = {k: v for k, v in (("path", path), ("kind", kind)) if v is not None}
        return [JournalEntry.from_json(e) for e in self._call("GET", "/journal", params=params)["entries"]]

    def requests(self, path: str | None = None, method: str | None = None) -> list[JournalEntry]:
        """Only request entries, optionally filtered by path substring and method."""
        return [e for e in self.journal(path, "request") if method is None or e.method == method]

    def clear_journal(self) -> None:
        """Forget the journal."""
        self._call("DELETE", "/journal")

    def reset(self) -> None:
        """Forget everything, cancel running work, restore the initial config."""
        self._call("POST", "/reset")

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change settings of the running sandbox (e.g. ``render_seconds=37``); returns the new config."""
        return SandboxConfig(**self._call("PATCH", "/config", changes))

    def get_config(self) -> SandboxConfig:
        """The current settings."""
        return SandboxConfig(**self._call("GET", "/config"))

    def new_user(self, credits: int | None = None, *, anonymous: bool = True) -> Credentials:
        """A user and token that bypass the anonymous-token quota."""
        body: dict[str, Any] = {"anonymous": anonymous}
        if credits is not None:
            body["credits"] = credits
        result = self._call("POST", "/users", body)
        return Credentials(result["user_id"], result["token"])

    def user(self, user_id: str) -> UserInfo:
        """A user's credits."""
        return UserInfo(**self._call("GET", f"/users/{user_id}"))

    def set_credits(self, user_id: str, available: int) -> UserInfo:
        """Set a user's spendable credits."""
        return UserInfo(**self._call("PATCH", f"/users/{user_id}", {"available": available}))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no turn or render runs; False on timeout."""
        idle: bool = self._call("POST", "/wait-idle", {"timeout": timeout}, timeout=timeout + 10)["idle"]
        return idle

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
