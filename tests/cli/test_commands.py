"""The real command in a subprocess against the sandbox: what people and scripts actually get."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from free_generation_image.models import GenerateResult
from free_generation_image.sandbox import Sandbox
from tests.cli.helpers import Cli

RENDER_SUBMIT = "/api/render/proxy/lambda"


def render_submits(sandbox: Sandbox) -> int:
    return sum(1 for e in sandbox.requests(RENDER_SUBMIT, method="POST") if e.path == RENDER_SUBMIT)


def test_a_script_generates_checks_and_exports_with_json(cli: Cli, sandbox: Sandbox) -> None:
    generated = cli.json("generate", "a red fox in the snow", "--kind", "image")
    assert generated["status"] == "completed"
    assert set(generated) == set(GenerateResult.model_fields)
    image = Path(generated["media"][0]["path"])
    assert image.parent == cli.output_dir
    assert image.read_bytes().startswith(b"\x89PNG")
    assert generated["credits_spent"] == 30
    prompts = [entry.message or "" for entry in sandbox.requests("/run_sse")]
    assert len(prompts) == 1
    assert prompts[0].startswith("a red fox in the snow")

    assert cli.json("credits")["available"] == generated["credits_after"]

    status = cli.json("status")
    assert status["ready_to_export"] is True
    assert status["jobs"][0]["job_id"] == generated["job_id"]

    exported = cli.json("export")
    video = Path(exported["file"]["path"])
    assert video.suffix == ".mp4"
    assert b"ftyp" in video.read_bytes()[:12]

    routed = cli.json("chat", "导出")  # Chinese for "export": routed locally, never sent to the agent
    assert routed["operation"] == "export"
    assert routed["export"]["file"]["path"] == str(video)  # same unchanged timeline: same file
    assert render_submits(sandbox) == 1
    assert len(sandbox.requests("/run_sse")) == 1


def test_piped_output_is_plain_and_quiet_is_quiet(cli: Cli) -> None:
    done = cli.run("generate", "a lighthouse at night", "--kind", "image")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert re.search(r"^\[\d+s\] Generating: \S", done.stderr, re.MULTILINE)
    assert re.search(r"^Saved PNG: .+\.png", done.stdout, re.MULTILINE)
    quiet = cli.run("export", "--quiet")
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("Exported MP4: ")


def test_wait_0_hands_back_a_job_id_that_status_collects(cli: Cli, sandbox: Sandbox) -> None:
    cli.json("generate", "a paper boat on a puddle", "--kind", "image")
    sandbox.configure(render_seconds=2.0)
    started = cli.run("export", "--wait", "0")
    assert started.returncode == 75, started.stderr
    match = re.search(r"free-generation-image status --job (job_[0-9a-f]+)$", started.stdout)
    assert match, started.stdout
    collected = cli.json("status", "--job", match.group(1))
    assert collected["export"]["status"] == "completed"
    assert Path(collected["export"]["file"]["path"]).is_file()
    assert render_submits(sandbox) == 1  # the second process resumed polling; it did not render again


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")
def test_ctrl_c_during_a_render_stops_cleanly_and_status_collects_it(cli: Cli, sandbox: Sandbox) -> None:
    cli.json("generate", "a lantern festival", "--kind", "image")
    sandbox.configure(render_seconds=3.0)
    export = cli.popen("export")
    assert export.stderr is not None
    first = export.stderr.readline()  # progress started: the render is being submitted
    assert "Exporting MP4" in first
    rendering = export.stderr.readline()
    assert "rendering" in rendering
    export.send_signal(signal.SIGINT)
    stdout, stderr = export.communicate(timeout=10)
    assert export.returncode == 130
    assert stdout == ""
    match = re.search(
        r"Stopped waiting\. Job (job_[0-9a-f]+) keeps its place: run `free-generation-image status --job "
        r"(job_[0-9a-f]+)` to collect it\. Nothing was re-sent\.",
        stderr,
    )
    assert match, stderr
    assert match.group(1) == match.group(2)
    assert "Traceback" not in stderr

    collected = cli.json("status", "--job", match.group(1))
    assert collected["export"]["status"] == "completed"
    assert "Resumed after a restart." in collected["export"]["notes"]
    assert Path(collected["export"]["file"]["path"]).read_bytes()[4:8] == b"ftyp"
    assert render_submits(sandbox) == 1


def test_a_generation_over_budget_is_refused_before_sending_unless_confirmed(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.configure(starting_credits=50)
    refused = cli.run("generate", "ocean waves at dawn", "--kind", "video")
    assert refused.returncode == 5
    assert "likely costs about 100 credits and only 50 are available" in refused.stderr
    assert "add --yes" in refused.stderr
    as_json = cli.json("generate", "ocean waves at dawn", "--kind", "video", expect=5)
    assert as_json["error"]["type"] == "LikelyOverBudget"
    assert "register?bind=anon_" in as_json["error"]["hint"]
    assert sandbox.requests("/run_sse") == []

    confirmed = cli.run("generate", "ocean waves at dawn", "--kind", "video", "--yes")
    assert confirmed.returncode == 5  # sent once; the backend refused it as well (code 2001)
    assert "credits" in confirmed.stderr.lower()
    assert len(sandbox.requests("/run_sse")) == 1


def test_errors_are_one_line_with_an_exit_code_per_kind(cli: Cli, sandbox: Sandbox) -> None:
    nothing = cli.run("export")
    assert nothing.returncode == 3
    assert nothing.stderr == "error: Nothing to export yet: no project. Generate an image or video first.\n"

    unknown = cli.run("status", "--job", "job_000000000000")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: No job 'job_000000000000'.")

    usage = cli.run("generate")
    assert usage.returncode == 2
    assert "usage:" in usage.stderr

    sandbox.inject("server_error", times=None, path="/api/credits")
    down = cli.run("credits")
    assert down.returncode == 4
    assert down.stderr.startswith("error: ")
    assert down.stderr.count("\n") == 1
    assert "Traceback" not in down.stderr
    failed = cli.json("credits", expect=4)
    assert failed["error"]["type"] == "BackendUnavailable"


def test_the_token_is_never_printed_even_with_debug(cli: Cli, sandbox: Sandbox) -> None:
    user = sandbox.new_user(credits=500, anonymous=False)
    done = cli.run("--debug", "generate", "a quiet harbour", "--kind", "image", "--json", NEMO_TOKEN=user.token)
    assert done.returncode == 0, done.stderr
    assert "DEBUG" in done.stderr
    assert user.token not in done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "completed"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_live_status_line_while_stdout_stays_one_json_document(cli: Cli) -> None:
    parent, child = os.openpty()
    proc = subprocess.Popen(
        cli.command("generate", "a snowy cabin", "--kind", "image", "--json"),
        env={k: v for k, v in cli.env.items() if k != "TERM"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=child,
    )
    os.close(child)
    chunks: list[bytes] = []

    def drain() -> None:  # a full pty buffer would block the child
        while True:
            try:
                data = os.read(parent, 4096)
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = proc.communicate(timeout=60)
    reader.join(10)
    os.close(parent)
    assert proc.returncode == 0
    assert json.loads(stdout)["status"] == "completed"
    terminal = b"".join(chunks).decode()
    assert "\r\x1b[K" in terminal
    assert re.search(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Generating · ", terminal)
    assert terminal.endswith(("\r\x1b[K", "\n"))  # no stale status line is left behind
