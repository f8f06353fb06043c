#!/usr/bin/env bash
# Create .venv-aioboto3 if missing and install the aioboto3 benchmark peer into it. aioboto3
# pins aiobotocore exactly, which aios3fm's own aiobotocore range cannot share, so the peer
# runs from this virtualenv (benchmarks/aioboto3_peer.py) and nothing of aios3fm is here.
# uvloop too: the benchmarks run every client on uvloop when it is installed, the peer as
# well. Re-running is cheap: a stamp file records what was installed from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
venv=.venv-aioboto3
requirements=("aioboto3>=15.0,<16" "uvloop>=0.19,<1; sys_platform != 'win32'")
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip \
        2> >(grep -v "is ignored: it is neither" >&2)
fi
stamp="$venv/.installed-peer"
if [ ! -f "$stamp" ] || [ "$0" -nt "$stamp" ]; then
    # this machine's pip config names index folders that may be absent: hide that noise only
    "$venv/bin/python" -m pip install --quiet "${requirements[@]}" \
        2> >(grep -v "is ignored: it is neither" >&2)
    touch "$stamp"
fi
