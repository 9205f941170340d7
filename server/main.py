"""MCPB entry point: the host runs ``uv run --directory <bundle> server/main.py`` (see manifest.json).

It is ``free-generation-image serve`` on the package source packed next to this file. stdout carries the
MCP protocol, so nothing here prints; logging goes to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The packed source must win over any other installed copy (and must not depend on the interpreter adding
# the script's folder to sys.path, which -P / PYTHONSAFEPATH turn off).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from free_generation_image.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve", *sys.argv[1:]]))
