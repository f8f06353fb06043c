#!/usr/bin/env bash
# The suite against the package as users install it. Builds the sdist and, from it, the
# wheel; checks that both hold every module; installs the wheel (not editable) into a
# fresh virtual environment with the test extra and runs pytest there; then checks that
# the bare wheel, with no extras, imports and answers --help and --version without moto.
# pytest's "no tests collected" (exit 5) is a failure, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
quiet() { grep -v "is ignored: it is neither" >&2; }  # this machine's pip config noise

rm -rf dist && mkdir dist
.venv/bin/python -m build --outdir dist . > dist/build.log 2>&1 || { cat dist/build.log; exit 1; }
.venv/bin/python scripts/check_dist.py dist > dist/files.txt || { cat dist/files.txt; exit 1; }
head -1 dist/files.txt  # the whole list: dist/files.txt
wheel=$(ls dist/aios3fm-*.whl)

fresh_venv() {  # fresh_venv DIR REQUIREMENT
    rm -rf "$1"
    "$python" -m venv "$1"
    "$1/bin/python" -m pip install --quiet --upgrade pip 2> >(quiet)
    "$1/bin/python" -m pip install --quiet "$2" 2> >(quiet)
}

fresh_venv .venv-test "${wheel}[test]" || exit 1
AIOS3FM_TESTING_WHEEL="$wheel" .venv-test/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"

fresh_venv .venv-core "$wheel" || exit 1
.venv-core/bin/python scripts/check_core.py || exit 1
