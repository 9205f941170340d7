"""The command line itself: options, help, usage errors, and what `serve` must not import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from free_generation_image import __version__
from free_generation_image.cli import DEFAULT_WAIT, build_parser, main

COMMANDS = ("generate", "upload", "credits", "status", "export", "cancel", "chat", "demo", "serve")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"free-generation-image {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"examples:\n  free-generation-image {command}" in text
    assert "exit codes:" in text
    assert "130" in text


def test_top_level_help_lists_commands_environment_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for word in (*COMMANDS, "sandbox", "NEMO_OUTPUT_DIR", "exit codes:", "75"):
        assert word in text


@pytest.mark.parametrize(
    "argv", [["--json", "--quiet", "credits"], ["credits", "--json", "-q"], ["--json", "credits", "--quiet"]]
)
def test_output_options_work_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.command, args.json, args.quiet, args.debug) == ("credits", True, True, False)


def test_generate_options() -> None:
    args = build_parser().parse_args(
        [
            "generate",
            "a fox",
            "--kind",
            "video",
            "--aspect-ratio",
            "9:16",
            "--duration",
            "8",
            "--new-project",
            "--yes",
            "--wait",
            "30",
            "--output",
            "/tmp/out",
            "--api-url",
            "http://127.0.0.1:1",
        ]
    )
    assert (args.prompt, args.kind, args.aspect_ratio, args.duration) == ("a fox", "video", "9:16", 8.0)
    assert args.new_project
    assert args.yes
    assert args.wait == 30.0
    assert str(args.output) == "/tmp/out"
    assert args.api_url == "http://127.0.0.1:1"
    assert build_parser().parse_args(["export"]).wait == DEFAULT_WAIT


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["generate"],
        ["bogus"],
        ["credits", "--nope"],
        ["export", "--format", "gif"],
        ["status", "--wait", "-1"],
        ["status", "--wait", "nan"],
        ["generate", "x", "--kind", "audio"],
        ["generate", "x", "--aspect-ratio", "2:1"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_sandbox_options_are_passed_through_untouched() -> None:
    args, extra = build_parser().parse_known_args(["sandbox", "--port", "0", "--help"])
    assert args.command == "sandbox"
    assert extra == ["--port", "0", "--help"]


def test_a_bad_setting_is_one_line_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEMO_API_URL", "ftp://example.com")
    assert main(["credits"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "error: NEMO_API_URL must be an http(s) URL, got 'ftp://example.com'. Fix or unset the "
        "NEMO_API_URL environment variable.\n"
    )
    assert captured.out == ""
    assert main(["credits", "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]["type"] == "InvalidInput"
    assert doc["error"]["exit_code"] == 2


def test_importing_the_cli_stays_light() -> None:
    """`serve` is cold-start benchmarked: the CLI must not drag in the service, sandbox or media libs."""
    heavy = [
        "free_generation_image.service",
        "free_generation_image.sandbox",
        "free_generation_image.nemo.client",
        "PIL",
        "av",
        "httpx2",
        "mcp",
        "uvicorn",
        "starlette",
    ]
    code = f"import sys, free_generation_image.cli\nprint([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
