"""Scripted agent turns (contract §4.4, GUESS): the events a stream shows, and real state changes.

A turn runs as a background job, not inside the HTTP response: a client that drops the stream does
not stop the work, exactly what the skill's disconnect recovery (read state later) relies on.

Generation is two-stage: the raw image or clip lands in state first, then post-production adds a
title (and BGM for videos). An edit turn only calls ``edit_multitrack``, and may close silently.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import anyio

import free_generation_image.sandbox.texts as texts
import free_generation_image.sandbox.video as video
from free_generation_image.sandbox.accounts import User
from free_generation_image.sandbox.compose import even
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.drafts import CANVAS, add_media, apply_edits, canvas_config, post_produce
from free_generation_image.sandbox.events import (
    TOOL_EDIT,
    TOOL_GENERATE_IMAGE,
    TOOL_GENERATE_VIDEO,
    AgentEvent,
    ModelError,
    StreamError,
    Text,
    ToolCall,
    ToolResult,
)
from free_generation_image.sandbox.files import StoredFile, file_url
from free_generation_image.sandbox.intent import Intent
from free_generation_image.sandbox.media import png_bytes, prompt_image, tone_wav
from free_generation_image.sandbox.world import Session, World

T = TypeVar("T")
BGM_LABELS = ("Lo-fi Sunset", "Upbeat Pop", "Ambient Drift", "Cinematic Rise")
BGM_SECONDS = 15.0


class TurnStopped(Exception):
    """The turn ended early: an injected error, or media the sandbox cannot make."""


@dataclass(frozen=True)
class TurnFaults:
    """Injected misbehaviour for one turn (see faults.py for the names)."""

    silent: bool = False  # no text at all
    extra_seconds: float = 0.0  # slower generation: heartbeats only
    stop_after: int = 0  # with stop_with: events emitted before the turn stops
    stop_with: StreamError | ModelError | None = None
    temporary_issue: bool = False  # trailing "I encountered a temporary issue"


def cost_of(intent: Intent, config: SandboxConfig) -> int:
    """Credits one turn costs (GUESS, configurable)."""
    return {"video": config.cost_video, "image": config.cost_image, "edit": config.cost_edit}[intent.kind]


class Turn:
    """One ``/run_sse`` invocation: its events so far, readable while it runs."""

    def __init__(self, session_id: str, intent: Intent, cost: int, faults: TurnFaults) -> None:
        self.invocation_id = f"e-{uuid.uuid4()}"
        self.session_id = session_id
        self.intent = intent
        self.cost = cost
        self.faults = faults
        self.events: list[AgentEvent] = []
        self.done = False
        self._changed = anyio.Event()

    def emit(self, event: AgentEvent) -> None:
        """Append an event for the stream (ignored once the turn is finished)."""
        if not self.done:
            self.events.append(event)
            self._wake()

    def finish(self) -> None:
        """No more events: streams following this turn end."""
        self.done = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def follow(self, heartbeat_interval: Callable[[], float]) -> AsyncIterator[AgentEvent | None]:
        """Every event from the start, as it comes; ``None`` whenever an interval passes with none."""
        seen = 0
        while True:
            while seen < len(self.events):
                seen += 1
                yield self.events[seen - 1]
            if self.done:
                return
            changed = self._changed
            with anyio.move_on_after(heartbeat_interval()) as waited:
                await changed.wait()
            if waited.cancelled_caught:
                yield None


async def run_turn(world: World, turn: Turn, session: Session, user: User, base_url: str) -> None:
    """Play the turn's script; charge its frozen credits if it produced something, else release them."""
    script = _Script(world, turn, session, base_url)
    journal, turns = world.journal, world.turns  # a reset replaces these; keep writing to ours
    try:
        if turn.intent.kind == "edit":
            await script.edit()
        else:
            await script.generate()
        script.end()
    except TurnStopped:
        pass
    finally:
        if script.committed:
            user.settle(turn.cost)
        else:
            user.release(turn.cost)
        turn.finish()
        turns.pop(turn.invocation_id, None)
        journal.event(
            "turn.completed" if script.committed else "turn.failed",
            session_id=session.session_id,
            invocation_id=turn.invocation_id,
            kind=turn.intent.kind,
            credits=turn.cost if script.committed else 0,
        )


