"""The cache suite's ledger: what the concurrency kit ran, printed at the end of the run."""

from __future__ import annotations

import pytest

LEDGER = {
    "table cases": 0,
    "reads while an older call was held": 0,
    "random steps": 0,
    "reads checked": 0,
    "contradictions": 0,
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LEDGER["table cases"] or LEDGER["random steps"]:
        figures = ", ".join(f"{name} {count}" for name, count in LEDGER.items())
        terminalreporter.write_line(f"cache truth: {figures}")
