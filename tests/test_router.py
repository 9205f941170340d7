"""router.route: a table of real-world phrasings (EN, ZH, mixed, tricky) and a never-raises property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from free_generation_image.router import OPS, Route, route

# (message, op, fmt for export / job id for cancel+status / sources for upload)
TABLE: list[tuple[str, str, object]] = [
    # --- export, plain
    ("export", "export", "mp4"),
    ("Export!", "export", "mp4"),
    ("EXPORT the video", "export", "mp4"),
    ("please export it", "export", "mp4"),
    ("can you export the final cut?", "export", "mp4"),
    ("export the final video to my desktop", "export", "mp4"),
    ("download", "export", "mp4"),
    ("download it", "export", "mp4"),
    ("send me the video", "export", "mp4"),
    ("render it", "export", "mp4"),
    ("render the final video", "export", "mp4"),
    ("save the video", "export", "mp4"),
    ("give me the file", "export", "mp4"),
    ("ok looks great, export it as mp4", "export", "mp4"),
    ("export it please, thanks!", "export", "mp4"),
    ("export it, don't add anything", "export", "mp4"),
    # --- export, format
    ("export as png", "export", "png"),
    ("export a still", "export", "png"),
    ("download the png", "export", "png"),
    ("export the image", "export", "png"),
    ("export the image as mp4", "export", "mp4"),
    ("  export   as   PNG  ", "export", "png"),
    ("ＥＸＰＯＲＴ　ＡＳ　ＰＮＧ", "export", "png"),  # full-width letters and space
    # --- export, Chinese and mixed
    ("导出", "export", "mp4"),
    ("导出视频", "export", "mp4"),
    ("导出图片", "export", "png"),
    ("导出为PNG", "export", "png"),
    ("下载", "export", "mp4"),
    ("下载视频", "export", "mp4"),
    ("好了，导出吧", "export", "mp4"),
    ("把视频导出", "export", "mp4"),
    ("可以导出了吗？", "export", "mp4"),
    ("请 export 一下", "export", "mp4"),
    ("帮我export成png", "export", "png"),
    ("导出 as mp4", "export", "mp4"),
    ("“export”", "export", "mp4"),  # the user repeats our suggestion, quotes included
    ('ok, "export" please', "export", "mp4"),
    # --- negated export: nothing else to do -> status
    ("don't export yet", "status", None),
    ("Don’t export yet", "status", None),
    ("do not export", "status", None),
    ("not yet", "status", None),
    ("no need to download it", "status", None),
    ("export it later", "status", None),
    ("export? not yet", "status", None),
    ("先别导出", "status", None),
    ("不要导出", "status", None),
    ("暂时不导出", "status", None),
    ("导出再说", "status", None),
    ("先不", "status", None),
    ("先别急着导出", "status", None),
    ("等会再导出", "status", None),
    ("can I export yet?", "status", None),
    # --- negated export + another instruction -> generate
    ("don't export yet, add music", "generate", None),
    ("do not export. Make the sky pinker", "generate", None),
    ("before exporting, add a title that says Hello", "generate", None),
    ("先别导出，加点背景音乐", "generate", None),
    ("不要导出，把标题改成红色", "generate", None),
    # --- negated export + a read-only ask -> that ask
    ("dont export, just show me the timeline", "status", None),
    ("not now, how many credits do I have?", "credits", None),
    # --- export together with an edit: the edit goes first (export is offered afterwards)
    ("add lo-fi music, then export", "generate", None),
    ("generate a video and export it", "generate", None),
    ("先加音乐再导出", "generate", None),
    ("bigger title, then export", "generate", None),
    # --- credits
    ("credits", "credits", None),
    ("how many credits do I have?", "credits", None),
    ("What's my balance?", "credits", None),
    ("check balance", "credits", None),
    ("show me the credits", "credits", None),
    ("积分", "credits", None),
    ("我还有多少积分", "credits", None),
    ("余额", "credits", None),
    ("查询余额", "credits", None),
    ("积分还剩多少？", "credits", None),
    ("how many credits does a 10s video cost?", "credits", None),
    # --- status
    ("status", "status", None),
    ("状态", "status", None),
    ("show tracks", "status", None),
    ("show timeline", "status", None),
    ("show me the timeline", "status", None),
    ("what's the progress?", "status", None),
    ("is it done yet?", "status", None),
    ("进度", "status", None),
    ("查看进度", "status", None),
    ("时间线", "status", None),
    ("生成好了吗", "status", None),
    ("is the export done?", "status", None),
    ("导出好了吗", "status", None),
    ("status 怎么样了", "status", None),
    ("status job_abc12345", "status", "job_abc12345"),
    ("job_abc12345", "status", "job_abc12345"),
    ("what about JOB_0A1B2C3D4E5F?", "status", "job_0a1b2c3d4e5f"),
    # --- cancel
    ("cancel job_abc12345", "cancel", "job_abc12345"),
    ("Cancel job_abc12345 now please", "cancel", "job_abc12345"),
    ("取消 job_abc12345", "cancel", "job_abc12345"),
    ("取消任务 job_0a1b2c3d4e", "cancel", "job_0a1b2c3d4e"),
    ("stop job_abc12345", "cancel", "job_abc12345"),
    ("cancel", "cancel", None),
    ("取消", "cancel", None),
    ("stop the render", "cancel", None),
    # --- upload
    ("upload /home/me/clip.mp4", "upload", ("/home/me/clip.mp4",)),
    ("上传 ./a.png", "upload", ("./a.png",)),
    ("/tmp/photo.jpg", "upload", ("/tmp/photo.jpg",)),
    ("https://example.com/v.mov", "upload", ("https://example.com/v.mov",)),
    ("use this: https://cdn.x.com/a/b.webm?sig=1.", "upload", ("https://cdn.x.com/a/b.webm?sig=1",)),
    ("make a video like ~/Videos/ref.mp4", "upload", ("~/Videos/ref.mp4",)),
    ('upload "/Users/me/My Clip.MOV" and /tmp/b.png', "upload", ("/Users/me/My Clip.MOV", "/tmp/b.png")),
    (
        r"上传这个视频 C:\Users\John Smith\Videos\clip.mp4",
        "upload",
        (r"C:\Users\John Smith\Videos\clip.mp4",),
    ),
    ("upload https://example.com/file?id=3", "upload", ("https://example.com/file?id=3",)),
    ("upload clip.mp4", "upload", ("clip.mp4",)),
    ("clip.mp4", "upload", ("clip.mp4",)),
    (r"upload /tmp/My\ Clip.mp4", "upload", ("/tmp/My Clip.mp4",)),
    ("file:///tmp/a%20b.png", "upload", ("/tmp/a b.png",)),
    ("upload", "upload", ()),
    ("upload /tmp/notes.txt", "upload", ("/tmp/notes.txt",)),  # the service names the accepted formats
    # --- generate: creative prompts that merely mention an operation word
    ("generate an image of a credit card", "generate", None),
    ("a poster that says STATUS", "generate", None),
    ("make the title say 'export complete'", "generate", None),
    ('a neon sign reading "download now"', "generate", None),
    ("draw a download icon", "generate", None),
    ("render a cat in watercolor", "generate", None),
    ("a gymnast on a balance beam", "generate", None),
    ("a movie end-credits sequence with rolling names", "generate", None),
    ("design a progress bar icon", "generate", None),
    ("a timeline infographic of Roman history", "generate", None),
    ("status bar", "generate", None),
    ("show me a cat", "generate", None),
    ("cancel the music and use piano instead", "generate", None),
    ("stop the video at 5 seconds", "generate", None),
    ("make a still life painting of pears", "generate", None),
    ("a sunset over the sea, 10 seconds", "generate", None),
    ("make a video that says I don't want to export", "generate", None),
    ("画一只猫", "generate", None),
    ("生成一张海报，上面写着'导出'", "generate", None),
    ("生成一张海报，上面写着「积分」", "generate", None),
    ("把背景换成蓝色", "generate", None),
    ("add lo-fi music", "generate", None),
    ("no text on it, just the skyline", "generate", None),
    ("/imagine a cat", "generate", None),
    ("yes", "generate", None),  # a reply to the agent's question
    ("a red fox in the snow, cinematic, 16:9", "generate", None),
]


@pytest.mark.parametrize(("message", "op", "detail"), TABLE, ids=[m[:40] for m, _, _ in TABLE])
def test_route_table(message: str, op: str, detail: object) -> None:
    got = route(message)
    assert got.op == op, got.reason
    if op == "export":
        assert got.fmt == detail
    elif op in ("cancel", "status"):
        assert got.job_id == detail
    elif op == "upload":
        assert got.sources == detail
    else:
        assert got.fmt is None
    assert got.prompt == message.strip()
    assert got.reason


def test_table_is_broad() -> None:
    assert len(TABLE) >= 60
    assert {op for _, op, _ in TABLE} == set(OPS)


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
def test_empty_message_is_a_harmless_status(message: str) -> None:
    assert route(message) == Route(op="status", prompt="", reason=route(message).reason)


def test_ids_outside_the_pattern_are_not_job_ids() -> None:
    assert route("job_short").op == "generate"
    assert route("job_" + "a" * 33).job_id is None
    assert route("myjob_abc12345").job_id is None


def test_export_does_not_upload_its_destination() -> None:
    got = route("export it to /tmp/out.mp4")
    assert (got.op, got.sources) == ("export", ())


def test_sources_are_deduplicated_in_order() -> None:
    got = route("upload /tmp/b.png /tmp/a.png /tmp/b.png")
    assert got.sources == ("/tmp/b.png", "/tmp/a.png")


def test_generate_keeps_the_original_message() -> None:
    message = "  Ｄon't export yet, add a 'Lo-fi' beat  "
    got = route(message)
    assert got.op == "generate"
    assert got.prompt == message.strip()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_route_never_raises_and_is_well_formed(message: str) -> None:
    got = route(message)
    assert got.op in OPS
    assert got.fmt in (("mp4", "png") if got.op == "export" else (None,))
    assert got.job_id is None or (got.job_id.startswith("job_") and got.op in ("status", "cancel"))
    assert got.sources == () or got.op == "upload"
    assert got.prompt == message.strip()


_SOUP = (
    "export download render save don't not yet no credits balance status timeline show cancel stop upload "
    "job_abc12345 /tmp/a.mp4 https://x.io/a.png 'quoted' 导出 下载 积分 余额 进度 取消 上传 先别 不要 再说 "
    "add music cat , . ， 。 and then 然后 再"
)
_WORDS = st.sampled_from(_SOUP.split())


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, max_size=12).map(" ".join))
def test_route_is_total_on_keyword_soup(message: str) -> None:
    got = route(message)
    assert got.op in OPS
    assert got == route(message)  # deterministic
