"""phonopy's source distribution: the DFT force sets in its ``example/`` and ``test/`` folders.

Reference data of the studies (``reproduce_demo``, ``training_fig1``), the tests
(``tests/reference_data.py``) and the benchmarks; the installed package never fetches it (a
training configuration with ``data.root: phonopy-sdist`` is given the folder). The sdist of the
installed phonopy version is fetched with pip (``pip download --no-deps --no-binary phonopy
phonopy==X``) into a cache folder and the two folders are extracted next to it; later calls reuse
them, and a cache folder that already holds ``phonopy-X.tar.gz`` needs no network.

    python -m studies.phonopy_sdist [CACHE]    # from the repository root; prints the extracted folder

Cache: ``CACHE``, else ``$PHONAX_TEST_DATA``, else ``out/phonopy-sdist`` of this checkout (git-ignored).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import phonopy

FOLDERS = ("example", "test")
REPOSITORY = Path(__file__).resolve().parents[1]


def default_cache() -> Path:
    """``$PHONAX_TEST_DATA`` or ``out/phonopy-sdist`` in this checkout (git-ignored)."""
    return Path(os.environ.get("PHONAX_TEST_DATA") or REPOSITORY / "out" / "phonopy-sdist")


def phonopy_source(cache: Path | None = None) -> Path:
    """The extracted ``phonopy-X`` folder (with ``example/`` and ``test/``) of the installed phonopy.

    Raises:
        RuntimeError: the sdist could not be downloaded (no network): the message says where to put it.
    """
    cache = Path(cache or default_cache())
    version = phonopy.__version__
    root = cache / f"phonopy-{version}"
    if _complete(root):
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:  # parallel test workers: one fetches, the others wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _complete(root):
            _fetch(cache, version)
    return root


def _complete(root: Path) -> bool:
    return all((root / f).is_dir() for f in FOLDERS) and (root / "example" / "MgO" / "FORCE_SETS").exists()


def _fetch(cache: Path, version: str) -> None:
    """Download (unless there) and extract phonopy ``version``'s sdist into ``cache``."""
    sdist = cache / f"phonopy-{version}.tar.gz"
    if not sdist.exists():
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "phonopy", f"phonopy=={version}", "-d", str(cache)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not sdist.exists():
            raise RuntimeError(
                f"could not download phonopy {version}'s source distribution ({' '.join(command)}):\n{result.stderr[-2000:]}\n"
                f"Put phonopy-{version}.tar.gz into {cache} (or set PHONAX_TEST_DATA) and try again."
            )
    prefixes = tuple(f"phonopy-{version}/{f}/" for f in FOLDERS)
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefixes)]
        archive.extractall(cache, members=members, filter="data")


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", nargs="?", type=Path, default=None,
                        help="folder for the sdist and its extracted copy (default: $PHONAX_TEST_DATA or out/phonopy-sdist)")
    root = phonopy_source(parser.parse_args(argv).cache)
    print(root)
    return root


if __name__ == "__main__":
    main()
