"""phonopy's own DFT data (Si, NaCl, …) from its source distribution, for reference tests.

The test helper that gets the data: the sdist of the installed phonopy version is fetched once
with pip by :func:`studies.phonopy_sdist.phonopy_source` into ``$PHONAX_TEST_DATA`` or, by
default, ``out/phonopy-sdist`` of this checkout (git-ignored, kept between sessions; a folder that
holds ``phonopy-X.tar.gz`` needs no network). The package itself never downloads. These helpers
name the files of its ``test/`` folder; run pytest from the repository root (``python -m pytest``)
so that ``studies`` is importable.
"""

from __future__ import annotations

from pathlib import Path

import phonopy

from studies.phonopy_sdist import phonopy_source


def phonopy_sdist() -> Path:
    """The extracted ``phonopy-X`` folder (``example/`` and ``test/``) of phonopy's sdist."""
    return phonopy_source()


def phonopy_test_dir() -> Path:
    """The extracted ``test/`` folder of phonopy's sdist (same version as the installed phonopy)."""
    return phonopy_sdist() / "test"


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


POLAR = {  # name: (folder of phonopy's sdist, displacement file, force sets, BORN), all DFT (VASP)
    "NaCl": ("test", "phonopy_disp_NaCl.yaml", "FORCE_SETS_NaCl", "BORN_NaCl"),  # rocksalt, 2×2×2 conventional
    "MgO": ("example/MgO", "phonopy_disp.yaml", "FORCE_SETS", "BORN"),  # rocksalt, 2×2×2 conventional
    "ZnO": ("example/ZnO", "phonopy_disp.yaml", "FORCE_SETS", "BORN"),  # wurtzite: anisotropic ε∞ and Z*
}


def load_polar(name: str, method: str = "gonze") -> phonopy.Phonopy:
    """A polar crystal of ``POLAR`` with compact force constants from its DFT forces and its BORN
    file, the non-analytic correction by ``method`` ("gonze" or "wang")."""
    import warnings

    folder, disp, forces, born = POLAR[name]
    d = phonopy_sdist() / folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # phonopy's notes on its primitive_matrix="auto" default
        ph = phonopy.load(d / disp, force_sets_filename=d / forces, born_filename=d / born, produce_fc=True,
                          is_compact_fc=True, log_level=0)
    ph.nac_params = {**ph.nac_params, "method": method}
    return ph


def born_file(name: str) -> Path:
    """The BORN file of a crystal of ``POLAR``."""
    folder, _, _, born = POLAR[name]
    return phonopy_sdist() / folder / born
