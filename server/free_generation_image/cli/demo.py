"""`demo`: prompt -> image -> export -> MP4 on an in-process sandbox, with a throwaway config dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from free_generation_image.cli.commands import export, generate
from free_generation_image.cli.render import exit_code_for
from free_generation_image.cli.run import Run
from free_generation_image.errors import FGIError
from free_generation_image.nemo.sanitize import clean

if TYPE_CHECKING:
    from free_generation_image.config import Settings
    from free_generation_image.sandbox.config import SandboxConfig


def run_demo(run: Run) -> int:
    """Prompt -> image saved -> timeline -> MP4 saved, on an in-process sandbox and a throwaway config dir."""
    import tempfile

    import anyio

    from free_generation_image import videolib
    from free_generation_image.sandbox.runner import run_sandbox

    # The demo ends with an MP4: say now, and precisely, if this environment cannot make one, rather than
    # after a render has failed twice.
    videolib.h264_encoder()
    with (
        tempfile.TemporaryDirectory(prefix="fgi-demo-") as config_dir,
        run_sandbox(demo_sandbox_config()) as sandbox,
    ):
        settings = _demo_settings(sandbox.url, Path(config_dir), run.args.output)
        run.display.note(
            f"Demo on a local sandbox backend at {sandbox.url}: offline, no account, no real "
            f"credits. Files go to {settings.output_dir}"
        )
        code: int = anyio.run(_demo_flow, run, settings, sandbox.url)
        return code


def demo_sandbox_config() -> SandboxConfig:
    """The demo's backend: real 1080p media, and waits long enough to see the progress display."""
    from free_generation_image.sandbox.config import SandboxConfig

    return SandboxConfig(generation_seconds=3.0, render_seconds=3.0)


def _demo_settings(api_url: str, config_dir: Path, output: Path | None) -> Settings:
    from free_generation_image.config import Settings

    # Only the output location comes from the user's environment: never their token, client id or project.
    user = Settings.from_env({k: v for k, v in os.environ.items() if k == "NEMO_OUTPUT_DIR"})
    return Settings.from_env(
        {}, api_url=api_url, config_dir=config_dir, output_dir=output or user.output_dir / "demo"
    )


async def _demo_flow(run: Run, settings: Settings, sandbox_url: str) -> int:
    from free_generation_image.service import Service

    async with Service(settings) as service:
        run.service = service
        run.display.note(f"[1/3] Generating an image: {run.args.prompt}")
        generated = await generate(run, service, run.args.prompt, kind="image")
        if generated.status != "completed" or not generated.media:
            raise FGIError(
                "The demo generation produced no file.", hint="Run again with --debug and report it."
            )
        run.display.note(f"[2/3] Saved {generated.media[0].path}; reading the timeline")
        status = await service.status()
        run.display.note("[3/3] Exporting the timeline as MP4 (export is free)")
        exported = await export(run, service, "mp4")
    image, video = generated.media[0].path, exported.file.path if exported.file else None
    if run.args.json:
        run.json_out(
            {
                "sandbox_url": sandbox_url,
                "image": image,
                "video": video,
                "generate": generated.model_dump(mode="json"),
                "status": status.model_dump(mode="json"),
                "export": exported.model_dump(mode="json"),
            }
        )
    else:
        timeline = status.timeline or "Timeline is empty."
        print(clean(f"Image: {image}\n{timeline}\nVideo: {video}"), file=run.stdout)
    return exit_code_for(exported)


__all__ = ["demo_sandbox_config", "run_demo"]
