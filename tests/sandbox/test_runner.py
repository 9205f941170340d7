"""Starting and stopping: in-process (thread) and as the `sandbox` command (subprocess), both controlled
through the same control API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx2
import pytest

from free_generation_image.sandbox import SandboxConfig, SandboxControl, main, run_sandbox
from free_generation_image.sandbox.cli import config_from, parser

from .helpers import sse_request


def test_starts_fast_and_stops_without_leaking_threads() -> None:
    before = set(threading.enumerate())
    started = time.perf_counter()
    with run_sandbox(SandboxConfig(media_scale=0.1, generation_seconds=0.01, edit_seconds=0.01)) as sb:
        assert time.perf_counter() - started < 1.0
        assert sb.url.startswith("http://127.0.0.1:")
        user = sb.new_user()
        with httpx2.Client(base_url=sb.url, trust_env=False, verify=False) as http:
            headers = {"Authorization": f"Bearer {user.token}"}
            sid = http.post("/api/tasks/me/with-session/nemo_agent", json={}, headers=headers).json()["data"][
                "session_id"
            ]
            http.post(
                "/run_sse", json=sse_request(sid, "an image of a cat"), headers=headers
            )  # uses a media worker
    assert set(threading.enumerate()) == before


def test_stops_promptly_with_a_stream_open_and_a_turn_running() -> None:
    done = threading.Event()
    with run_sandbox(SandboxConfig(generation_seconds=60, media_scale=0.1, heartbeat_interval=0.05)) as sb:
        user = sb.new_user()
        headers = {"Authorization": f"Bearer {user.token}"}
        with httpx2.Client(base_url=sb.url, trust_env=False, verify=False) as http:
            sid = http.post("/api/tasks/me/with-session/nemo_agent", json={}, headers=headers).json()["data"][
                "session_id"
            ]

        def listen() -> None:
            body = sse_request(sid, "a video of a fox")
            with (
                httpx2.Client(base_url=sb.url, trust_env=False, verify=False, timeout=30) as client,
                client.stream("POST", "/run_sse", json=body, headers=headers) as r,
            ):
                for _ in r.iter_lines():
                    pass
            done.set()

        listener = threading.Thread(target=listen)
        listener.start()
        time.sleep(0.3)
        stopping = time.perf_counter()
    assert time.perf_counter() - stopping < 3.0
    listener.join(5)
    assert done.is_set()  # the open stream ended cleanly when the server stopped


def test_reset_restores_the_initial_config() -> None:
    with run_sandbox(SandboxConfig(render_seconds=1, faults=("plan_402",))) as sb:
        assert sb.configure(render_seconds=7).render_seconds == 7.0
        sb.inject("rate_limited")
        assert [f["name"] for f in sb.faults()] == ["plan_402", "rate_limited"]
        sb.new_user()
        sb.reset()
        assert sb.get_config().render_seconds == 1.0
        assert [f["name"] for f in sb.faults()] == ["plan_402"]  # run-wide faults are re-armed
        with httpx2.Client(base_url=sb.url, trust_env=False, verify=False) as http:
            assert http.get("/_sandbox").json()["counts"]["users"] == 0


def test_works_from_an_async_test() -> None:
    import anyio

    async def scenario() -> int:
        with run_sandbox() as sb:
            async with httpx2.AsyncClient(base_url=sb.url, trust_env=False, verify=False) as http:
                return (await http.get("/")).status_code

    assert anyio.run(scenario) == 200


def test_unknown_paths_and_methods_are_journaled() -> None:
    with run_sandbox() as sb, httpx2.Client(base_url=sb.url, trust_env=False, verify=False) as http:
        assert http.get("/api/nope").status_code == 404
        assert http.get("/run_sse").status_code == 405
        assert [(e.method, e.path, e.status) for e in sb.journal()] == [
            ("GET", "/api/nope", 404),
            ("GET", "/run_sse", 405),
        ]


def test_cli_arguments() -> None:
    args = parser().parse_args(
        [
            "--port",
            "0",
            "--render-seconds",
            "2",
            "--framing",
            "typed",
            "--heartbeat",
            "comment",
            "--fault",
            "rate_limited:2",
            "--fault",
            "silent_close",
            "--no-quota",
            "--media-scale",
            "0.5",
        ]
    )
    config = config_from(args)
    assert (config.port, config.render_seconds, config.framing, config.heartbeat) == (
        0,
        2.0,
        "typed",
        "comment",
    )
    assert (config.faults, config.quota_enabled, config.media_scale) == (
        ("rate_limited:2", "silent_close"),
        False,
        0.5,
    )
    assert config_from(parser().parse_args([])).port == 8765


def test_cli_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--fault", "gremlins"])
    assert exit_info.value.code == 2 and "unknown fault" in capsys.readouterr().err


def test_cli_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["--port", str(busy.getsockname()[1])]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_the_sandbox_command_in_a_subprocess() -> None:
    code = "import sys; from free_generation_image.sandbox import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--render-seconds", "0.5", "--fault", "plan_402:always"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("free-generation-image sandbox running at http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        assert f"export NEMO_API_URL={url}" in process.stdout.readline() + process.stdout.readline()
        with SandboxControl(url) as control:
            assert control.get_config().render_seconds == 0.5
            assert [(f["name"], f["times"]) for f in control.faults()] == [("plan_402", None)]
            user = control.new_user(credits=5)
            assert control.user(user.user_id).available == 5
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
