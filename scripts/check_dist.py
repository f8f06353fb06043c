"""Check that the built sdist and wheel hold every module of src/aios3fm, and print the
wheel's file list (what `make test` then installs and tests).

    python scripts/check_dist.py dist/
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "aios3fm"


def expected() -> set[str]:
    files = {p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    return {p.relative_to(PACKAGE.parent).as_posix() for p in files}


def main(dist: Path) -> int:
    wanted = expected()
    (wheel,) = dist.glob("aios3fm-*.whl")
    (sdist,) = dist.glob("aios3fm-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {n for n in archive.namelist() if n.startswith("aios3fm/")}
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/", 1)[0]
        prefix = f"{top}/src/"
        in_sdist = {n[len(prefix) :] for n in archive.getnames() if n.startswith(prefix)}
        in_sdist = {n for n in in_sdist if n.startswith("aios3fm/") and "." in n.rsplit("/")[-1]}
    problems = []
    for name, found in (("wheel", in_wheel), ("sdist", in_sdist)):
        if missing := sorted(wanted - found):
            problems.append(f"{name} lacks {missing}")
        if extra := sorted(found - wanted):
            problems.append(f"{name} has files the source tree does not: {extra}")
    print(f"{wheel.name}: {len(in_wheel)} files, {sdist.name}: {len(in_sdist)} package files")
    for name in sorted(in_wheel):
        print(f"  {name}")
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
