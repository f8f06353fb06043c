#!/usr/bin/env bash
# ruff (lint + format check), mypy --strict over the package, tests, benchmarks and scripts,
# and import-linter's contracts (the layers of DESIGN.md, no import cycles).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
