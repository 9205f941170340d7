"""Fault injection: named faults, each with typed parameters, an optional path filter and a count.

A fault is armed (``FaultBook.add``) and fires at the point of the request flow where it makes sense
(its *stage*); each firing uses up one of its ``times`` (``None`` = every time). ``path`` is a
substring of the request path, e.g. ``"/run_sse"`` or ``"/api/render"``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Stage = Literal["http", "auth", "session", "credits", "turn", "render", "download"]


ParamType = type[int] | type[float] | type[str]


@dataclass(frozen=True)
class FaultKind:
    """What a fault does, where it fires, and its parameters: name -> (type, default)."""

    stage: Stage
    doc: str
    params: Mapping[str, tuple[ParamType, int | float | str | None]] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # allowed values of str params


# A None default means "derived from the config or the request when the fault fires".
FAULTS: dict[str, FaultKind] = {
    "rate_limited": FaultKind(
        "http", "HTTP 429 with Retry-After; nothing reaches the handler", {"retry_after": (float, None)}
    ),
    "server_error": FaultKind(
        "http", "5xx HTML error page (proxy style); nothing reaches the handler", {"status": (int, 503)}
    ),
    "malformed_json": FaultKind("http", "HTTP 200, JSON content type, truncated body; nothing happens"),
    "token_expired": FaultKind("auth", "the presented token expires now -> 1001 (a new one may be issued)"),
    "session_lost": FaultKind("session", "the named session is forgotten -> 1002 from now on"),
    "out_of_credits": FaultKind("credits", "the user's available credits drop to 0 -> 2001"),
    "silent_close": FaultKind("turn", "the turn works but its stream carries no text"),
    "slow_stream": FaultKind(
        "turn", "the generation takes `seconds` longer (heartbeats only)", {"seconds": (float, 3.0)}
    ),
    "drop_stream": FaultKind(
        "turn", "the connection drops after `after` events; the turn completes", {"after": (int, 2)}
    ),
    "error_frame": FaultKind(
        "turn",
        'after `after` events: data: {"error": message}; the turn stops',
        {"after": (int, 2), "message": (str, "Internal agent error")},
    ),
    "temporary_issue": FaultKind("turn", 'a trailing "I encountered a temporary issue" text'),
    "adk_error": FaultKind(
        "turn",
        "after `after` events: an event with errorCode/errorMessage; turn stops",
        {"after": (int, 1), "code": (str, "UNKNOWN_ERROR"), "message": (str, "The model returned an error.")},
    ),
    "render_failed": FaultKind(
        "render",
        "the next render ends in status failed",
        {"error": (str, "Render worker crashed (injected)")},
    ),
    "plan_402": FaultKind(
        "render",
        "render submit answers HTTP 402 (free plan), in the `envelope` 'code' or 'success'",
        {"envelope": (str, "code")},
        {"envelope": ("code", "success")},
    ),
    "drop_download": FaultKind(
        "download",
        "the connection drops after `after_bytes` of a file (default: half)",
        {"after_bytes": (int, None)},
    ),
}


@dataclass
class Fault:
    """An armed fault."""

    id: int
    name: str
    times: int | None
    path: str | None
    params: dict[str, Any]
    fired: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "id": self.id,
            "name": self.name,
            "times": self.times,
            "path": self.path,
            "params": dict(self.params),
            "fired": self.fired,
        }


def validate(name: str, times: int | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check a fault request; return its full parameter dict (defaults filled in). Raises ValueError."""
    kind = FAULTS.get(name)
    if kind is None:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times must be a positive integer or None (always)")
    unknown = sorted(set(params) - set(kind.params))
    if unknown:
        raise ValueError(
            f"fault {name!r} takes no parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(kind.params) or 'none'}"
        )
    merged = {key: default for key, (_, default) in kind.params.items()}
    for key, value in params.items():
        merged[key] = _coerce(name, key, *kind.params[key], value)
        allowed = kind.choices.get(key)
        if allowed is not None and merged[key] not in allowed:
            raise ValueError(f"fault {name!r}: {key} must be one of {', '.join(allowed)}")
    return merged


def _coerce(
    fault: str, key: str, kind: ParamType, default: object, value: object
) -> int | float | str | None:
    if value is None and default is None:
        return None
    if kind is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if kind is float:
            return float(value)
        if value == int(value):
            return int(value)
    raise ValueError(f"fault {fault!r}: parameter {key}={value!r} must be {kind.__name__}")


def parse_spec(spec: str) -> tuple[str, int | None]:
    """Parse the CLI form ``NAME[:times]`` (``times`` may be ``always``)."""
    name, _, count = spec.partition(":")
    if not count:
        return name, 1
    if count == "always":
        return name, None
    try:
        return name, int(count)
    except ValueError:
        raise ValueError(f"bad fault spec {spec!r}: use NAME, NAME:N or NAME:always") from None


class FaultBook:
    """The armed faults of one sandbox."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, name: str, *, times: int | None = 1, path: str | None = None, **params: Any) -> Fault:
        """Arm a fault (validated); it fires up to ``times`` times on matching requests."""
        fault = Fault(next(self._ids), name, times, path or None, validate(name, times, params))
        self._faults.append(fault)
        return fault

    def take(self, name: str, path: str) -> Fault | None:
        """Fire the first armed ``name`` fault matching ``path`` (uses one of its times), if any."""
        for fault in self._faults:
            if fault.name == name and (fault.path is None or fault.path in path):
                fault.fired += 1
                if fault.times is not None and fault.fired >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None

    def take_stage(self, stage: Stage, path: str) -> Fault | None:
        """Fire the first armed fault of ``stage`` matching ``path``."""
        for fault in list(self._faults):
            if FAULTS[fault.name].stage == stage and (fault.path is None or fault.path in path):
                return self.take(fault.name, path)
        return None

    def armed(self) -> list[Fault]:
        """Faults still armed, in arming order."""
        return list(self._faults)

    def clear(self) -> None:
        """Disarm everything."""
        self._faults.clear()
