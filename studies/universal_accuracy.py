"""Accuracy of the universal models against DFT phonons: the model cards' table.

    python -m studies.universal_accuracy [--models NAME ...] [--materials NAME ...] [--out out/accuracy.json]

For each DFT force set shipped in phonopy's source distribution (``MATERIALS``; VASP, forces of
displaced supercells; no non-analytic correction on either side), the DFT force constants give
frequencies at every q-point commensurate with the DFT supercell, where a supercell's force
constants are exact. Each model's force constants are computed on the same primitive cell and
the same supercell (supercell construction), at the DFT geometry and after relaxing the cell and
positions with the model (same reduced q-points), and compared mode by mode (frequencies sorted
per q): MAE and max |Δ| in THz over all modes and commensurate q-points.

phonopy's sdist is fetched once with pip into ``out/phonopy-sdist`` (``studies.phonopy_sdist``).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import jax
import numpy as np
import phonopy
from ase import Atoms

import phonax_fast as pf
from phonax_fast.forceconstants import supercell_force_constants
from phonax_fast.graphs.supercell import lattice_points
from phonax_fast.interop.phonopy_import import supercell_of_primitive
from phonax_fast.relaxation import relax

from .phonopy_sdist import phonopy_source

# name: (phonopy_disp.yaml or phonopy_params.yaml, FORCE_SETS or None), relative to phonopy's sdist
MATERIALS = {
    "Si": ("test/phonopy_params_Si.yaml", None),
    "NaCl": ("test/phonopy_disp_NaCl.yaml", "test/FORCE_SETS_NaCl"),
    "MgO": ("example/MgO/phonopy_disp.yaml", "example/MgO/FORCE_SETS"),
    "ZnO": ("example/ZnO/phonopy_disp.yaml", "example/ZnO/FORCE_SETS"),
    "SnO2": ("example/SnO2/phonopy_disp.yaml", "example/SnO2/FORCE_SETS"),
    "TiO2-anatase": ("test/phonopy_disp_TiO2.yaml", "test/FORCE_SETS_TiO2"),
    "Al2O3": ("example/Al2O3/phonopy_disp.yaml", "example/Al2O3/FORCE_SETS"),
    "SiO2-HP": ("example/SiO2-HP/phonopy_disp.yaml", "example/SiO2-HP/FORCE_SETS"),
    "CaTiO3": ("example/CaTiO3/phonopy_disp.yaml", "example/CaTiO3/FORCE_SETS"),
    "MgB2": ("example/MgB2/phonopy_disp.yaml", "example/MgB2/FORCE_SETS"),
    "Cr": ("example/Cr/phonopy_disp.yaml", "example/Cr/FORCE_SETS"),
}
MODELS = ("nequix-mp-1-pft", "nequix-oam-1-pft", "sevennet-0", "sevennet-l3i5", "sevennet-mf-0:PBE")


def load_dft(name: str) -> phonopy.Phonopy:
    """The DFT phonopy object of a material, compact force constants, no NAC."""
    root = phonopy_source()
    params, forces = MATERIALS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return phonopy.load(root / params, force_sets_filename=None if forces is None else root / forces, is_nac=False,
                            produce_fc=True, is_compact_fc=True, log_level=0)


def commensurate_qpoints(matrix) -> np.ndarray:
    """(det M, 3) reduced q-points commensurate with the supercell M (q · rows of M integer), in [0, 1)."""
    m = np.asarray(matrix)
    q = lattice_points(m.T) @ np.linalg.inv(m).T
    return q - np.floor(q + 1e-9)


def primitive_atoms(phonon) -> Atoms:
    p = phonon.primitive
    return Atoms(numbers=p.numbers, cell=p.cell, scaled_positions=p.scaled_positions, masses=p.masses, pbc=True)


def errors(ours: np.ndarray, reference: np.ndarray) -> dict:
    d = np.abs(np.sort(ours, axis=1) - np.sort(reference, axis=1))
    return {"mae": float(d.mean()), "max": float(d.max())}


def compare(model_name: str, material: str) -> dict:
    dft = load_dft(material)
    atoms = primitive_atoms(dft)
    matrix = supercell_of_primitive(dft)
    q = commensurate_qpoints(matrix)
    dft.run_qpoints(q)
    reference = dft.qpoints.frequencies
    model = pf.models.load(model_name)
    start = time.perf_counter()
    at_dft, _ = supercell_force_constants(atoms, model, matrix)
    relaxed_atoms, report = relax(atoms, model, cell=True, fmax=1e-3)
    relaxed, _ = supercell_force_constants(relaxed_atoms, model, matrix)
    volume = relaxed_atoms.get_volume() / atoms.get_volume() - 1
    return {"model": model_name, "material": material, "atoms": len(atoms), "supercell": matrix.tolist(),
            "qpoints": len(q), "dft_max_frequency": float(reference.max()), "at_dft": errors(at_dft.frequencies(q), reference),
            "relaxed": errors(relaxed.frequencies(q), reference), "volume_change": float(volume),
            "relaxation_converged": report.converged, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--materials", nargs="+", default=list(MATERIALS), choices=list(MATERIALS))
    parser.add_argument("--out", type=Path, default=Path("out/accuracy.json"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(args.out.read_text()) if args.out.exists() else []
    done = {(r["model"], r["material"]) for r in rows}
    for model_name in args.models:
        for material in args.materials:
            if (model_name, material) in done:
                continue
            row = compare(model_name, material)
            jax.clear_caches()  # a long study compiles hundreds of functions: keep the process's code memory bounded
            rows.append(row)
            args.out.write_text(json.dumps(rows, indent=1))
            print(f"{model_name:18s} {material:13s} at DFT geometry MAE {row['at_dft']['mae']:.3f} max {row['at_dft']['max']:.3f}"
                  f" | relaxed MAE {row['relaxed']['mae']:.3f} max {row['relaxed']['max']:.3f} THz (volume "
                  f"{100 * row['volume_change']:+.1f} %), {row['seconds']:.0f} s", flush=True)
    print_table(rows, args.models, args.materials)


def print_table(rows: list, models, materials) -> None:
    """Markdown: one row per material, MAE / max (THz) per model at the DFT geometry and relaxed."""
    by = {(r["model"], r["material"]): r for r in rows}
    print("| material | " + " | ".join(f"{m} DFT geom. / relaxed" for m in models) + " |")
    print("|---|" + "---|" * len(models))
    for material in materials:
        cells = []
        for m in models:
            r = by.get((m, material))
            cells.append("–" if r is None else f"{r['at_dft']['mae']:.2f} ({r['at_dft']['max']:.2f}) / "
                                               f"{r['relaxed']['mae']:.2f} ({r['relaxed']['max']:.2f})")
        print(f"| {material} | " + " | ".join(cells) + " |")
    for m in models:
        got = [by[(m, x)] for x in materials if (m, x) in by]
        if got:
            print(f"{m}: mean MAE over {len(got)} materials {np.mean([r['at_dft']['mae'] for r in got]):.3f} THz at the DFT "
                  f"geometry, {np.mean([r['relaxed']['mae'] for r in got]):.3f} THz relaxed")


if __name__ == "__main__":
    main()
