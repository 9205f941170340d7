"""The command line: the same operations as the MCP tools, for people and scripts.

``entry`` runs one invocation (``main``), ``parser`` holds its text, ``commands`` call the service,
``waiting`` follows jobs, ``demo`` is the offline round trip, ``progress`` draws on stderr and ``render``
writes stdout. Importing this package stays light: the service, sandbox and media libraries load on use.
"""

from free_generation_image.cli.entry import execute, main
from free_generation_image.cli.parser import DEFAULT_WAIT, build_parser
from free_generation_image.cli.run import Run

__all__ = ["DEFAULT_WAIT", "Run", "build_parser", "execute", "main"]
