"""Every command through ``main`` in this process, against the sandbox: results, JSON, exit codes.

Same code path as the console script (argument parsing, service, progress, rendering), minus the
interpreter start-up; test_commands.py covers what only a real process shows (signals, terminals).
"""

from __future__ import annotations

import io
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from free_generation_image.cli import Run, build_parser, execute
from free_generation_image.cli.progress import Display
from free_generation_image.models import ChatResult, CreditsInfo, ExportResult, GenerateResult, StatusResult
from free_generation_image.sandbox import Sandbox
from tests.cli.helpers import Outcome

Main = Callable[..., Outcome]
RENDER_SUBMIT = "/api/render/proxy/lambda"


def render_submits(sandbox: Sandbox) -> int:
    return sum(1 for e in sandbox.requests(RENDER_SUBMIT, method="POST") if e.path == RENDER_SUBMIT)


def prompts_sent(sandbox: Sandbox) -> list[str]:
    return [entry.message or "" for entry in sandbox.requests("/run_sse")]


def test_a_script_session_in_json(main_in_process: Main, sandbox: Sandbox, tmp_path: Path) -> None:
    run = main_in_process("generate", "a red fox in the snow", "--kind", "image", "--json")
    assert run.code == 0, run.err
    generated = GenerateResult.model_validate(run.json())  # the tool's structured output, field for field
    assert run.json() == generated.model_dump(mode="json")
    assert generated.status == "completed"
    image = Path(generated.media[0].path)
    assert image.parent == tmp_path / "out"
    assert image.read_bytes().startswith(b"\x89PNG")
    assert generated.credits_spent == 30
    assert len(prompts_sent(sandbox)) == 1
    assert prompts_sent(sandbox)[0].startswith("a red fox in the snow")

    credits = CreditsInfo.model_validate(main_in_process("credits", "--json").json())
    assert credits.available == generated.credits_after

    status = StatusResult.model_validate(main_in_process("--json", "status").json())
    assert status.ready_to_export
    assert status.jobs[0].job_id == generated.job_id

    run = main_in_process("export", "--json")
    assert run.code == 0, run.err
    exported = ExportResult.model_validate(run.json())
    assert exported.file is not None
    video = Path(exported.file.path)
    assert video.suffix == ".mp4"
    assert video.read_bytes()[4:8] == b"ftyp"

    routed = ChatResult.model_validate(
        main_in_process("chat", "导出", "--json").json()
    )  # "export" in Chinese
    assert routed.operation == "export"
    assert routed.export is not None
    assert routed.export.file is not None
    assert routed.export.file.path == str(video)  # the same unchanged timeline: the same file
    asked = ChatResult.model_validate(
        main_in_process("chat", "how many credits do I have left?", "--json").json()
    )
    assert asked.operation == "credits"
    assert render_submits(sandbox) == 1
    assert len(prompts_sent(sandbox)) == 1  # neither export nor credits went to the agent


def test_text_output_for_people_and_quiet_mode(main_in_process: Main) -> None:
    run = main_in_process("generate", "a lighthouse at night", "--kind", "image")
    assert run.code == 0, run.err
    assert re.search(r"^Saved PNG: .+\.png", run.out, re.MULTILINE)
    assert re.search(r"^Credits: 100 → 70 \(30 spent\)\.$", run.out, re.MULTILINE)
    # stderr is not a terminal here: plain progress lines, no escape sequences
    assert re.search(r"^\[\d+s\] Generating: \S", run.err, re.MULTILINE)
    assert "\x1b" not in run.out + run.err
    quiet = main_in_process("export", "--quiet")
    assert quiet.code == 0
    assert quiet.err == ""
    assert quiet.out.startswith("Exported MP4: ")


def test_wait_0_hands_back_a_job_id_that_status_collects(main_in_process: Main, sandbox: Sandbox) -> None:
    assert main_in_process("generate", "a paper boat on a puddle", "--kind", "image", "-q").code == 0
    sandbox.configure(render_seconds=1.5)  # still rendering after the first poll, when --wait 0 returns
    started = main_in_process("export", "--wait", "0")
    assert started.code == 75, started.err
    match = re.search(
        r"^Rendering.* Run `free-generation-image status --job (job_[0-9a-f]+)` to collect the file\.$",
        started.out,
        re.MULTILINE,
    )
    assert match, started.out
    assert "job_id=" not in started.out  # the shell's voice only: commands, not tool calls
    assert render_submits(sandbox) == 1  # handed to the backend before the command returned

    collected = main_in_process("status", "--job", match.group(1), "--json")
    assert collected.code == 0, collected.err
    export = StatusResult.model_validate(collected.json()).export
    assert export is not None
    assert export.status == "completed"
    assert export.file is not None
    assert Path(export.file.path).is_file()
    assert render_submits(sandbox) == 1  # polling resumed; nothing rendered twice


def test_cancel_a_render_then_its_status_says_cancelled(main_in_process: Main, sandbox: Sandbox) -> None:
    assert main_in_process("generate", "a windmill", "--kind", "image", "-q").code == 0
    sandbox.configure(render_seconds=30.0)
    started = main_in_process("export", "--wait", "0", "--json")
    assert started.code == 75
    job_id = started.json()["job_id"]
    cancelled = main_in_process("cancel", job_id, "--json")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.json()["render_cancelled"] is True
    status = main_in_process("status", "--job", job_id)
    assert status.code == 130
    assert f"Export cancelled (job {job_id})." in status.out


