"""A field model's Born charges, ε∞ and LO–TO splitting against DFT (issue 16, crystals).

For each polar crystal of phonopy's source distribution (NaCl: ``test/`` force sets and
``BORN_NaCl``, held out from the ``field-demo`` training set, which used ``example/NaCl-rd``;
MgO: ``example/MgO``), the reference is phonopy itself on the DFT data: force constants from the
DFT force sets and its non-analytic correction from the DFT BORN file. The model side is
:class:`phonax_fast.Phonons` with the model's own force constants and
``set_nac(from_model=True)``: Born charges and ε∞ from the field model, no BORN file. Compared at
Γ along [100] (rocksalt is isotropic: any direction gives the same splitting): the TO and LO
frequencies (THz), the splitting LO − TO (the acceptance asks within 0.3 THz of DFT's), the Born
charges (largest |ΔZ*| over atoms and components, e) and ε∞; plus the model's IR intensity of the
TO modes and their (zero by symmetry) Raman activity.

    python -m studies.field_crystal_check [MODEL] [--data DIR]    # default: the bundled field-demo
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import phonopy

import phonax_fast as pf
from phonax_fast.training.data import to_atoms

from .phonopy_sdist import phonopy_source

CRYSTALS = {  # name: (displacement file, force sets, BORN), in phonopy's sdist
    "NaCl": ("test/phonopy_disp_NaCl.yaml", "test/FORCE_SETS_NaCl", "test/BORN_NaCl"),
    "MgO": ("example/MgO/phonopy_disp.yaml", "example/MgO/FORCE_SETS", "example/MgO/BORN"),
}
DIRECTION = [1.0, 0.0, 0.0]


def dft_phonopy(root: Path, name: str) -> phonopy.Phonopy:
    """phonopy on the DFT force sets and BORN file of ``name`` (compact force constants, Gonze NAC)."""
    disp, forces, born = (root / f for f in CRYSTALS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # phonopy's note on its primitive_matrix="auto" default
        return phonopy.load(disp, force_sets_filename=forces, born_filename=born, produce_fc=True,
                            is_compact_fc=True, log_level=0)


def compare(model, root: Path, name: str) -> dict:
    """The model against DFT for crystal ``name`` (see the module docstring); frequencies in THz."""
    ph = dft_phonopy(root, name)
    ph.run_qpoints([[0, 0, 0]], nac_q_direction=DIRECTION)
    dft = np.sort(ph.qpoints.frequencies[0])
    ours = pf.Phonons(to_atoms(ph.primitive), model).set_nac(from_model=True)
    freq = np.sort(ours.frequencies([[0, 0, 0]], q_direction=DIRECTION)[0])
    d = ours.dielectric
    z_dft = np.asarray(ph.nac_params["born"], dtype=float)
    modes = ours.gamma_modes()
    optical = ~modes.acoustic
    return {
        "TO_THz": {"model": round(float(freq[3]), 3), "dft": round(float(dft[3]), 3)},
        "LO_THz": {"model": round(float(freq[5]), 3), "dft": round(float(dft[5]), 3)},
        "splitting_THz": {"model": round(float(freq[5] - freq[3]), 3), "dft": round(float(dft[5] - dft[3]), 3),
                          "error": round(float((freq[5] - freq[3]) - (dft[5] - dft[3])), 3)},
        "born_charges_e": {"model": np.round(np.diagonal(d.born_charges, axis1=1, axis2=2).mean(axis=1), 4).tolist(),
                           "dft": np.round(np.diagonal(z_dft, axis1=1, axis2=2).mean(axis=1), 4).tolist(),
                           "max_abs_error": round(float(np.abs(d.born_charges - z_dft).max()), 4)},
        "epsilon_inf": {"model": round(float(np.trace(d.epsilon) / 3), 4),
                        "dft": round(float(np.trace(ph.nac_params["dielectric"]) / 3), 4)},
        "ir_km_per_mol_TO": np.round(modes.intensities.ir[optical], 2).tolist(),
        "raman_A4_per_amu_TO": np.round(modes.intensities.raman[optical], 6).tolist(),
    }


def check(model_path=None, root: Path | None = None) -> dict:
    """{crystal: comparison} for the model at ``model_path`` (default: the bundled ``field-demo``), for
    the crystals of :data:`CRYSTALS` whose elements the model knows."""
    model = pf.models.load(str(model_path) if model_path is not None else "field-demo")
    root = root or phonopy_source()
    known = [name for name in CRYSTALS if _elements(name) <= set(model.species)]
    return {name: compare(model, Path(root), name) for name in known}


def _elements(name: str) -> set:
    """The elements of crystal ``name`` ("NaCl" → {"Na", "Cl"})."""
    import re

    return set(re.findall(r"[A-Z][a-z]?", name))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default=None, help="model file (default: the bundled field-demo)")
    parser.add_argument("--data", type=Path, default=None, help="phonopy's extracted source distribution")
    args = parser.parse_args(argv)
    result = check(args.model, args.data)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
