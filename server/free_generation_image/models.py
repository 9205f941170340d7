"""Results of the operations: pydantic models shared by the MCP tools (structured output) and the CLI
(``--json``). Each has ``text()``: the key facts in plain words for hosts that ignore structured content.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

JobState = Literal["completed", "running", "failed", "cancelled", "interrupted"]
# Who reads ``text()``: a model calling tools (MCP) or a person at a shell (CLI), each told its next step.
Voice = Literal["tool", "cli"]
CLI_COMMAND = "free-generation-image"


def collect_step(job_id: str, voice: Voice) -> str:
    """How to collect a job that is still running, in the reader's terms."""
    if voice == "cli":
        return f"run `{CLI_COMMAND} status --job {job_id}`"
    return f"call status with job_id={job_id}"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


class Project(BaseModel):
    """The current backend session ("project") and where to continue it in the browser."""

    task_id: str
    session_id: str
    link: str | None = Field(None, description="Open this project in the NemoVideo web app")
    language: str = "en"


class CreditsInfo(BaseModel):
    available: int = Field(description="Credits that can be spent now")
    frozen: int = Field(0, description="Credits reserved by work in progress")
    total: int = Field(description="available + frozen")
    anonymous: bool = Field(False, description="True for the free anonymous account")
    top_up_link: str | None = Field(None, description="Where to get more credits")

    def text(self, voice: Voice = "tool") -> str:
        line = f"Credits: {self.available} available, {self.frozen} frozen, {self.total} total."
        if self.top_up_link and self.available < 100:
            line += f" More credits: {self.top_up_link}"
        return line


class MediaFile(BaseModel):
    """A file saved on the user's disk."""

    path: str = Field(description="Absolute local path of the saved file")
    url: str | None = Field(None, description="Where it was downloaded from")
    resource_uri: str | None = Field(None, description="MCP resource URI of the file")
    kind: str = Field(description="png, jpeg, mp4, ...")
    mime_type: str
    size: int = Field(description="Bytes")
    sidecar: str | None = Field(None, description="JSON file with prompt, project, credits")


class GenerateResult(BaseModel):
    status: JobState
    job_id: str
    reply: str = Field("", description="What the agent said (GUI talk translated, tool calls hidden)")
    changes: list[str] = Field(default_factory=list, description="What changed in the project")
    timeline: str = Field("", description="Summary of the project's timeline")
    media: list[MediaFile] = Field(default_factory=list, description="Generated images/clips saved locally")
    credits_before: int | None = None
    credits_after: int | None = None
    credits_spent: int | None = None
    suggestions: list[str] = Field(default_factory=list, description="Next steps the user may want")
    credits_estimate: int | None = Field(None, description="Estimated cost in credits (a guess, not a price)")
    notes: list[str] = Field(default_factory=list, description="Things the user should know")
    deduplicated: bool = Field(False, description="True when this returned an earlier identical request")
    project: Project | None = None
    progress: str = ""

    def text(self, voice: Voice = "tool") -> str:
        lines: list[str] = []
        if self.status == "running":
            lines.append(
                f"Still generating (job {self.job_id}): {self.progress or 'working'}. Nothing was "
                f"re-sent; {collect_step(self.job_id, voice)} to collect the result."
            )
        elif self.status != "completed":
            lines.append(f"Generation {self.status} (job {self.job_id}).")
        if self.deduplicated:
            lines.append("This is the same request as an earlier one, so it was not sent (or charged) again.")
        if self.reply:
            lines.append(self.reply)
        for media in self.media:
            lines.append(
                f"Saved {media.kind.upper()}: {media.path}" + (f" ({media.url})" if media.url else "")
            )
        if self.changes:
            lines.append("Changes: " + "; ".join(self.changes))
        if self.timeline:
            lines.append(self.timeline)
        if self.credits_before is not None and self.credits_after is not None:
            lines.append(
                f"Credits: {self.credits_before} → {self.credits_after} ({self.credits_spent or 0} spent)."
            )
        lines.extend(self.notes)
        if self.suggestions:
            lines.append("Next: " + "; ".join(self.suggestions))
        if self.project and self.project.link:
            lines.append(f"Continue in the web app: {self.project.link}")
        return "\n".join(lines)


