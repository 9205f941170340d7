"""The sandbox's package face: its names load their module on first use, and nothing more."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.split()


def test_importing_one_part_does_not_load_the_server() -> None:
    loaded = _loaded_after("import free_generation_image.sandbox.video")
    for heavy in ("app", "runner", "cli", "agent", "control"):
        assert f"free_generation_image.sandbox.{heavy}" not in loaded
    assert "starlette" not in loaded and "uvicorn" not in loaded


def test_the_face_still_offers_every_name() -> None:
    import free_generation_image.sandbox as face
    from free_generation_image.sandbox.runner import Sandbox, run_sandbox

    assert (face.Sandbox, face.run_sandbox) == (Sandbox, run_sandbox)
    for name in face.__all__:
        assert getattr(face, name) is not None
    assert set(face.__all__) <= set(dir(face))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = face.nope  # type: ignore[attr-defined]
