"""Where every benchmark writes its figures: ``benchmarks/results/<name>.md`` (the table a
person reads) and ``<name>.json`` (the same figures for tools)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def save(name: str, text: str, figures: Any) -> None:
    """Write ``<name>.md`` and ``<name>.json`` under ``benchmarks/results/``."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
