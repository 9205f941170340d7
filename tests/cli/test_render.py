"""What a command prints on stdout and the exit code it returns, for every kind of result."""

from __future__ import annotations

import json

import pytest

from free_generation_image.cli import build_parser
from free_generation_image.cli.render import (
    CLI_FLAGS,
    EXIT_CODES_HELP,
    EXIT_CREDITS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
    EXIT_RUNNING,
    EXIT_UNEXPECTED,
    Result,
    error_document,
    error_line,
    exit_code_for,
    in_cli_terms,
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
    UploadResult,
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


RUNNING = [
    ExportResult(status="running", job_id=JOB, format="mp4", percent=40.0),
    GenerateResult(status="running", job_id=JOB, progress="generating the image"),
    StatusResult(generate=GenerateResult(status="running", job_id=JOB)),
    ChatResult(operation="export", export=ExportResult(status="running", job_id=JOB, format="mp4")),
    UploadResult(status="running", job_id=JOB, progress="uploading photo.jpg"),
    StatusResult(upload=UploadResult(status="running", job_id=JOB)),
]


@pytest.mark.parametrize("running", RUNNING, ids=lambda r: type(r).__name__)
def test_running_results_speak_of_commands_on_the_cli_and_of_tools_on_mcp(running: Result) -> None:
    assert running_job_id(running) == JOB
    assert exit_code_for(running) == EXIT_RUNNING
    shell = render_text(running)
    assert f"`free-generation-image status --job {JOB}`" in shell
    assert "job_id=" not in shell
    assert "call status" not in shell.lower()
    assert shell.count(JOB) == 2  # the job named once, and the command to collect it: one voice, said once
    tool = running.text()  # the default is the tools' voice: mcp_server.py relies on it
    assert f"status with job_id={JOB}" in tool
    assert "free-generation-image" not in tool
    assert running.text(voice="tool") == tool


def test_finished_results_are_the_tools_text_unchanged() -> None:
    media = MediaFile(path="/tmp/fox.png", kind="png", mime_type="image/png", size=10)
    done = GenerateResult(status="completed", job_id=JOB, media=[media], reply="Here it is.")
    assert running_job_id(done) is None
    assert render_text(done) == done.text()


HOSTILE = {
    "osc_title": "\x1b]0;pwned\x07",
    "osc_st": "\x1b]8;;http://evil.test\x1b\\",
    "csi_clear": "\x1b[2J\x1b[H",
    "bel": "\x07",
    "bidi": "\u202e\u2066\u2069\u202c",
    "c1_csi": "\x9b31m",
}


@pytest.mark.parametrize("seq", HOSTILE.values(), ids=HOSTILE.keys())
def test_backend_text_cannot_reach_the_terminal_raw(seq: str) -> None:
    media = MediaFile(path=f"/tmp/a{seq}b.png", kind="png", mime_type="image/png", size=10)
    result = StatusResult(
        generate=GenerateResult(
            status="completed",
            job_id=JOB,
            reply=f"Done{seq}!",
            timeline=f"Timeline (1 track): Video track 1 “Harbor{seq}”",
            changes=[f"added{seq} a clip"],
            notes=[f"note{seq}"],
            media=[media],
        )
    )
    for printed in (render_text(result), render_json(result), render_json(result, ascii_only=True)):
        assert not any(ch in printed for ch in "\x1b\x07\x9b\u202e\u202c\u2066\u2069"), printed
    assert "Done!" in render_text(result)
    assert json.loads(render_json(result))["generate"]["reply"] == "Done!"
    err = InvalidInput(f"bad{seq} value", hint=f"try{seq} again")
    assert error_line(err) == "error: bad value. try again"
    assert error_document(err)["error"]["message"].startswith("bad")


@pytest.mark.parametrize(
    ("argument", "message", "line"),
    [
        (
            "duration_s",
            "duration_s must be between 1 and 60 seconds, got 0.",
            "error: --duration must be between 1 and 60 seconds, got 0.",
        ),
        (
            "duration_s",
            "The duration must be a number of seconds from 1 to 60",
            "error: --duration: The duration must be a number of seconds from 1 to 60",
        ),
        (
            "aspect_ratio",
            "aspect_ratio must be one of 16:9, 9:16, 1:1, 4:3, 3:4.",
            "error: --aspect-ratio must be one of 16:9, 9:16, 1:1, 4:3, 3:4.",
        ),
        ("prompt", "The prompt is empty.", "error: The prompt is empty."),  # a positional: no flag to name
        (None, "duration_s is odd", "error: duration_s is odd"),  # no argument named: left as it is
    ],
)
def test_invalid_input_names_the_flag_not_the_api_argument(
    argument: str | None, message: str, line: str
) -> None:
    err = InvalidInput(message, argument=argument)
    assert error_line(err) == line
    flag = error_document(err)["error"].get("argument")
    assert flag == (None if argument in (None, "prompt") else line.split()[1].rstrip(":"))


def test_a_hint_naming_the_argument_names_the_flag_too() -> None:
    err = InvalidInput(
        "Out of range.", hint="Set duration_s to 1-60 (duration_seconds is not it).", argument="duration_s"
    )
    assert in_cli_terms(err) == ("Out of range.", "Set --duration to 1-60 (duration_seconds is not it).")


def test_every_mapped_flag_exists_on_the_command_line() -> None:
    parser = build_parser()
    known = {
        flag
        for sub in parser._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
        for action in sub._actions
        for flag in action.option_strings
    }
    assert set(CLI_FLAGS.values()) <= known


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
    for code in (0, 1, 2, 3, 4, 5, 75, 130, EXIT_PIPE_CLOSED):
        assert f"\n  {code} " in EXIT_CODES_HELP