class ExportResult(BaseModel):
    status: JobState
    job_id: str
    format: Literal["mp4", "png"]
    file: MediaFile | None = None
    url: str | None = Field(None, description="Download URL of the render")
    render_id: str | None = None
    progress: str = ""
    percent: float | None = None
    notes: list[str] = Field(default_factory=list)
    project: Project | None = None

    def text(self, voice: Voice = "tool") -> str:
        if self.status == "running":
            pct = f" {self.percent:.0f}%" if self.percent is not None else ""
            step = _capitalized(collect_step(self.job_id, voice))
            head = f"Rendering{pct} (job {self.job_id}). Export is free. {step} to collect the file."
        elif self.file:
            head = f"Exported {self.format.upper()}: {self.file.path}" + (
                f"\nURL: {self.url}" if self.url else ""
            )
        else:
            head = f"Export {self.status} (job {self.job_id})."
        lines = [head, *self.notes]
        if self.project and self.project.link:
            lines.append(f"Open in the web app: {self.project.link}")
        return "\n".join(lines)


class UploadedItem(BaseModel):
    source: str
    filename: str
    file_type: str | None = None
    url: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None


class UploadResult(BaseModel):
    status: JobState = "completed"
    job_id: str | None = None
    files: list[UploadedItem] = Field(default_factory=list)
    timeline: str = ""
    project: Project | None = None
    progress: str = ""

    def text(self, voice: Voice = "tool") -> str:
        if self.status == "running" and self.job_id:
            return (
                f"Still uploading (job {self.job_id}): {self.progress or 'working'}. "
                f"{_capitalized(collect_step(self.job_id, voice))} to see what was added."
            )
        lines = [f"Added {len(self.files)} file(s) to the project:"]
        for item in self.files:
            size = f" {item.width}x{item.height}" if item.width and item.height else ""
            dur = f" {item.duration:g}s" if item.duration else ""
            lines.append(f"- {item.filename} ({item.file_type or 'file'}{size}{dur})")
        if self.timeline:
            lines.append(self.timeline)
        return "\n".join(lines)


class JobSummary(BaseModel):
    job_id: str
    kind: Literal["generate", "export", "upload"]
    status: str
    what: str = Field(description="Prompt, export format or uploaded sources")
    created_at: float
    percent: float | None = None
    message: str = ""
    elsewhere: bool = Field(False, description="Run by another process sharing the config dir")


class StatusResult(BaseModel):
    project: Project | None = None
    timeline: str = ""
    ready_to_export: bool = False
    jobs: list[JobSummary] = Field(default_factory=list)
    job: JobSummary | None = None
    generate: GenerateResult | None = None
    export: ExportResult | None = None
    upload: UploadResult | None = None
    error: str | None = Field(None, description="Why the job failed, with what to do")

    def saved_files(self) -> list[MediaFile]:
        return _saved(self.generate, self.export)

    def text(self, voice: Voice = "tool") -> str:
        if self.generate is not None:
            return self.generate.text(voice)
        if self.export is not None:
            return self.export.text(voice)
        if self.upload is not None:
            return self.upload.text(voice)
        lines: list[str] = []
        if self.job is not None:
            lines.append(
                f"Job {self.job.job_id} ({self.job.kind}): {self.job.status}. {self.job.message}".strip()
            )
            if self.error:
                lines.append(self.error)
            return "\n".join(lines)
        if self.project is None:
            lines.append("No project yet: generate something to start one.")
        else:
            lines.append(self.timeline or "Timeline is empty.")
            lines.append("Ready to export." if self.ready_to_export else "Not ready to export yet.")
            if self.project.link:
                lines.append(f"Web app: {self.project.link}")
        if self.jobs:
            lines.append("Recent jobs:")
            for job in self.jobs:
                pct = f" {job.percent:.0f}%" if job.percent is not None and job.status == "running" else ""
                lines.append(f"- {job.job_id} {job.kind} {job.status}{pct}: {job.what}")
        return "\n".join(lines)


class CancelResult(BaseModel):
    job_id: str
    status: str
    render_cancelled: bool = False
    message: str

    def text(self, voice: Voice = "tool") -> str:
        return self.message


class ChatResult(BaseModel):
    """Free text routed to one operation; exactly one of the result fields is set."""

    operation: Literal["generate", "export", "credits", "status", "upload", "cancel"]
    reason: str = ""
    generate: GenerateResult | None = None
    export: ExportResult | None = None
    credits: CreditsInfo | None = None
    status: StatusResult | None = None
    upload: UploadResult | None = None
    cancel: CancelResult | None = None

    def saved_files(self) -> list[MediaFile]:
        return _saved(self.generate, self.export)

    def text(self, voice: Voice = "tool") -> str:
        inner = self.generate or self.export or self.credits or self.status or self.upload or self.cancel
        return inner.text(voice) if inner is not None else ""


def _saved(generate: GenerateResult | None, export: ExportResult | None) -> list[MediaFile]:
    """Files a nested generate/export result saved (what a host should preview and link)."""
    if generate is not None:
        return list(generate.media)
    return [export.file] if export is not None and export.file is not None else []
