"""The command line: ``aios3fm`` (and ``python -m aios3fm``).

Promises: one line on stderr and a documented exit code for every error, never a
traceback (``--debug`` shows one); commands use FileManager's public API only
(``_commands``); output as text or JSON lines (``_output``); the demo (``_demo``).
May import every layer; it is the top one. Heavy modules are imported lazily so that
``--help`` and ``--version`` answer at once.
"""

from ._main import EXIT_CODES, main, run

__all__ = ["EXIT_CODES", "main", "run"]
