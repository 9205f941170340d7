"""The body of a generation job: one agent turn, read once, never re-sent.

If the stream drops, we read the project state on a bounded schedule (contract §3 step 8) and report
what changed; the prompt is never sent again, because the backend keeps working (and charging).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from free_generation_image import changes, gui
from free_generation_image.jobs import Job, Progress
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import BackendUnavailable, BadResponse, NemoError, StreamDropped
from free_generation_image.nemo.events import (
    Heartbeat,
    StreamError,
    StreamEvent,
    TextEvent,
    ToolCall,
    ToolResult,
)
from free_generation_image.nemo.models import SessionState

log = logging.getLogger(__name__)

# What a backend tool is doing, in plain words. Tool names are internal (the skill's rule): they never
# reach a person, a result or a job record; an unknown tool is just "working".
_TOOL_WORDS = (
    (("video", "clip", "seedance", "animate"), "generating the clip"),
    (("image", "picture", "seedream", "photo"), "generating the image"),
    (("edit", "track", "timeline", "music", "bgm", "title", "subtitle", "effect"), "editing the timeline"),
)


def tool_words(name: str) -> str | None:
    """Plain words for what a backend tool does, or None when its name says nothing we know."""
    lowered = name.lower()
    for keys, words in _TOOL_WORDS:
        if any(key in lowered for key in keys):
            return words
    return None


class GenerationUnconfirmed(NemoError):
    """The stream dropped and the project did not change within the recovery schedule."""

    default_hint = (
        "The prompt was NOT sent again (that could charge twice). The backend may still finish it: call "
        "status in a few minutes. If nothing appears, generate again."
    )


@dataclass
class Turn:
    """What one agent turn said and did."""

    texts: list[str] = field(default_factory=list)
    partial: str = ""
    errors: list[str] = field(default_factory=list)
    events: int = 0
    dropped: bool = False

    def feed(self, event: StreamEvent) -> str:
        """Account for one event; return the text newly visible to the user (may be '')."""
        self.events += 1
        if isinstance(event, TextEvent):
            # A new message starts a new paragraph, so the deltas read like the final reply.
            new_message = "\n\n" if self.texts and not self.partial else ""
            if event.partial:
                self.partial += event.text
                return new_message + event.text
            if self.partial:
                # The aggregated event repeats the partial chunks: it replaces them, not appends.
                shown, self.partial = self.partial, ""
                self.texts.append(event.text)
                return event.text[len(shown) :] if event.text.startswith(shown) else ""
            self.texts.append(event.text)
            return new_message + event.text
        if isinstance(event, StreamError):
            self.errors.append(event.message)
        return ""

    def finish(self) -> None:
        if self.partial:
            self.texts.append(self.partial)
            self.partial = ""

    @property
    def reply_texts(self) -> list[str]:
        return gui.strip_temporary_issue([t for t in self.texts if t.strip()])


def describe(event: StreamEvent, elapsed: float) -> str:
    """A short progress line for an event."""
    if isinstance(event, ToolCall):
        return tool_words(event.name) or "working"
    if isinstance(event, ToolResult):
        words = tool_words(event.name)
        return f"finished {words}" if words else "working"
    if isinstance(event, Heartbeat):
        return f"still working ({elapsed:.0f}s)"
    if isinstance(event, TextEvent):
        return "writing the reply"
    return "working"


async def stream_turn(
    client: NemoClient, session_id: str, message: str, job: Job, turn: Turn, clock: Callable[[], float]
) -> None:
    """Send the message once and read the turn to its end; StreamDropped propagates (nothing re-sent)."""
    started = clock()
    async for event in client.run_sse(session_id, message):
        job.handed_off.set()
        delta = turn.feed(event)
        # Live text is shown as it arrives, so it gets the same GUI-talk rewrite as the final reply.
        shown = gui.translate(delta).text if delta.strip() else delta
        job.update(
            Progress(message=describe(event, clock() - started), text_delta=shown),
            persist=isinstance(event, ToolCall),
        )
    turn.finish()


async def recover(
    client: NemoClient,
    session_id: str,
    before: Mapping[str, Any] | None,
    job: Job,
    delays: Sequence[float],
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> SessionState:
    """Read the project on the bounded schedule until the work shows as finished; else GenerationUnconfirmed.

    Finished means: the project changed, and no credits are frozen any more (the backend freezes credits
    while it works, contract §2.6) — or, when the balance cannot be read, the change held still for one
    more reading (a generation changes the project in stages).
    """
    changed: SessionState | None = None
    for attempt, delay in enumerate(delays, start=1):
        waiting = (
            "the project changed; waiting for the backend to finish" if changed else "reading the project"
        )
        job.update(
            Progress(message=f"{waiting} (not re-sending) [{attempt}/{len(delays)}]"), persist=attempt == 1
        )
        await sleep(delay)
        try:
            state = await client.state(session_id)
        except (BackendUnavailable, BadResponse) as err:  # a garbled answer is as transient as a 503
            log.info("state check %d failed: %s", attempt, err)
            continue
        if changed is None and not changes.diff_states(before, state.raw).changed:
            continue
        frozen = await _frozen_credits(client)
        if frozen == 0 or (
            frozen is None and changed and not changes.diff_states(changed.raw, state.raw).changed
        ):
            return state
        changed = state
    if changed is not None:
        return changed
    raise GenerationUnconfirmed(
        f"The connection to the backend dropped and the project has not changed after {sum(delays):.0f}s."
    )


async def _frozen_credits(client: NemoClient) -> int | None:
    try:
        return (await client.credits()).frozen
    except NemoError as err:
        log.info("could not read the balance: %s", err)
        return None


def reply_and_suggestions(turn: Turn, diff: changes.StateDiff) -> tuple[str, list[str]]:
    """The user-facing reply (GUI talk translated) and the suggested next steps.

    Read-only actions the agent points at (look at the timeline, preview) need no step: every result
    already carries the timeline summary. Spending or long ones (export, regenerate) become suggestions,
    never actions taken silently.
    """
    texts = turn.reply_texts
    suggestions: list[str] = []
    if texts:
        translated = gui.translate("\n\n".join(texts))
        reply = translated.text
        for action in translated.actions:
            if not action.immediate and action.label not in suggestions:
                suggestions.append(action.label)
    elif diff.changed:
        reply = "The agent finished without a message; here is what changed in the project."
    else:
        reply = "The agent finished without a message and the project did not change."
    return reply, suggestions


# The parts of a state that say whether a turn changed anything; only these are kept in the job log.
LOGGED_STATE = ("draft", "generated_media", "video_infos", "canvas_config")


def fingerprint(state: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of a state that matter for 'did anything change' (kept small in the job log)."""
    state = state or {}
    return {key: state[key] for key in LOGGED_STATE if key in state}


def unfingerprint(value: Any, current: dict[str, Any]) -> dict[str, Any] | None:
    """The state before a job: its logged parts, and the ``current`` value of the parts not logged.

    Compared with a whole state, a bare fingerprint would make every unlogged key (``video_analyses``)
    look changed, and a resumed generation would end before its media landed.
    """
    if not isinstance(value, dict):
        return None
    return {**{k: v for k, v in current.items() if k not in LOGGED_STATE}, **value}


__all__ = [
    "LOGGED_STATE",
    "GenerationUnconfirmed",
    "StreamDropped",
    "Turn",
    "describe",
    "fingerprint",
    "recover",
    "reply_and_suggestions",
    "stream_turn",
    "unfingerprint",
]
