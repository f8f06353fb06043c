"""The package as users install it: the suite runs against the installed wheel, the
public surface is exactly ``__all__``, and importing it or asking the command line for
``--help`` loads neither botocore, aiohttp nor moto."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import aios3fm

CHECKOUT = Path(__file__).resolve().parent.parent
HEAVY = ("aiobotocore", "botocore", "aiohttp", "moto", "rich")


def test_the_suite_runs_against_the_installed_wheel() -> None:
    location = Path(aios3fm.__file__).resolve()
    assert CHECKOUT / "src" not in location.parents, (
        f"aios3fm was imported from the checkout ({location}); `make test` installs the "
        "wheel into .venv-test and runs the suite there"
    )
    # the distribution installed beside the imported package (not an egg-info that a
    # build may leave in the working directory, which Python 3.10 finds first)
    site = str(location.parent.parent)
    dist = next(
        d for d in importlib.metadata.distributions(path=[site]) if d.metadata["Name"] == "aios3fm"
    )
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    assert "archive_info" in origin, origin
    assert origin["url"].endswith(".whl"), origin
    installed = {str(f) for f in dist.files or () if str(f).startswith("aios3fm/")}
    modules = {
        p.relative_to(CHECKOUT / "src").as_posix()
        for p in (CHECKOUT / "src" / "aios3fm").rglob("*.py")
    }
    assert modules <= installed, sorted(modules - installed)


def test_all_lists_every_public_name() -> None:
    public = {name for name in dir(aios3fm) if not name.startswith("_")}
    assert public == set(aios3fm.__all__)
    assert len(aios3fm.__all__) == len(set(aios3fm.__all__))
    assert set(aios3fm._SOURCES) == set(aios3fm.__all__)


def test_every_public_name_resolves_to_where_it_is_defined() -> None:
    for name in aios3fm.__all__:
        value = getattr(aios3fm, name)
        module = importlib.import_module(aios3fm._SOURCES[name], "aios3fm")
        assert getattr(module, name) is value, name


def test_public_objects_say_they_are_from_aios3fm() -> None:
    for name in aios3fm.__all__:
        value = getattr(aios3fm, name)
        if isinstance(value, type):
            assert value.__module__.startswith("aios3fm."), name


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


LOADED = f"import sys; print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"


def test_import_and_help_load_no_heavy_module() -> None:
    assert python(f"import aios3fm; {LOADED}").stdout.strip() == "[]"
    help_run = python(
        "import contextlib, io, aios3fm._cli as cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli.main(['--help'])\n" + LOADED
    )
    assert help_run.stdout.strip() == "[]", help_run.stderr


def test_version_is_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aios3fm", "--version"], capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, f"aios3fm {aios3fm.__version__}\n")
    assert aios3fm.__version__ == importlib.metadata.version("aios3fm")


def test_a_missing_extra_says_what_to_install_and_exits_5() -> None:
    for command in ("server", "demo"):
        done = python(
            "import sys; sys.modules['moto'] = None  # as if the server extra were absent\n"
            f"from aios3fm._cli import main; main([{command!r}])"
        )
        assert done.returncode == 5, (command, done.stderr)
        assert done.stderr == (
            "aios3fm: error: EmbeddedS3 needs moto's server: pip install 'aios3fm[server]'\n"
        )
