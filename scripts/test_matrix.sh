#!/usr/bin/env bash
# The Python versions the package claims, beyond the one `make test` runs on: for each,
# the wheel is installed into a fresh .venv-pyXY with the test extra and a subset of the
# suite runs against it (the default subset is fast; pass pytest arguments for others:
# `scripts/test_matrix.sh tests`). MATRIX names the interpreters (default 3.10 3.12 3.13);
# one that is not on this machine fails the run, never passes it silently.
set -uo pipefail
cd "$(dirname "$0")/.."
quiet() { grep -v "is ignored: it is neither" >&2; }  # this machine's pip config noise
versions="${MATRIX:-3.10 3.12 3.13}"
subset=("$@")
[ "${#subset[@]}" -gt 0 ] || subset=(tests/test_package.py tests/test_config.py
                                     tests/test_location.py tests/s3 -q)

rm -rf dist-matrix && mkdir dist-matrix
.venv/bin/python -m build --wheel --outdir dist-matrix . > dist-matrix/build.log 2>&1 ||
    { cat dist-matrix/build.log; exit 1; }
wheel=$(ls dist-matrix/aios3fm-*.whl)
find_python() {  # find_python 3.12: an interpreter of that version that runs, or nothing
    local candidate
    for candidate in "python$1" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python"$1" \
                     /root/.pyenv/versions/"$1".*/bin/python"$1" \
                     /usr/bin/python"$1" /usr/local/bin/python"$1"; do
        if "$candidate" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$1'.split('.')))" \
                > /dev/null 2>&1; then
            echo "$candidate"
            return
        fi
    done
}

status=0
for version in $versions; do
    interpreter=$(find_python "$version")
    if [ -z "$interpreter" ]; then
        echo "test-matrix: no Python $version on this machine" >&2
        status=1
        continue
    fi
    venv=".venv-py${version//./}"
    rm -rf "$venv"
    "$interpreter" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip 2> >(quiet)
    "$venv/bin/python" -m pip install --quiet "${wheel}[test]" 2> >(quiet) || { status=1; continue; }
    echo "test-matrix: Python $version"
    AIOS3FM_TESTING_WHEEL="$wheel" "$venv/bin/python" -m pytest -p no:cacheprovider "${subset[@]}"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        [ "$rc" -eq 5 ] && echo "test-matrix: no tests collected on $version" >&2
        status=1
    fi
done
exit "$status"