def test_piped_an_estimate_above_the_balance_is_sent_and_stated(
    main_in_process: Main, sandbox: Sandbox
) -> None:
    # The estimate (100 for a clip) is a guess: this backend charges 50 and the user has 60.
    sandbox.configure(starting_credits=60, cost_video=50)
    made = main_in_process("generate", "ocean waves at dawn", "--kind", "video", "--json")
    assert made.code == 0, made.err
    assert made.json()["credits_estimate"] == 100 and made.json()["credits_spent"] == 50
    assert any("an estimate, not a price" in note for note in made.json()["notes"])
    assert len(prompts_sent(sandbox)) == 1


def test_only_the_backend_says_the_credits_ran_out(main_in_process: Main, sandbox: Sandbox) -> None:
    sandbox.configure(starting_credits=20)
    refused = main_in_process("chat", "a watercolor picture of a heron", "--json")
    assert refused.code == 5  # 30 needed, 20 available: sent once, and the backend's 2001 says no
    assert refused.json()["error"]["type"] == "InsufficientCredits"
    assert "register?bind=anon_" in refused.json()["error"]["hint"]
    assert len(prompts_sent(sandbox)) == 1


def test_each_kind_of_error_is_one_line_with_its_exit_code(main_in_process: Main, sandbox: Sandbox) -> None:
    nothing = main_in_process("export")
    assert (nothing.code, nothing.err) == (
        3,
        "error: Nothing to export yet: no project. Generate an image or video first.\n",
    )
    unknown = main_in_process("status", "--job", "job_000000000000")
    assert unknown.code == 2
    assert unknown.err.startswith("error: No job 'job_000000000000'.")
    sandbox.inject("malformed_json", times=None, path="/api/credits")
    down = main_in_process("credits")
    assert down.code == 4
    assert down.err.startswith("error: ")
    assert down.err.count("\n") == 1
    as_json = main_in_process("credits", "--json")
    assert as_json.json()["error"]["type"] == "BadResponse"
    assert as_json.json()["error"]["exit_code"] == 4


def test_the_token_is_never_printed_even_with_debug(
    main_in_process: Main, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = sandbox.new_user(credits=500, anonymous=False)
    monkeypatch.setenv("NEMO_TOKEN", user.token)
    run = main_in_process("--debug", "generate", "a quiet harbour", "--kind", "image", "--json")
    assert run.code == 0, run.err
    assert " DEBUG free_generation_image." in run.err
    assert user.token not in run.out + run.err
    sandbox.inject("token_expired")
    failed = main_in_process("--debug", "credits")
    assert user.token not in failed.out + failed.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "sent", "code"), [("y\n", 1, 5), ("n\n", 0, 1), ("", 0, 1)])
def test_on_a_terminal_the_user_is_asked_once_before_spending_beyond_the_credits(
    main_in_process: Main,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    sent: int,
    code: int,
) -> None:
    sandbox.configure(starting_credits=50)
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    args = build_parser().parse_args(["generate", "ocean waves at dawn", "--kind", "video"])
    stderr, stdout = _Terminal(), io.StringIO()
    run = Run(args=args, display=Display(stderr, "off", clock=time.monotonic), stdout=stdout, stderr=stderr)
    assert execute(run) == code  # a yes is sent and refused by the backend (2001); a no sends nothing
    assert (
        "estimated at about 100 credits (an estimate, not a price) and 50 are available" in stderr.getvalue()
    )
    assert stderr.getvalue().count("Send it anyway? [y/N] ") == 1
    assert len(prompts_sent(sandbox)) == sent
    if not sent:
        assert "Not sent: you chose not to spend credits" in stderr.getvalue()


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x07\u202e"


def test_a_backend_error_message_is_printed_without_its_escape_sequences(
    main_in_process: Main, sandbox: Sandbox
) -> None:
    for extra in ((), ("--json",)):
        sandbox.inject("error_frame", after=1, message=f"Agent {HOSTILE}crashed", path="/run_sse")
        run = main_in_process("generate", f"a kite {HOSTILE}over the sea", "--kind", "image", *extra)
        assert run.code != 0
        for char in "\x1b\x07\u202e":
            assert char not in run.out + run.err
        assert "\\u001b" not in run.out  # not even escaped in the JSON document
        assert "Agent crashed" in (run.json()["error"]["message"] if extra else run.err)


@pytest.mark.parametrize("value", ["0", "61", "nan", "inf", "-inf", "-5"])
def test_a_bad_duration_names_the_flag_and_the_range(
    main_in_process: Main, sandbox: Sandbox, value: str
) -> None:
    run = main_in_process("generate", "waves at dawn", "--kind", "video", f"--duration={value}")
    assert run.code == 2
    assert run.err.startswith("error: --duration")
    assert "duration_s" not in run.err
    assert "60" in run.err  # the allowed range, in words a person can act on
    assert "less than or equal" not in run.err
    as_json = main_in_process("generate", "waves at dawn", "--kind", "video", f"--duration={value}", "--json")
    assert as_json.json()["error"]["argument"] == "--duration"
    assert prompts_sent(sandbox) == []
