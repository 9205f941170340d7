"""Generation jobs: recognised before anything is awaited, prepared and sent inside the job, one agent
turn at a time per project, each job's media, timeline change and credits its own.

Order inside a job: output folder and project (bounded, nothing sent yet) -> the project's turn (queued
behind the running one) -> state and balance before -> the prompt, sent once -> state after (or recovery
by reading state) -> media saved, credits after.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack, get_args

import anyio
import anyio.to_thread

from free_generation_image import changes, timeline_words
from free_generation_image.accounting import duration_note, own_spend
from free_generation_image.deps import Deps
from free_generation_image.engine import view_of
from free_generation_image.errors import InvalidInput
from free_generation_image.generation import (
    Turn,
    fingerprint,
    recover,
    reply_and_suggestions,
    stream_turn,
    unfingerprint,
)
from free_generation_image.inputs import check_duration, check_prompt
from free_generation_image.jobs import Job, JobRecord, Progress
from free_generation_image.models import GenerateResult
from free_generation_image.nemo import timeline
from free_generation_image.nemo.errors import (
    BackendUnavailable,
    BadResponse,
    NemoError,
    SessionNotFound,
    StreamDropped,
)
from free_generation_image.nemo.models import SessionState
from free_generation_image.outdir import EXPECTED_BYTES, check_output_dir
from free_generation_image.projects import SavedProject
from free_generation_image.prompting import AspectRatio, Kind, compose_message, prompt_key, resolve_kind
from free_generation_image.turns import project_turn

log = logging.getLogger(__name__)

PROJECT_GONE_NOTE = (
    "The previous project could not be reached any more (for example after a new anonymous token), so a new "
    "project was started; the earlier timeline was not carried over."
)
RESUMED_NOTE = (
    "This generation was picked up again after the program following it stopped; the result was read from "
    "the project (the prompt was not sent again)."
)


class GenerateOptions(TypedDict, total=False):
    """The optional arguments of a generation (the tool's and the command's)."""

    kind: Kind
    aspect_ratio: AspectRatio | None
    duration_s: float | None
    new_project: bool


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    kind: Kind = "auto"
    aspect_ratio: AspectRatio | None = None
    duration_s: float | None = None
    new_project: bool = False

    @classmethod
    def of(cls, prompt: str, **options: Unpack[GenerateOptions]) -> GenerateRequest:
        """A checked request; each refusal names the argument and what is allowed."""
        kind = options.get("kind") or "auto"
        if kind not in ("auto", "image", "video"):
            raise InvalidInput(f"Unknown kind {kind!r}.", hint="Use image, video or auto.", argument="kind")
        aspect = options.get("aspect_ratio")
        if aspect is not None and aspect not in get_args(AspectRatio):
            raise InvalidInput(
                f"Unknown aspect_ratio {aspect!r}.",
                hint="Use one of " + ", ".join(get_args(AspectRatio)) + ".",
                argument="aspect_ratio",
            )
        return cls(
            prompt=check_prompt(prompt),
            kind=kind,
            aspect_ratio=aspect,
            duration_s=check_duration(options.get("duration_s")),
            new_project=bool(options.get("new_project")),
        )

    def key(self, api_url: str, scope: str) -> str:
        """Identifies a host's retry of the same call in the same project (or for a new project)."""
        raw = json.dumps(
            [api_url, scope, prompt_key(self.prompt), self.kind, self.aspect_ratio, self.duration_s]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


class PrepareTimedOut(BackendUnavailable):
    default_hint = "Nothing was sent and nothing was charged. Try again in a minute."


class Generations:
    """Starts, runs, resumes and shows generation jobs."""

    def __init__(self, deps: Deps) -> None:
        self.d = deps
        deps.engine.on_resume("generate", self.resume)

    # ------------------------------------------------------------------ start
    async def _identity(self, request: GenerateRequest) -> tuple[str, Callable[[JobRecord], bool] | None]:
        """The request's key in the current project, and what else counts as the same request: a job
        made for it before the project existed (or was replaced) that now works in the current one."""
        api = self.d.settings.api_url
        if request.new_project:
            return request.key(api, "new"), None
        saved = await self.d.projects.load()
        if saved is None:
            return request.key(api, "none"), None
        loose = request.key(api, "*")
        session_id = saved.session_id

        def same(record: JobRecord) -> bool:
            # A twin still opening the project (its session not recorded yet: the pointer is written
            # first) is working towards this one; another process or replica must not send it again.
            preparing = record.session_id is None and record.status == "running"
            here = record.session_id == session_id or preparing
            return here and record.params.get("request_key") == loose

        return request.key(api, session_id), same

    async def find(self, request: GenerateRequest) -> Job | None:
        """The job an identical call would join now, if any (no network)."""
        key, also = await self._identity(request)
        return await anyio.to_thread.run_sync(self.d.jobs.find_duplicate, key, self.d.dedupe_window, also)

    async def start(self, request: GenerateRequest) -> tuple[Job, bool]:
        """The job for this request: an identical running (or just finished) one, else a new one."""
        key, also = await self._identity(request)
        job, joined = await self.d.jobs.create_or_join(
            "generate",
            dedupe_key=key,
            window=self.d.dedupe_window,
            also=also,
            params={
                "prompt": request.prompt,
                "kind": request.kind,
                "aspect_ratio": request.aspect_ratio,
                "duration_s": request.duration_s,
                "new_project": request.new_project,
                "request_key": request.key(self.d.settings.api_url, "*") if not request.new_project else None,
                "notes": [],
            },
            message="preparing",
        )
        if joined:
            log.info("same request as %s: not sending it again", job.id)
        else:
            self.d.engine.spawn(job, lambda: self.run(job))
        return job, joined

    # ------------------------------------------------------------------ run
    async def run(self, job: Job) -> GenerateResult:
        params = job.record.params
        request = GenerateRequest(
            prompt=str(params["prompt"]),
            kind=params.get("kind") or "auto",
            aspect_ratio=params.get("aspect_ratio"),
            duration_s=params.get("duration_s"),
            new_project=bool(params.get("new_project")),
        )
        notes: list[str] = params.setdefault("notes", [])
        media_kind = resolve_kind(request.prompt, request.kind)
        saved = await self._prepare(job, request, media_kind)
        async with project_turn(self.d, job, saved.session_id):
            try:
                with anyio.fail_after(self.d.prepare_seconds):
                    saved, before = await self._state(job, saved, request.prompt, notes)
                    credits_before = await self._balance()
            except TimeoutError:
                raise PrepareTimedOut(
                    "The backend did not answer while the generation was getting ready; nothing was sent."
                ) from None
            _, estimate = await self.d.costs.estimate(request.prompt, request.kind)
            params.update(
                credits_before=credits_before,
                estimate=estimate,
                media_kind=media_kind,
                before=fingerprint(before.raw),
                turn=[time.time(), None],
            )
            if credits_before is not None and credits_before < estimate:
                notes.append(
                    f"Estimated cost about {estimate} credits (an estimate, not a price) with "
                    f"{credits_before} "
                    "available; it was sent anyway and the backend decides."
                )
            job.update(Progress(message="sending the prompt"), persist=True)
            # On disk before it is sent: a resume after kill -9 must know the prompt may have gone out.
            await anyio.to_thread.run_sync(self.d.jobs.log.flush)
            message = compose_message(
                request.prompt,
                kind=request.kind,
                aspect_ratio=request.aspect_ratio,
                duration_s=request.duration_s,
            )
            turn, saved, before_raw, after = await self._send(job, saved, message, before, notes)
            params["turn"][1] = time.time()
            return await self._finish(job, saved, turn, before_raw, after, credits_before, notes)

    async def _prepare(self, job: Job, request: GenerateRequest, media_kind: str) -> SavedProject:
        """Output folder and project, bounded: nothing is sent before both are known to be fine."""
        try:
            with anyio.fail_after(self.d.prepare_seconds):
                await anyio.to_thread.run_sync(
                    check_output_dir, self.d.settings.output_dir, EXPECTED_BYTES[media_kind]
                )
                saved = await self.d.projects.ensure(new=request.new_project, language_hint=request.prompt)
        except TimeoutError:
            raise PrepareTimedOut(
                "The backend did not answer while the project was being opened; nothing was sent."
            ) from None
        await self._move_to(job, saved)
        return saved

    async def _move_to(self, job: Job, saved: SavedProject) -> None:
        """Record the job's project at once: a retry made in that project must find this job."""
        if job.record.session_id == saved.session_id:
            return
        job.record.session_id = saved.session_id
        job.save()
        await anyio.to_thread.run_sync(self.d.jobs.log.flush)

    async def _state(
        self, job: Job, saved: SavedProject, prompt: str, notes: list[str]
    ) -> tuple[SavedProject, SessionState]:
        try:
            return saved, await self.d.client.state(saved.session_id)
        except SessionNotFound:
            notes.append(PROJECT_GONE_NOTE)
            saved = await self.d.projects.replace(saved, prompt)
            await self._move_to(job, saved)
            return saved, await self.d.client.state(saved.session_id)

    async def _balance(self) -> int | None:
        try:
            return (await self.d.client.credits()).available
        except NemoError as err:
            log.info("could not read the balance: %s", err)
            return None

    async def _send(
        self, job: Job, saved: SavedProject, message: str, before: SessionState, notes: list[str]
    ) -> tuple[Turn, SavedProject, dict[str, Any] | None, SessionState]:
        """The prompt, sent once; then the state after it (read on the recovery schedule if need be)."""
        turn = Turn()
        session_id = saved.session_id
        clock = time.monotonic
        try:
            try:
                await stream_turn(self.d.client, session_id, message, job, turn, clock)
            except SessionNotFound:
                # Refused before the stream opened, so the agent never saw the prompt: safe to send once more.
                notes.append(PROJECT_GONE_NOTE)
                saved = await self.d.projects.replace(saved, str(job.record.params["prompt"]))
                await self._move_to(job, saved)
                session_id = saved.session_id
                before = await self.d.client.state(session_id)
                job.record.params["before"] = fingerprint(before.raw)
                await stream_turn(self.d.client, session_id, message, job, turn, clock)
            try:
                after = await self.d.client.state(session_id)
            except (BackendUnavailable, BadResponse) as err:
                # The turn ran (and was charged): failing the job now would invite sending it again.
                log.info("reading the project after the turn failed (%s); reading it on the schedule", err)
                after = await self._recover(job, session_id, before.raw)
        except StreamDropped as drop:
            log.info("stream dropped after %d events: %s", turn.events, drop)
            turn.finish()
            turn.dropped = True
            notes.append(
                "The connection dropped during the generation; the result was read from the project "
                "instead (the prompt was not sent again)."
            )
            after = await self._recover(job, session_id, before.raw)
        return turn, saved, before.raw, after

    async def _recover(self, job: Job, session_id: str, before: dict[str, Any] | None) -> SessionState:
        return await recover(self.d.client, session_id, before, job, self.d.recovery_delays, self.d.sleep)

    async def _finish(
        self,
        job: Job,
        saved: SavedProject,
        turn: Turn,
        before: dict[str, Any] | None,
        after: SessionState,
        credits_before: int | None,
        notes: list[str],
    ) -> GenerateResult:
        diff = changes.diff_states(before, after.raw)
        if turn.errors and not diff.changed:
            raise NemoError(
                f"The backend agent reported an error: {turn.errors[-1]}",
                hint="Nothing changed in the project. Try again in a moment.",
            )
        if turn.errors:
            notes.append(
                f"The agent reported a problem at the end ({turn.errors[-1]}), but the project changed."
            )
        reply, suggestions = reply_and_suggestions(turn, diff)
        job.update(Progress(message="saving the generated media"), persist=True)
        params = job.record.params
        prompt = str(params.get("prompt", ""))
        credits_after = await self._balance()
        spent = await own_spend(self.d, job, credits_before, credits_after, diff.new_media, notes)
        meta = {
            "prompt": prompt,
            "project": {"task_id": saved.task_id, "session_id": saved.session_id},
            "job_id": job.id,
            "credits": {"before": credits_before, "after": credits_after, "spent": spent},
        }
        media = await self.d.media.save_generated(diff.new_media, prompt, meta, job, notes)
        duration_note(params.get("duration_s"), diff.new_media, notes)
        if (
            timeline.is_ready(timeline.parse_draft(after.draft))
            and "Export it as MP4 (free)" not in suggestions
        ):
            suggestions.append("Export it as MP4 (free)")
        return GenerateResult(
            status="completed",
            job_id=job.id,
            reply=reply,
            changes=diff.lines,
            timeline=timeline_words.summarize(timeline.parse_draft(after.draft)),
            media=media,
            credits_before=credits_before,
            credits_after=credits_after,
            credits_spent=spent,
            credits_estimate=params.get("estimate"),
            suggestions=suggestions,
            notes=notes,
            project=saved.public(),
        )

    # ------------------------------------------------------------------ resume and views
    async def resume(self, job: Job) -> GenerateResult:
        """A generation whose process died: never re-sent; its result is read from the project."""
        session_id = job.record.session_id
        params = job.record.params
        notes: list[str] = params.setdefault("notes", [])
        if session_id is None or "before" not in params:
            # It died before the prompt was sent (no project or no state recorded): nothing ran.
            raise NemoError(
                "This generation was stopped before its prompt was sent; nothing was charged.",
                hint="Generate again.",
            )
        saved = await self._saved_for(session_id, job.record.created_at)
        try:
            current = (await self.d.client.state(session_id)).raw
        except (BackendUnavailable, BadResponse):
            current = {}
        before = unfingerprint(params.get("before"), current)
        notes.append(RESUMED_NOTE)
        # First look at once, then on the usual schedule until the project has changed and held still.
        state = await recover(
            self.d.client, session_id, before, job, (0.0, *self.d.recovery_delays), self.d.sleep
        )
        return await self._finish(
            job, saved, Turn(dropped=True), before, state, params.get("credits_before"), notes
        )

    async def _saved_for(self, session_id: str, created_at: float) -> SavedProject:
        saved = await self.d.projects.load()
        if saved is not None and saved.session_id == session_id:
            return saved
        return SavedProject(
            task_id=saved.task_id if saved else "",
            session_id=session_id,
            user_id=None,
            language="en",
            created_at=created_at,
        )

    def view(self, job: Job) -> GenerateResult:
        """The job's result, a 'running' view, or its failure raised."""
        params = job.record.params
        running = {
            "progress": job.record.message,
            "credits_before": params.get("credits_before"),
            "credits_estimate": params.get("estimate"),
        }
        return view_of(job, GenerateResult, running, {"progress": job.record.message})


# ---------------------------------------------------------------------- helpers
__all__ = ["PROJECT_GONE_NOTE", "GenerateRequest", "Generations"]