async def _while_waiting(seconds: float, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` during a ``seconds`` wait; return its result once both are over."""
    result: list[T] = []

    async def run() -> None:
        result.append(await work())

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run)
        await anyio.sleep(seconds)
    return result[0]


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:20]


class _Script:
    """The steps of one turn, with the injected faults applied."""

    def __init__(self, world: World, turn: Turn, session: Session, base_url: str) -> None:
        self.config = world.config
        self.files = world.files
        self.rng = world.rng
        self.turn = turn
        self.session = session
        self.base_url = base_url
        self.lang = texts.lang_of(session.language)
        self.emitted = 0
        self.committed = False  # the session state changed: the work happened and is charged

    def stop_if_due(self) -> None:
        """End the turn here if an injected error is due (checked before every event and state change)."""
        faults = self.turn.faults
        if faults.stop_with is not None and self.emitted >= faults.stop_after:
            self.turn.emit(faults.stop_with)
            raise TurnStopped(type(faults.stop_with).__name__)

    def emit(self, event: AgentEvent) -> None:
        self.stop_if_due()
        if self.config.tool_prefix and isinstance(event, ToolCall | ToolResult):
            event = replace(event, name=self.config.tool_prefix + event.name)
        self.turn.emit(event)
        self.emitted += 1

    def say(self, text: str) -> None:
        if not self.turn.faults.silent:
            self.emit(Text(text))

    def end(self) -> None:
        faults = self.turn.faults
        if faults.stop_with is not None:  # the turn had fewer events than `after`: the error ends it
            self.turn.emit(faults.stop_with)
        if faults.temporary_issue:
            self.turn.emit(Text(texts.TEMPORARY_ISSUE[self.lang]))

    async def generate(self) -> None:
        intent, config, lang = self.turn.intent, self.config, self.lang
        kind = "image" if intent.kind == "image" else "video"
        if kind == "video" and not video.available():
            self.say(texts.unavailable(kind, lang))
            raise TurnStopped("PyAV is not installed")
        width, height = (even(side * config.media_scale) for side in CANVAS[intent.aspect_ratio])
        self.say(texts.acknowledge(kind, intent.aspect_ratio, intent.duration_s, lang))
        args: dict[str, Any] = {"prompt": intent.subject, "aspect_ratio": intent.aspect_ratio}
        if kind == "video":
            args["duration"] = intent.duration_s
        call = ToolCall(
            _call_id(),
            TOOL_GENERATE_VIDEO if kind == "video" else TOOL_GENERATE_IMAGE,
            args,
            long_running=True,
        )
        self.emit(call)
        key, stored = await _while_waiting(
            config.generation_seconds + self.turn.faults.extra_seconds,
            lambda: self._make_media(kind, width, height),
        )
        url = file_url(self.base_url, key)
        self.stop_if_due()
        self._commit_media(kind, key, url, stored, width, height)
        result: dict[str, Any] = {
            "status": "success",
            "type": kind,
            "url": url,
            "width": width,
            "height": height,
        }
        if kind == "video":
            result["duration"] = intent.duration_s
        self.emit(ToolResult(call.call_id, call.name, result))
        self.say(texts.raw_ready(kind, lang))

        operations: list[dict[str, Any]] = [{"op": "add_title", "text": intent.title}]
        if kind == "video":
            operations.insert(0, {"op": "add_bgm", "volume": 0.35})
        post = ToolCall(_call_id(), TOOL_EDIT, {"operations": operations})
        self.emit(post)
        bgm = None
        if kind == "video":
            bgm = await _while_waiting(config.edit_seconds, self._make_bgm)
        else:
            await anyio.sleep(config.edit_seconds)
        state = self.session.state
        self.stop_if_due()
        state["draft"] = post_produce(
            state["draft"], title=intent.title, bgm_src=bgm, bgm_label=self._bgm_label()
        )
        self.emit(
            ToolResult(post.call_id, TOOL_EDIT, {"status": "success", "tracks": len(state["draft"]["t"])})
        )
        self.say(texts.finished(kind, intent.title, lang, gui=config.gui_phrases))

    async def edit(self) -> None:
        intent = self.turn.intent
        call = ToolCall(
            _call_id(), TOOL_EDIT, {"instruction": intent.subject, "operations": [e.op for e in intent.edits]}
        )
        self.emit(call)
        bgm = None
        if any(e.op == "add_music" for e in intent.edits):
            bgm = await _while_waiting(self.config.edit_seconds, self._make_bgm)
        else:
            await anyio.sleep(self.config.edit_seconds)
        self.stop_if_due()
        draft, applied = apply_edits(
            self.session.state["draft"], intent.edits, bgm_src=bgm, bgm_label=self._bgm_label()
        )
        self.session.state["draft"] = draft
        self.committed = True
        self.emit(ToolResult(call.call_id, TOOL_EDIT, {"status": "success", "applied": applied}))
        if self.rng.random() >= self.config.silent_edit_probability:
            self.say(
                texts.edited(texts.edit_summary(applied, self.lang), self.lang, gui=self.config.gui_phrases)
                if applied
                else texts.unchanged(self.lang)
            )

    async def _make_media(self, kind: str, width: int, height: int) -> tuple[str, StoredFile]:
        intent, fps = self.turn.intent, self.config.fps
        if kind == "image":
            key = f"media/{_digest('image', intent.subject, width, height)}.png"
            return key, await self.files.produce(
                key, "image/png", lambda _stop: png_bytes(prompt_image(intent.subject, width, height))
            )
        key = f"media/{_digest('video', intent.subject, width, height, intent.duration_s, fps)}.mp4"
        return key, await self.files.produce(
            key,
            "video/mp4",
            lambda stop: video.prompt_clip(intent.subject, width, height, intent.duration_s, fps, stop),
        )

    async def _make_bgm(self) -> str:
        subject = self.turn.intent.subject
        key = f"bgm/{_digest('bgm', subject)}.wav"
        await self.files.produce(key, "audio/wav", lambda _stop: tone_wav(subject, BGM_SECONDS))
        return file_url(self.base_url, key)

    def _bgm_label(self) -> str:
        return BGM_LABELS[int(_digest(self.turn.intent.subject), 16) % len(BGM_LABELS)]

    def _commit_media(
        self, kind: str, key: str, url: str, stored: StoredFile, width: int, height: int
    ) -> None:
        intent, state = self.turn.intent, self.session.state
        entry: dict[str, Any] = {
            "id": f"gm_{len(state['generated_media']) + 1}",
            "type": kind,
            "url": url,
            "prompt": intent.subject,
            "width": width,
            "height": height,
            "created_at": int(time.time()),
        }
        if kind == "video":
            entry["duration"] = intent.duration_s
            state["video_infos"].append(
                {
                    "filename": key.rsplit("/", 1)[-1],
                    "file_type": "video",
                    "cdn_url": url,
                    "duration": intent.duration_s,
                    "width": width,
                    "height": height,
                    "fps": self.config.fps,
                    "hash": hashlib.sha256(stored.data).hexdigest(),
                }
            )
        state["generated_media"].append(entry)
        state["canvas_config"] = canvas_config(intent.aspect_ratio)
        state["draft"] = add_media(
            state["draft"],
            kind=kind,
            src=url,
            label=intent.subject,
            seconds=intent.duration_s,
            ratio=intent.aspect_ratio,
            title=intent.title,
            fps=self.config.fps,
        )
        self.committed = True


def _call_id() -> str:
    return f"adk-{uuid.uuid4()}"
