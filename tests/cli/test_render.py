"""What a command prints on stdout and the exit code it returns, for every kind of result."""

from __future__ import annotations

import json

import pytest

from free_generation_image.cli_render import (
    EXIT_CODES_HELP,
    EXIT_CREDITS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNNING,
    EXIT_UNEXPECTED,
    error_document,
    exit_code_for,
    job_state,
    render_json,
    render_text,
    running_job_id,
)
from free_generation_image.errors import InvalidInput
from free_generation_image.models import (
    ChatResult,
    CreditsInfo,
    ExportResult,
    GenerateResult,
    JobSummary,
    MediaFile,
    StatusResult,
)
from free_generation_image.nemo.errors import InsufficientCredits

JOB = "job_0123456789ab"


def summary(status: str) -> JobSummary:
    return JobSummary(job_id=JOB, kind="export", status=status, what="mp4", created_at=0.0)


@pytest.mark.parametrize(
    ("result", "state", "code"),
    [
        (GenerateResult(status="completed", job_id=JOB), "completed", EXIT_OK),
        (GenerateResult(status="running", job_id=JOB), "running", EXIT_RUNNING),
        (ExportResult(status="cancelled", job_id=JOB, format="mp4"), "cancelled", EXIT_INTERRUPTED),
        (
            StatusResult(
                job=summary("succeeded"), export=ExportResult(status="completed", job_id=JOB, format="mp4")
            ),
            "completed",
            EXIT_OK,
        ),
        (StatusResult(job=summary("running")), "running", EXIT_RUNNING),
        (StatusResult(job=summary("interrupted")), "interrupted", EXIT_INTERRUPTED),
        (StatusResult(job=summary("failed"), error="It broke."), "failed", EXIT_UNEXPECTED),
        (StatusResult(), None, EXIT_OK),
        (
            ChatResult(operation="generate", generate=GenerateResult(status="running", job_id=JOB)),
            "running",
            EXIT_RUNNING,
        ),
        (ChatResult(operation="credits", credits=CreditsInfo(available=1, total=1)), None, EXIT_OK),
        (CreditsInfo(available=1, total=1), None, EXIT_OK),
    ],
)
def test_state_and_exit_code(result: GenerateResult, state: str | None, code: int) -> None:
    assert job_state(result) == state
    assert exit_code_for(result) == code


def test_a_failed_job_exits_with_its_own_code() -> None:
    failed = StatusResult(job=summary("failed"), error="Not enough credits.")
    assert exit_code_for(failed, failed_code=EXIT_CREDITS) == EXIT_CREDITS


def test_running_results_say_how_to_collect_them_from_a_shell() -> None:
    running = ExportResult(status="running", job_id=JOB, format="mp4", percent=40.0)
    assert running_job_id(running) == JOB
    text = render_text(running)
    assert text.startswith(running.text())
    assert text.endswith(f"free-generation-image status --job {JOB}")
    nested = ChatResult(operation="export", export=running)
    assert running_job_id(nested) == JOB
    assert running_job_id(StatusResult(job=summary("running"))) == JOB


def test_finished_results_are_the_tools_text_unchanged() -> None:
    media = MediaFile(path="/tmp/fox.png", kind="png", mime_type="image/png", size=10)
    done = GenerateResult(status="completed", job_id=JOB, media=[media], reply="Here it is.")
    assert running_job_id(done) is None
    assert render_text(done) == done.text()


def test_json_is_the_structured_output() -> None:
    result = GenerateResult(status="completed", job_id=JOB, reply="画好了 → done")
    assert json.loads(render_json(result)) == result.model_dump(mode="json")
    assert "画好了" in render_json(result)
    assert "画好了" not in render_json(result, ascii_only=True)
    assert json.loads(render_json(result, ascii_only=True))["reply"] == "画好了 → done"


def test_error_document() -> None:
    err = InsufficientCredits("Not enough credits.", user_id="anon_1", web_url="https://nemovideo.com")
    doc = error_document(err, job_ids=[JOB])
    assert doc == {
        "error": {
            "type": "InsufficientCredits",
            "message": "Not enough credits.",
            "hint": err.hint,
            "exit_code": 5,
            "job_ids": [JOB],
        }
    }
    assert "register?bind=anon_1" in doc["error"]["hint"]
    assert error_document(InvalidInput("bad"))["error"]["exit_code"] == 2


def test_help_documents_every_exit_code() -> None:
    for code in (0, 1, 2, 3, 4, 5, 75, 130):
        assert f"\n  {code} " in EXIT_CODES_HELP
