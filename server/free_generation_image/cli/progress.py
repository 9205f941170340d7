"""Progress display for the CLI, always on stderr so ``--json`` stdout stays one clean document.

On a terminal: one status line redrawn in place (spinner or bar, elapsed time, transfer speed), with the
agent's text streamed above it as it arrives. Elsewhere: plain, rate-limited lines. With ``--quiet``:
nothing. The formatting helpers are pure; :class:`Activity` takes its clock and stream as parameters.
Backend text (agent text, progress messages) is cleaned of escape sequences and control characters
before it is written: only this module's own sequences (redraw, dim) reach the terminal.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal, TextIO

import anyio

from free_generation_image.jobs import Progress
from free_generation_image.nemo.sanitize import clean, clean_line

DisplayMode = Literal["live", "plain", "off"]

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNER_ASCII = "|/-\\"
FRAME_SECONDS = 0.1
TEXT_QUIET_SECONDS = 1.0  # agent text arrives in bursts; redraw the status line only once it pauses
PLAIN_INTERVAL = 2.0  # at most one plain progress line per this many seconds (message changes only)
RATE_WINDOW = 3.0
CLEAR_LINE = "\r\x1b[K"
DIM, RESET = "\x1b[2m", "\x1b[0m"


def choose_mode(stream: TextIO, *, quiet: bool, debug: bool, env: Mapping[str, str]) -> DisplayMode:
    """Live only on a real terminal; plain when piped, on a dumb terminal or with --debug (log lines)."""
    if quiet:
        return "off"
    if debug or env.get("TERM") == "dumb" or not _isatty(stream):
        return "plain"
    return "live"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def supports_unicode(stream: TextIO) -> bool:
    """Whether the stream's encoding can show the spinner and bar glyphs."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        (SPINNER + "█░·").encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# --------------------------------------------------------------------------- pure formatting
def format_elapsed(seconds: float) -> str:
    """``7s``, ``1m05s``, ``2h03m``."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_bytes(count: float) -> str:
    """Decimal units, one decimal from kB up: ``512 B``, ``3.2 MB``."""
    if count < 1000:
        return f"{int(count)} B"
    for unit in ("kB", "MB", "GB"):
        count /= 1000
        if count < 1000:
            return f"{count:.1f} {unit}"
    return f"{count / 1000:.1f} TB"


def bar(percent: float, width: int, *, unicode: bool = True) -> str:
    """A fixed-width bar for 0..100 (clamped)."""
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    full, empty = ("█", "░") if unicode else ("#", "-")
    return full * filled + empty * (width - filled)


def char_width(char: str) -> int:
    """Terminal columns a character takes: 2 for wide CJK, 0 for combining marks and controls."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Cc", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def one_line(text: str) -> str:
    """Collapse newlines and runs of spaces, drop control characters: a status line must stay one line."""
    return clean_line(text)


