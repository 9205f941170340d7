"""The three response envelopes of contract §1.3, and ApiError: a refusal that knows its envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from starlette.responses import JSONResponse

Envelope = Literal["code", "success", "detail"]


def ok(data: Any) -> JSONResponse:
    """``code`` envelope success (auth, tasks, upload, credits, state)."""
    return JSONResponse({"code": 0, "message": "success", "data": data})


def success(data: Any, *, status: int = 200, mirror: Mapping[str, Any] | None = None) -> JSONResponse:
    """``success`` envelope (render proxy); ``mirror`` adds top-level keys for the §6.2 compat shape."""
    return JSONResponse({"success": True, "data": data, **(mirror or {})}, status_code=status)


def raw(body: Mapping[str, Any], *, status: int = 200) -> JSONResponse:
    """Legacy body with no envelope (contract §2.12)."""
    return JSONResponse(dict(body), status_code=status)


class ApiError(Exception):
    """A refusal the app turns into a response: code/success/detail envelope, HTTP status, headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int | None = None,
        envelope: Envelope = "code",
        headers: Mapping[str, str] | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code if code is not None else status
        self.envelope = envelope
        self.headers = dict(headers or {})
        self.detail = detail  # a structured "detail" (FastAPI validation errors) instead of the message

    def response(self) -> JSONResponse:
        """The HTTP response for this refusal."""
        body: dict[str, Any]
        if self.envelope == "success":
            body = {"success": False, "error": self.message}
        elif self.envelope == "detail":  # FastAPI/ADK style (contract §4.1)
            body = {"detail": self.message if self.detail is None else self.detail}
        else:
            body = {"code": self.code, "message": self.message, "data": None}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def invalid(field: str, message: str, kind: str = "value_error") -> ApiError:
    """HTTP 422 the way FastAPI/pydantic reports a bad request body (contract §4.1)."""
    return ApiError(
        422, message, envelope="detail", detail=[{"type": kind, "loc": ["body", field], "msg": message}]
    )


def bad_request(message: str, *, envelope: Envelope = "code") -> ApiError:
    """HTTP 400. GUESS: the code envelope then carries ``code: 400`` (contract only names the status)."""
    return ApiError(400, message, envelope=envelope)
