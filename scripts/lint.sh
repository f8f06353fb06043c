#!/usr/bin/env bash
# ruff (lint + format check) and mypy --strict over the package, tests and benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