def fit(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` terminal columns (an ellipsis marks the cut), so a redraw never wraps."""
    if sum(char_width(c) for c in text) <= width:
        return text
    out, used = [], 0
    for char in text:
        w = char_width(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


class Rate:
    """Transfer speed over a sliding window of (time, bytes done) samples."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, done: int) -> None:
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()

    def per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None


@dataclass
class ActivityState:
    """What the status line shows: everything it needs, nothing about where it is drawn."""

    title: str
    started: float
    message: str = ""
    percent: float | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    rate: Rate = field(default_factory=Rate)


def status_line(state: ActivityState, now: float, frame: int, width: int, *, unicode: bool = True) -> str:
    """The one-line summary: spinner (or bar when a percentage is known), title, message, numbers, elapsed."""
    sep = " · " if unicode else " - "
    parts = [one_line(state.title)]
    if state.bytes_done is not None:
        transfer = format_bytes(state.bytes_done)
        if state.bytes_total:
            transfer += f" / {format_bytes(state.bytes_total)}"
        speed = state.rate.per_second()
        if speed is not None:
            transfer += f" ({format_bytes(speed)}/s)"
        parts.append(transfer)
    elif state.message:
        parts.append(one_line(state.message))
    parts.append(format_elapsed(now - state.started))
    percent = state.percent
    if state.bytes_done is not None and state.bytes_total:
        percent = 100 * state.bytes_done / state.bytes_total
    if percent is not None:
        head = f"{bar(percent, 20, unicode=unicode)} {percent:3.0f}%"
    else:
        frames = SPINNER if unicode else SPINNER_ASCII
        head = frames[frame % len(frames)]
    return fit(f"{head} {sep.join(parts)}", max(10, width - 1))


def plain_line(state: ActivityState, now: float) -> str:
    """A log-style line for non-terminals: ``[12s] Rendering: rendering 40%``."""
    return f"[{format_elapsed(now - state.started)}] {state.title}: {plain_detail(state)}"


def plain_detail(state: ActivityState) -> str:
    """What a plain line says besides the time: the message, or the bytes of a download."""
    if state.bytes_done is None:
        return one_line(state.message) or "working"
    total = f" / {format_bytes(state.bytes_total)}" if state.bytes_total else ""
    return format_bytes(state.bytes_done) + total


# --------------------------------------------------------------------------- the live part
class Activity:
    """One long operation on screen. Call it with each :class:`Progress` (it is a ``ProgressFn``)."""

    def __init__(
        self,
        stream: TextIO,
        mode: DisplayMode,
        title: str,
        *,
        clock: Callable[[], float],
        width: Callable[[], int],
        unicode: bool,
        dim: bool = True,
        plain_interval: float = PLAIN_INTERVAL,
    ) -> None:
        self.stream = stream
        self.mode = mode
        self.state = ActivityState(title=title, started=clock())
        self._clock = clock
        self._width = width
        self._unicode = unicode
        self._dim = dim and mode == "live"
        self._plain_interval = plain_interval
        self._frame = 0
        self._drawn = False  # a status line is on screen (live mode)
        self._mid_text = False  # the cursor is after agent text that did not end with a newline
        self._last_text_at = float("-inf")
        self._last_plain: tuple[float, str] | None = None
        self._consumed: Progress | None = None

    async def __call__(self, progress: Progress) -> None:
        self.update(progress)

    def update(self, progress: Progress) -> None:
        """Take one progress report: new agent text is written, the rest updates the status line."""
        # Job.wait re-delivers its latest Progress on every tick: its text must be shown only once.
        fresh = progress is not self._consumed
        self._consumed = progress
        if progress.message:
            self.state.message = progress.message
        if progress.percent is not None:
            self.state.percent = progress.percent
        if fresh and progress.text_delta:
            self.text(progress.text_delta)
            return
        if progress.bytes_done is not None:
            self.transfer(progress.bytes_done, progress.bytes_total)
            return
        self.state.bytes_done = self.state.bytes_total = None  # any other report ends a download's line
        self._refresh()

    def text(self, delta: str) -> None:
        """Stream agent text as it arrives (dimmed on a terminal, above the status line)."""
        delta = clean(delta)
        if self.mode == "off" or not delta:
            return
        self._erase()
        self.stream.write(f"{DIM}{delta}{RESET}" if self._dim else delta)
        self.stream.flush()
        self._mid_text = not delta.endswith("\n")
        self._last_text_at = self._clock()

    def transfer(self, done: int, total: int | None = None) -> None:
        """Bytes downloaded so far (and the expected size, when known)."""
        if self.state.bytes_done is None or done < self.state.bytes_done:  # a new file
            self.state.rate = Rate()
            self._last_plain = None  # always announce the start of a download
        self.state.bytes_done = done
        self.state.bytes_total = total or None
        self.state.rate.add(self._clock(), done)
        self._refresh()

    def _refresh(self) -> None:
        if self.mode == "plain":
            self._plain_progress()
        else:
            self.draw()

    def draw(self) -> None:
        """Redraw the status line (live mode), unless agent text is still streaming."""
        if self.mode != "live":
            return
        now = self._clock()
        if self._mid_text:
            if now - self._last_text_at < TEXT_QUIET_SECONDS:
                return
            self.stream.write("\n")
            self._mid_text = False
        self._frame += 1
        self.stream.write(
            CLEAR_LINE + status_line(self.state, now, self._frame, self._width(), unicode=self._unicode)
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Leave the terminal clean: no half line of text, no stale status line."""
        if self.mode == "off":
            return
        self._erase()
        if self._mid_text:
            self.stream.write("\n")
            self._mid_text = False
        self.stream.flush()

    def _erase(self) -> None:
        if self._drawn:
            self.stream.write(CLEAR_LINE)
            self._drawn = False

    def _plain_progress(self) -> None:
        now = self._clock()
        detail = plain_detail(self.state)
        if self._last_plain is not None:
            last_at, last_detail = self._last_plain
            if detail == last_detail or now - last_at < self._plain_interval:
                return
        if self._mid_text:
            self.stream.write("\n")
            self._mid_text = False
        self.stream.write(plain_line(self.state, now) + "\n")
        self.stream.flush()
        self._last_plain = (now, detail)


class Display:
    """Where activities are drawn, and how (chosen once per command)."""

    def __init__(
        self,
        stream: TextIO,
        mode: DisplayMode,
        *,
        clock: Callable[[], float],
        width: Callable[[], int] | None = None,
        unicode: bool | None = None,
        dim: bool = True,
    ) -> None:
        self.stream = stream
        self.mode = mode
        self.clock = clock
        self.width = width or (lambda: 80)
        self.unicode = supports_unicode(stream) if unicode is None else unicode
        self.dim = dim

    def note(self, line: str) -> None:
        """A one-off line of commentary (skipped with --quiet)."""
        if self.mode != "off":
            self.stream.write(clean(line) + "\n")
            self.stream.flush()

    @asynccontextmanager
    async def activity(self, title: str) -> AsyncIterator[Activity]:
        """Show ``title`` with a spinner ticking while the body runs; the line is cleared at the end."""
        act = Activity(
            self.stream,
            self.mode,
            title,
            clock=self.clock,
            width=self.width,
            unicode=self.unicode,
            dim=self.dim,
        )
        try:
            if self.mode != "live":
                yield act
                return
            # The body's error is carried past the task group by hand: raised inside it, it would come out
            # wrapped in an ExceptionGroup and callers could no longer catch FGIError. Cancellation (Ctrl-C)
            # is a BaseException and goes through the task group untouched.
            error: Exception | None = None
            async with anyio.create_task_group() as tg:
                tg.start_soon(_tick, act)
                try:
                    yield act
                except Exception as exc:
                    error = exc
                finally:
                    tg.cancel_scope.cancel()
            if error is not None:
                raise error
        finally:
            act.close()


async def _tick(act: Activity) -> None:
    """Keep the spinner and the elapsed time moving between progress reports."""
    while True:
        act.draw()
        await anyio.sleep(FRAME_SECONDS)


__all__ = [
    "Activity",
    "ActivityState",
    "Display",
    "DisplayMode",
    "Rate",
    "bar",
    "choose_mode",
    "fit",
    "format_bytes",
    "format_elapsed",
    "one_line",
    "plain_detail",
    "plain_line",
    "status_line",
    "supports_unicode",
]
