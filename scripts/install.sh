#!/usr/bin/env bash
# Create .venv if missing and install aios3fm with the extras given (default: test,dev).
# Re-running is cheap: a stamp file records what was installed from which pyproject.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test,dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.installed-${extras//,/-}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    # this machine's pip config names index folders that may be absent: hide that noise only
    .venv/bin/python -m pip install --quiet -e ".[${extras}]" 2> >(grep -v "is ignored: it is neither" >&2)
    touch "$stamp"
fi
