"""phonopy's own DFT data (Si, NaCl, …) from its source distribution, for reference tests.

Nothing here is shipped with or used by the package. The first call downloads the sdist of the
installed phonopy version with pip (``pip download --no-deps --no-binary phonopy phonopy==X``)
into ``$PHONAX_TEST_DATA`` (default ``~/.cache/phonax_fast``) and extracts its ``test/`` folder;
later calls reuse it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import phonopy


class ReferenceDataUnavailable(RuntimeError):
    """phonopy's source distribution could not be found or downloaded."""


def cache_dir() -> Path:
    """Where the sdist is kept: ``$PHONAX_TEST_DATA`` or ``~/.cache/phonax_fast``."""
    return Path(os.environ.get("PHONAX_TEST_DATA", Path.home() / ".cache" / "phonax_fast"))


def phonopy_test_dir() -> Path:
    """The extracted ``test/`` folder of phonopy's sdist (same version as the installed phonopy)."""
    version = phonopy.__version__
    root = cache_dir() / f"phonopy-{version}"
    test_dir = root / "test"
    if (test_dir / "phonopy_params_Si.yaml").exists():
        return test_dir
    cache_dir().mkdir(parents=True, exist_ok=True)
    sdist = cache_dir() / f"phonopy-{version}.tar.gz"
    if not sdist.exists():
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "phonopy",
                   f"phonopy=={version}", "-d", str(cache_dir())]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not sdist.exists():
            raise ReferenceDataUnavailable(
                f"could not download phonopy {version}'s source distribution ({' '.join(command)}):\n"
                f"{result.stderr[-2000:]}\nPut phonopy-{version}.tar.gz into {cache_dir()} "
                "(or set PHONAX_TEST_DATA to a folder holding it) and run the tests again."
            )
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(f"phonopy-{version}/test/")]
        archive.extractall(cache_dir(), members=members, filter="data")
    if not (test_dir / "phonopy_params_Si.yaml").exists():
        raise ReferenceDataUnavailable(f"{sdist} has no test/phonopy_params_Si.yaml")
    return test_dir


def si_params() -> Path:
    """phonopy_params_Si.yaml: Si (2-atom primitive cell, 2×2×2 supercell), DFT forces."""
    return phonopy_test_dir() / "phonopy_params_Si.yaml"


def nacl_files() -> tuple[Path, Path]:
    """(phonopy_disp_NaCl.yaml, FORCE_SETS_NaCl): NaCl (2-atom primitive, 64-atom supercell), DFT forces."""
    d = phonopy_test_dir()
    return d / "phonopy_disp_NaCl.yaml", d / "FORCE_SETS_NaCl"


def load_si() -> phonopy.Phonopy:
    """Si with compact force constants produced from the DFT forces."""
    return phonopy.load(si_params(), produce_fc=True, is_compact_fc=True, log_level=0)


def load_nacl() -> phonopy.Phonopy:
    """NaCl without non-analytical correction, compact force constants from the DFT forces."""
    disp, forces = nacl_files()
    return phonopy.load(disp, force_sets_filename=forces, is_nac=False, produce_fc=True, is_compact_fc=True,
                        log_level=0)


def load_tio2() -> phonopy.Phonopy:
    """Anatase TiO2 (I4_1/amd, 6-atom primitive cell) without NAC, compact force constants from DFT forces."""
    d = phonopy_test_dir()
    return phonopy.load(d / "phonopy_disp_TiO2.yaml", force_sets_filename=d / "FORCE_SETS_TiO2", is_nac=False,
                        produce_fc=True, is_compact_fc=True, log_level=0)
