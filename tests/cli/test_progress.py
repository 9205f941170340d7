"""The progress display: pure formatting, and what an Activity writes in each mode."""

from __future__ import annotations

import io

import anyio
import pytest

from free_generation_image.cli.progress import (
    CLEAR_LINE,
    TEXT_QUIET_SECONDS,
    Activity,
    ActivityState,
    Display,
    DisplayMode,
    Rate,
    bar,
    choose_mode,
    fit,
    format_bytes,
    format_elapsed,
    one_line,
    plain_line,
    status_line,
    supports_unicode,
)
from free_generation_image.jobs import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def activity(mode: DisplayMode, clock: Clock, *, width: int = 80) -> tuple[Activity, io.StringIO]:
    out = io.StringIO()
    return Activity(out, mode, "Generating", clock=clock, width=lambda: width, unicode=True), out


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (7.9, "7s"),
        (59, "59s"),
        (60, "1m00s"),
        (65, "1m05s"),
        (3599, "59m59s"),
        (3720, "1h02m"),
        (-3, "0s"),
    ],
)
def test_format_elapsed(seconds: float, text: str) -> None:
    assert format_elapsed(seconds) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (1_540_000, "1.5 MB"),
        (3_200_000_000, "3.2 GB"),
        (4.2e12, "4.2 TB"),
    ],
)
def test_format_bytes(count: float, text: str) -> None:
    assert format_bytes(count) == text


def test_bar_is_fixed_width_and_clamped() -> None:
    assert bar(50, 10) == "█████░░░░░"
    assert bar(-5, 4) == "░░░░"
    assert bar(250, 4) == "████"
    assert bar(25, 4, unicode=False) == "#---"


def test_fit_counts_wide_characters_and_marks_the_cut() -> None:
    assert fit("short text", 20) == "short text"
    assert one_line("two\nlines  and   spaces") == "two lines and spaces"
    cut = fit("生成一只在海边奔跑的小狗", 9)
    assert cut.endswith("…")
    assert sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in cut) <= 9
    assert fit("abcdefghij", 5) == "abcd…"


def test_rate_uses_a_sliding_window() -> None:
    rate = Rate(window=2.0)
    assert rate.per_second() is None
    rate.add(0.0, 0)
    rate.add(1.0, 1000)
    assert rate.per_second() == pytest.approx(1000)
    rate.add(2.0, 2000)
    rate.add(3.0, 2200)  # slower now: the fast start leaves the window
    rate.add(4.0, 2400)
    assert rate.per_second() == pytest.approx(200)


def test_status_line_shows_spinner_message_and_elapsed() -> None:
    state = ActivityState(title="Generating", started=0.0, message="generating the image")
    line = status_line(state, 65.0, frame=0, width=80)
    assert line == "⠋ Generating · generating the image · 1m05s"
    assert (
        status_line(state, 65.0, frame=0, width=80, unicode=False)
        == "| Generating - generating the image - 1m05s"
    )


def test_status_line_shows_a_bar_when_the_backend_gives_a_percentage() -> None:
    state = ActivityState(title="Exporting MP4", started=0.0, message="rendering 40%", percent=40.0)
    assert status_line(state, 12.0, frame=3, width=80).startswith("████████░░░░░░░░░░░░  40% Exporting MP4")


def test_status_line_shows_download_bytes_and_speed_and_never_wraps() -> None:
    state = ActivityState(title="Exporting MP4", started=0.0, percent=100.0)
    state.bytes_done, state.bytes_total = 2_000_000, 8_000_000
    state.rate.add(0.0, 0)
    state.rate.add(2.0, 2_000_000)
    line = status_line(state, 3.0, frame=0, width=120)
    assert "2.0 MB / 8.0 MB (1.0 MB/s)" in line
    assert " 25%" in line
    assert len(status_line(state, 3.0, frame=0, width=30)) <= 29


