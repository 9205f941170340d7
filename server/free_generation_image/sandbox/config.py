"""SandboxConfig: every knob of the local backend, validated in one place.

Defaults follow shared/nemo-api.md where it states or recommends a value; the rest are GUESSes chosen
so a person trying the sandbox sees a believable pace. Tests shrink the time knobs to milliseconds.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from free_generation_image.sandbox.faults import FAULTS, parse_spec

Framing = Literal["adk", "typed"]
HeartbeatStyle = Literal["typed", "empty", "comment"]
PollShape = Literal["data", "mirror", "raw"]

WEEK_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    """Knobs of one sandbox run. Change a running sandbox with ``Sandbox.configure(**changes)``."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port

    # Clocks (seconds of real time). Contract §9: generation 100-300 s, editing 10-30 s, render ~30 s.
    generation_seconds: float = 6.0
    edit_seconds: float = 2.0
    render_seconds: float = 5.0
    heartbeat_interval: float = 15.0  # contract §4.2 GUESS

    # /run_sse dialect (contract §4.2 CONFLICT: both must be producible).
    framing: Framing = "adk"
    heartbeat: HeartbeatStyle = "typed"
    author: str = "nemo_agent"  # GUESS: ADK author of agent events
    gui_phrases: bool = True  # the backend agent "thinks users have a GUI" (contract §3)
    silent_edit_probability: float = 0.0  # real: ~0.3; 0 keeps tests deterministic
    tool_prefix: str = ""  # renames the agent's internal tools (clients must never show any tool name)
    seed: int = 0

    # Media: real files, scaled down for tests and load.
    media_scale: float = 1.0
    fps: int = 30
    render_cache: bool = False  # reuse an identical composition's output (load tests)

    # Accounts and credits (contract §2.1, §2.6, §9; costs are GUESSes).
    starting_credits: int = 100
    cost_video: int = 100
    cost_image: int = 30
    cost_edit: int = 50
    token_ttl_seconds: float = WEEK_SECONDS
    quota_enabled: bool = True
    tokens_per_client: int = 1
    tokens_per_ip: int = 10
    quota_window_seconds: float = WEEK_SECONDS
    retry_after_seconds: float = 30.0
    max_upload_bytes: int = 500 * 1024 * 1024  # contract §2.5 GUESS

    # Where the contract leaves the wire shape open (GUESSes, switchable).
    require_attribution: bool = True  # render submit without X-Skill-* -> HTTP 402
    poll_shape: PollShape = "data"  # data.outputUrl | + top-level mirror | raw legacy body
    status_1001: int = 401  # HTTP status carrying code 1001 (bad/expired token)
    status_1002: int = 200  # ... code 1002 on JSON endpoints
    status_4001: int = 200
    status_4002: int = 200
    sse_status_1002: int = 404  # ... code 1002 before a /run_sse stream opens
    sse_status_2001: int = 402  # ... code 2001 before a /run_sse stream opens

    journal_limit: int = 10_000
    # Faults armed at start and after every reset, as "NAME[:times]" (times may be "always").
    faults: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            expected = hints[field.name]
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, field.name, float(value))
            elif get_origin(expected) is tuple and isinstance(value, list | tuple):
                object.__setattr__(self, field.name, tuple(value))  # JSON gives lists
            elif not _matches(value, expected):
                raise ValueError(f"{field.name}={value!r} is not a valid {_describe(expected)}")
        for name in (
            "generation_seconds",
            "edit_seconds",
            "render_seconds",
            "token_ttl_seconds",
            "quota_window_seconds",
            "retry_after_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be > 0")
        if not 0 < self.media_scale <= 4:
            raise ValueError("media_scale must be in (0, 4]")
        if not 0 <= self.silent_edit_probability <= 1:
            raise ValueError("silent_edit_probability must be in [0, 1]")
        if not 1 <= self.fps <= 60:
            raise ValueError("fps must be in [1, 60]")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be in [0, 65535]")
        for name, _ in self.fault_specs():
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")

    def fault_specs(self) -> list[tuple[str, int | None]]:
        """``faults`` parsed into (name, times)."""
        return [parse_spec(spec) for spec in self.faults]

    def with_changes(self, **changes: Any) -> SandboxConfig:
        """A copy with ``changes`` applied and validated; unknown names raise ValueError."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown sandbox setting(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict of every setting."""
        return dataclasses.asdict(self)


def _matches(value: object, expected: Any) -> bool:
    if get_origin(expected) is Literal:
        return value in get_args(expected)
    if get_origin(expected) is tuple:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    if expected is bool:
        return isinstance(value, bool)
    if expected in (int, float):
        return isinstance(value, expected) and not isinstance(value, bool)
    return isinstance(value, expected)


def _describe(expected: Any) -> str:
    if get_origin(expected) is Literal:
        return " | ".join(repr(v) for v in get_args(expected))
    return getattr(expected, "__name__", str(expected))
