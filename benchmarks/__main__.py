"""``python -m benchmarks``: the client benchmark (more arrive with later issues)."""

from .client import main

main()
