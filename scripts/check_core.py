"""The bare wheel, installed with no extras: `import aios3fm` and `aios3fm --help` work
and import no moto; `aios3fm server` says which extra to install and exits 5 (not 2, the
usage-error code); the dependency tree holds aiobotocore 3 and no aioboto3 (whose pin of
aiobotocore 2 would hold the package back). Run by `make test` in a virtual environment
holding only the wheel."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import aios3fm

assert "moto" not in sys.modules, "import aios3fm imported moto"
aios3fm_cli = str(Path(sys.executable).parent / "aios3fm")  # the venv's own, as installed


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([aios3fm_cli, *args], capture_output=True, text=True, check=False)


assert run("--help").returncode == 0
version = run("--version")
assert version.stdout.strip() == f"aios3fm {aios3fm.__version__}", version
try:
    import moto  # noqa: F401
except ImportError:
    pass
else:
    sys.exit("moto is installed: this check needs the bare wheel")
for command in ("server", "demo"):
    done = run(command)
    assert done.returncode == 5, (command, done)
    assert "pip install 'aios3fm[server]'" in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
installed = {
    (d.metadata["Name"] or "").lower(): d.version for d in importlib.metadata.distributions()
}
assert "aioboto3" not in installed, "pip install aios3fm pulled aioboto3"
assert installed["aiobotocore"].split(".")[0] == "3", installed["aiobotocore"]
print(f"bare wheel: aiobotocore {installed['aiobotocore']}, botocore {installed['botocore']}")
print("bare wheel: import, --help, --version and the missing-extra message are right")