def test_plain_line() -> None:
    state = ActivityState(title="Exporting MP4", started=0.0, message="rendering 40%")
    assert plain_line(state, 12.0) == "[12s] Exporting MP4: rendering 40%"


def test_choose_mode() -> None:
    assert choose_mode(Tty(), quiet=False, debug=False, env={}) == "live"
    assert choose_mode(Tty(), quiet=True, debug=False, env={}) == "off"
    assert choose_mode(Tty(), quiet=False, debug=True, env={}) == "plain"
    assert choose_mode(Tty(), quiet=False, debug=False, env={"TERM": "dumb"}) == "plain"
    assert choose_mode(io.StringIO(), quiet=False, debug=False, env={}) == "plain"


def test_supports_unicode_follows_the_stream_encoding() -> None:
    assert supports_unicode(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert not supports_unicode(io.TextIOWrapper(io.BytesIO(), encoding="ascii"))


def test_live_text_is_streamed_once_even_when_the_same_progress_is_redelivered() -> None:
    clock = Clock()
    act, out = activity("live", clock)
    chunk = Progress(message="agent: Hello", text_delta="Hello, ")
    act.update(chunk)
    act.update(chunk)  # Job.wait repeats its latest progress on every tick
    act.update(Progress(message="agent: world", text_delta="world"))
    assert out.getvalue().count("Hello, ") == 1
    assert "world" in out.getvalue()


def test_live_status_line_waits_for_text_to_pause_then_starts_on_a_new_line() -> None:
    clock = Clock()
    act, out = activity("live", clock)
    act.update(Progress(message="agent is writing", text_delta="Working on it"))
    act.draw()
    assert CLEAR_LINE + "⠙" not in out.getvalue()  # not drawn over the unfinished sentence
    clock.now += TEXT_QUIET_SECONDS + 0.1
    act.draw()
    written = out.getvalue()
    assert "Working on it\x1b[0m\n" + CLEAR_LINE in written
    assert written.endswith("Generating · agent is writing · 1s")
    act.close()
    assert out.getvalue().endswith(CLEAR_LINE)


def test_no_color_keeps_agent_text_undimmed() -> None:
    out = io.StringIO()
    act = Activity(out, "live", "Generating", clock=Clock(), width=lambda: 80, unicode=True, dim=False)
    act.update(Progress(message="agent: hi", text_delta="Hi"))
    assert out.getvalue() == "Hi"


def test_download_reports_show_bytes_and_speed() -> None:
    clock = Clock()
    act, out = activity("live", clock)
    act.update(Progress(message="downloading", bytes_done=0, bytes_total=4_000_000))
    clock.now += 2
    act.update(Progress(message="downloading", bytes_done=3_000_000, bytes_total=4_000_000))
    assert out.getvalue().endswith("75% Generating · 3.0 MB / 4.0 MB (1.5 MB/s) · 2s")


def test_live_transfer_shows_bytes() -> None:
    clock = Clock()
    act, out = activity("live", clock)
    act.transfer(1_000, 4_000)
    clock.now += 1
    act.transfer(3_000, 4_000)
    assert "3.0 kB / 4.0 kB (2.0 kB/s)" in out.getvalue().rsplit(CLEAR_LINE, 1)[1]


def test_a_second_download_starts_its_own_speed_and_other_reports_end_the_transfer_line() -> None:
    clock = Clock()
    act, out = activity("live", clock)
    act.transfer(0, 10_000)
    clock.now += 1
    act.transfer(10_000, 10_000)
    clock.now += 1
    act.transfer(1_000, 2_000)  # the next file: speed over this file only, never negative
    assert act.state.rate.per_second() is None
    clock.now += 1
    act.transfer(2_000, 2_000)
    assert "2.0 kB / 2.0 kB (1.0 kB/s)" in out.getvalue().rsplit(CLEAR_LINE, 1)[1]
    act.update(Progress(message="saving generated media"))
    assert out.getvalue().endswith(" Generating · saving generated media · 3s")


def test_plain_mode_prints_changes_rate_limited_and_never_ansi() -> None:
    clock = Clock()
    act, out = activity("plain", clock)
    act.update(Progress(message="sending the prompt"))
    act.update(Progress(message="sending the prompt"))  # unchanged: not repeated
    clock.now += 0.5
    act.update(Progress(message="rendering 10%"))  # too soon after the last line
    clock.now += 2.0
    act.update(Progress(message="rendering 60%"))
    act.update(Progress(message="agent: hi", text_delta="Hi there"))
    clock.now += 5.0
    act.update(Progress(message="saving"))
    act.close()
    assert out.getvalue() == (
        "[0s] Generating: sending the prompt\n"
        "[2s] Generating: rendering 60%\n"
        "Hi there\n"
        "[7s] Generating: saving\n"
    )
    assert "\x1b" not in out.getvalue()


HOSTILE = ["\x1b]0;pwned\x07", "\x1b[2J", "\x07", "\u202e", "\x1b]8;;http://x.test\x1b\\", "\r"]


@pytest.mark.parametrize("mode", ["live", "plain"])
@pytest.mark.parametrize("seq", HOSTILE)
def test_agent_text_and_progress_messages_reach_the_terminal_cleaned(mode: DisplayMode, seq: str) -> None:
    clock = Clock()
    out = io.StringIO()
    act = Activity(out, mode, "Generating", clock=clock, width=lambda: 80, unicode=True, dim=False)
    act.update(Progress(message=f"working{seq} hard", text_delta=f"Sure{seq}! "))
    clock.now += TEXT_QUIET_SECONDS + 3
    act.update(Progress(message=f"rendering{seq} 10%"))
    act.draw()
    act.close()
    Display(out, mode, clock=clock).note(f"note{seq} here")
    written = out.getvalue().replace(CLEAR_LINE, "")  # the display's own redraw sequence
    assert not any(ch in written for ch in "\x1b\x07\u202e\r"), repr(written)
    assert written.startswith("Sure")
    assert "rendering 10%" in written  # the status line stays one line, whatever the message holds
    assert written.endswith(("note here\n", "note\n here\n"))  # a CR becomes a line break, never a rewind


def test_one_line_drops_controls_and_newlines() -> None:
    assert one_line("a\x1b[31m red\x1b[0m\n\tline\u202e") == "a red line"


def test_plain_mode_always_announces_a_download() -> None:
    clock = Clock()
    act, out = activity("plain", clock)
    act.update(Progress(message="downloading"))
    act.transfer(500, None)
    assert out.getvalue().splitlines()[-1] == "[0s] Generating: 500 B"


def test_off_mode_writes_nothing() -> None:
    clock = Clock()
    act, out = activity("off", clock)
    act.update(Progress(message="x", text_delta="text"))
    act.transfer(10, 20)
    act.close()
    assert out.getvalue() == ""
    display = Display(out, "off", clock=clock)
    display.note("hello")
    assert out.getvalue() == ""


@pytest.mark.anyio
async def test_live_activity_ticks_while_the_body_waits_and_clears_the_line() -> None:
    out = Tty()
    display = Display(out, "live", clock=Clock(), unicode=True)
    async with display.activity("Exporting MP4"):
        await anyio.sleep(0.35)
    frames = out.getvalue().count(CLEAR_LINE + "⠙") + out.getvalue().count(CLEAR_LINE + "⠹")
    assert frames >= 2
    assert out.getvalue().endswith(CLEAR_LINE)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["live", "plain", "off"])
async def test_errors_leave_the_activity_unwrapped(mode: DisplayMode) -> None:
    display = Display(io.StringIO(), mode, clock=Clock())

    async def fail() -> None:
        async with display.activity("Generating"):
            await anyio.sleep(0.01)
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await fail()
