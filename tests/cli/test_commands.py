"""The real command in a subprocess: what only a process shows (console script, one clean JSON document
on stdout, SIGINT, a terminal). Everything else runs through ``main`` in test_main.py, faster."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from free_generation_image import __version__
from free_generation_image.sandbox import Sandbox
from tests.cli.helpers import Cli

RENDER_SUBMIT = "/api/render/proxy/lambda"


def render_submits(sandbox: Sandbox) -> int:
    return sum(1 for e in sandbox.requests(RENDER_SUBMIT, method="POST") if e.path == RENDER_SUBMIT)


def test_the_console_script_is_installed() -> None:
    script = shutil.which("free-generation-image", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout) == (0, f"free-generation-image {__version__}\n")


def test_a_script_gets_one_json_document_and_usage_errors_exit_2(cli: Cli) -> None:
    generated = cli.json("generate", "a red fox in the snow", "--kind", "image")
    assert generated["status"] == "completed"
    assert Path(generated["media"][0]["path"]).is_file()
    usage = cli.run("export", "--format", "gif")
    assert usage.returncode == 2
    assert usage.stdout == ""
    assert "invalid choice: 'gif'" in usage.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")
def test_ctrl_c_during_a_render_stops_cleanly_and_status_collects_it(cli: Cli, sandbox: Sandbox) -> None:
    cli.json("generate", "a lantern festival", "--kind", "image")
    sandbox.configure(render_seconds=4.0)
    export = cli.popen("export")
    assert export.stderr is not None
    assert "Exporting MP4: submitting the render" in export.stderr.readline()
    assert "Exporting MP4: rendering" in export.stderr.readline()  # the backend is rendering it
    export.send_signal(signal.SIGINT)
    stdout, stderr = export.communicate(timeout=10)
    assert export.returncode == 130
    assert stdout == ""
    assert "Traceback" not in stderr
    match = re.search(
        r"^Stopped waiting\. Job (job_[0-9a-f]+) keeps its place: run `free-generation-image status --job "
        r"\1` to collect it\. Nothing was re-sent\.$",
        stderr,
        re.MULTILINE,
    )
    assert match, stderr

    collected = cli.json("status", "--job", match.group(1))
    assert collected["export"]["status"] == "completed"
    assert "Resumed after a restart." in collected["export"]["notes"]
    assert Path(collected["export"]["file"]["path"]).read_bytes()[4:8] == b"ftyp"
    assert render_submits(sandbox) == 1  # collected by polling the same render, not by rendering again


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")
def test_ctrl_c_during_a_generation_then_status_collects_the_image(cli: Cli, sandbox: Sandbox) -> None:
    sandbox.configure(generation_seconds=3.0)
    generate = cli.popen("generate", "a koi pond", "--kind", "image")
    assert generate.stderr is not None
    deadline = time.monotonic() + 10
    while not sandbox.requests("/run_sse") and time.monotonic() < deadline:  # the backend has the prompt
        time.sleep(0.02)
    generate.send_signal(signal.SIGINT)
    _, stderr = generate.communicate(timeout=10)
    assert generate.returncode == 130
    match = re.search(r"Stopped waiting\. Job (job_[0-9a-f]+) keeps its place", stderr)
    assert match, stderr

    collected = cli.json("status", "--job", match.group(1))
    assert len(sandbox.requests("/run_sse")) == 1  # never re-sent
    assert collected["generate"]["status"] == "completed"
    assert Path(collected["generate"]["media"][0]["path"]).read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_live_status_line_while_stdout_stays_one_json_document(cli: Cli) -> None:
    stdout, terminal, code = _on_a_terminal(cli, "generate", "a snowy cabin", "--kind", "image", "--json")
    assert code == 0
    assert json.loads(stdout)["status"] == "completed"
    assert re.search(r"\r\x1b\[K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Generating · (.+ · )?\ds", terminal)
    assert terminal.endswith(("\r\x1b[K", "\n"))  # no stale status line is left behind


def test_serve_keeps_stdout_for_the_protocol_even_with_debug(cli: Cli) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    done = subprocess.run(
        cli.command("--debug", "serve"),
        env=cli.env,
        input=json.dumps(initialize) + "\n",  # then end of input: the server shuts down
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    messages = [json.loads(line) for line in done.stdout.splitlines()]  # nothing but JSON-RPC
    assert messages[0]["id"] == 1
    assert messages[0]["result"]["serverInfo"]["name"] == "free-generation-image"


QUIET_EXIT = (0, 141)  # done before the reader left, or stopped by the closed pipe (128 + SIGPIPE)
NOT_QUIET = ("Traceback", "BrokenPipeError", "unexpected", "Exception ignored", "report it")


@pytest.mark.skipif(sys.platform == "win32", reason="EPIPE on a pipe is POSIX behaviour")
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--json", "status"), 141),
        (("status",), 141),
        (("credits", "--json"), 141),
        (("--help",), 0),  # argparse itself ignores a failed write of the help
    ],
)
def test_a_closed_pipe_ends_the_command_quietly(cli: Cli, args: tuple[str, ...], code: int) -> None:
    cli.json("generate", "a red fox in the snow", "--kind", "image")  # so status has a timeline and a job
    for _ in range(3):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first byte: every write fails with EPIPE
        try:
            done = subprocess.run(
                cli.command(*args),
                env=cli.env,
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
                check=False,
            )
        finally:
            os.close(write_end)
        assert (done.returncode, done.stderr) == (code, ""), done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="EPIPE on a pipe is POSIX behaviour")
def test_piped_into_head_it_exits_quietly(cli: Cli) -> None:
    # `free-generation-image --json status | head -1`: the reader takes one line and leaves, whenever.
    cli.json("generate", "a red fox in the snow", "--kind", "image")
    for _ in range(5):
        proc = cli.popen("--json", "status")
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == "{\n"
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.wait(timeout=60)
        assert proc.returncode in QUIET_EXIT, stderr
        assert not any(word in stderr for word in NOT_QUIET), stderr


HOSTILE = "\x1b]0;pwned\x07 \x1b[2J\x1b[H \x07 \u202egnp.exe\u202c \x1b]8;;http://evil.test\x1b\\"
OWN_SEQUENCES = ("\r\x1b[K", "\x1b[2m", "\x1b[0m")  # the display's redraw and dim: nothing else may pass


def _without_own_sequences(terminal: str) -> str:
    for sequence in OWN_SEQUENCES:
        terminal = terminal.replace(sequence, "")
    return terminal


def _assert_clean(text: str) -> None:
    for char in ("\x1b", "\x07", "\x9b", "\x9d", "\u202e", "\u202c"):
        assert char not in text, (char, text)
    assert "\\u001b" not in text and "\\u202e" not in text  # not even escaped inside JSON


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_escape_sequences_from_the_backend_never_reach_the_terminal(cli: Cli, sandbox: Sandbox) -> None:
    # The sandbox's agent echoes the prompt (its title) in what it says, in the timeline and the file name.
    prompt = f"a lighthouse {HOSTILE} at dusk"
    for args in (("generate", prompt, "--kind", "image"), ("generate", prompt, "--kind", "image", "--json")):
        out, terminal, code = _on_a_terminal(cli, *args)
        assert code == 0, terminal
        _assert_clean(out)
        _assert_clean(_without_own_sequences(terminal))
    sandbox.inject("error_frame", after=1, message=f"Agent crashed {HOSTILE}", path="/run_sse")
    out, terminal, code = _on_a_terminal(cli, "generate", "a second lighthouse", "--kind", "image")
    assert code != 0
    assert "Agent crashed" in terminal
    _assert_clean(out)
    _assert_clean(_without_own_sequences(terminal))


def _on_a_terminal(cli: Cli, *args: str) -> tuple[str, str, int]:
    """Run with stderr on a pseudo-terminal (the live display) and stdout on a pipe; what each received."""
    parent, child = os.openpty()
    proc = subprocess.Popen(
        cli.command(*args),
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
    return stdout.decode(), b"".join(chunks).decode(errors="replace"), proc.returncode
