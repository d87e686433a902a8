"""Born charges and dielectric tensors in and out: BORN files, phonopy's ``nac_params``, and the
:class:`~phonax_fast.harmonic.nac.NonAnalyticCorrection` that phonopy's own set-up gives.

phonopy prepares each method once per crystal (the Ewald G vectors and Λ, the q = 0 sum, the
short-range force constants of Gonze–Lee); this module takes those from phonopy's
``DynamicalMatrixGL`` / ``DynamicalMatrixWang`` and lays them out on our compact translations,
so that the per-q work (``NonAnalyticCorrection.term``) runs in our batched engine and gives
phonopy's numbers. Force constants that did not come from phonopy are first placed on the
smallest supercell that holds them exactly (``to_phonopy``), the supercell the real-space parts
refer to. The charges are symmetrised and made neutral (Σ_i Z*_i = 0) by phonopy's
``symmetrize_borns_and_epsilon``, as ``Phonopy`` does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from phonopy.file_IO import get_BORN_lines, parse_BORN
from phonopy.harmonic.dynamical_matrix import DynamicalMatrixGL, DynamicalMatrixNAC
from phonopy.structure.atoms import PhonopyAtoms
from phonopy.structure.symmetry import symmetrize_borns_and_epsilon

from ..fileio import atomic_write
from ..harmonic.force_constants import ForceConstants
from ..harmonic.nac import METHODS, NonAnalyticCorrection, charge_neutrality_residual, validate_born_epsilon
from ..units import NAC_UNIT_FACTOR
from .phonopy_export import phonopy_atoms, to_phonopy
from .phonopy_supercell import supercell_blocks


def nac_from_phonopy(phonon, charge_residual: float | None = None) -> NonAnalyticCorrection | None:
    """The NAC of a ``phonopy.Phonopy`` with force constants and ``nac_params``; None without them.

    ``charge_residual``: max |Σ_i Z*_i| of the charges before phonopy made them neutral, if known
    (default: that of the charges phonopy holds).
    """
    dm = phonon.dynamical_matrix
    if not isinstance(dm, DynamicalMatrixNAC):
        return None
    primitive = phonon.primitive
    n = len(primitive)
    if isinstance(dm, DynamicalMatrixGL):
        if dm.short_range_force_constants is None:
            dm.make_Gonze_nac_dataset()
        short_range, dd_q0, _, g_vectors, lambda_ = dm.Gonze_nac_dataset
        translations, blocks = supercell_blocks(phonon, np.asarray(dm.force_constants) - short_range)
        real_space = blocks.transpose(1, 0, 3, 2, 4).reshape(len(translations), 9 * n * n)  # l, (iα, jβ)
        method = "gonze"
    else:
        g_vectors, dd_q0, lambda_ = np.zeros((0, 3)), np.zeros((n, 3, 3), complex), 0.0
        ones = np.ones(np.asarray(dm.force_constants).shape[:2])
        translations, weights = supercell_blocks(phonon, ones)  # (N, N_L, N): Σ 1/multiplicity
        n_cells = len(phonon.supercell) // n
        real_space = weights.transpose(1, 0, 2).reshape(len(translations), n * n) / n_cells
        method = "wang"
    return NonAnalyticCorrection(
        born=np.array(dm.born, dtype=float),
        epsilon=np.array(dm.dielectric_constant, dtype=float),
        reciprocal=np.linalg.inv(np.asarray(primitive.cell, dtype=float)),
        positions=np.array(primitive.positions, dtype=float),
        g_vectors=np.array(g_vectors, dtype=float).reshape(-1, 3),
        dd_q0=np.array(dd_q0, dtype=complex),
        translations=translations.astype(float),
        real_space=real_space,
        supercell_matrix=np.rint(np.asarray(phonon.supercell.cell) @ np.linalg.inv(primitive.cell)).astype(int),
        method=method,
        factor=float(dm.nac_factor),
        lambda_=float(lambda_),
        charge_residual=charge_neutrality_residual(dm.born) if charge_residual is None else float(charge_residual),
    )


def with_nac(fcs: ForceConstants, born, epsilon, method: str = "gonze", factor: float | None = None,
             symprec: float = 1e-5, supercell=None) -> ForceConstants:
    """``fcs`` with the non-analytic correction of these Born charges and dielectric tensor.

    Args:
        fcs: compact force constants (their ``nac``, if any, is replaced).
        born: (N, 3, 3) Born effective charges Z*[i, α, β] in e, one per atom of ``fcs``, in
            phonopy's convention (as in a BORN file). Symmetrised over the crystal's operations
            and made neutral as phonopy does; ``nac.charge_residual`` says how far from neutral
            they were.
        epsilon: (3, 3) high-frequency dielectric tensor (symmetric, positive definite).
        method: ``"gonze"`` (phonopy's default) or ``"wang"``.
        factor: unit conversion of Z*²/(εV) to eV/Å²: e²/(4πε₀) in eV·Å, phonopy's
            Hartree·Bohr (``units.NAC_UNIT_FACTOR``) by default, or the first number of a BORN file.
        symprec: symmetry tolerance (Å) for the symmetrisation.
        supercell: (3,) or (3, 3) integer supercell (lattice vectors = rows of M @ cell) that
            the correction's real-space parts refer to, as phonopy's supercell does for its
            force constants; default the smallest diagonal one that holds ``fcs`` exactly
            (``to_phonopy``). A smaller one folds the force constants onto it first.
    """
    if method not in METHODS:
        raise ValueError(f"NAC method must be one of {METHODS}; got {method!r}")
    z, eps = validate_born_epsilon(born, epsilon, fcs.n_atoms)
    residual = charge_neutrality_residual(z)
    phonon = to_phonopy(dataclasses.replace(fcs, nac=None), supercell_dims=supercell)
    z, eps = symmetrize_borns_and_epsilon(z, eps, phonon.primitive, symprec=symprec)
    phonon.nac_params = {"born": z, "dielectric": eps, "factor": NAC_UNIT_FACTOR if factor is None else float(factor),
                         "method": method}
    return dataclasses.replace(fcs, nac=nac_from_phonopy(phonon, residual))


def read_born(path, cell, scaled_positions, numbers, symprec: float = 1e-5) -> dict:
    """A phonopy BORN file for a crystal: {"born": (N, 3, 3), "epsilon": (3, 3), "factor": float or None}.

    BORN lists ε∞ and the charges of the symmetry-independent atoms only (in the order of the
    cell: (3, 3) Å rows, ``scaled_positions`` (N, 3), ``numbers`` (N,)); phonopy's parser expands
    them to all atoms with the crystal's symmetry. ValueError when the file is missing or does
    not fit the crystal.
    """
    atoms = PhonopyAtoms(cell=np.asarray(cell), scaled_positions=np.asarray(scaled_positions), numbers=np.asarray(numbers))
    try:
        params = parse_BORN(atoms, symprec=symprec, filename=path)
    except FileNotFoundError:
        raise ValueError(f"BORN file {path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"BORN file {path} is a folder") from None
    except (ValueError, IndexError, RuntimeError) as err:  # phonopy's BORNFileParseError is a RuntimeError
        raise ValueError(f"cannot read BORN file {path} for this {len(atoms)}-atom cell: {err}") from None
    return {"born": params["born"], "epsilon": params["dielectric"], "factor": params.get("factor")}


def born_lines(fcs: ForceConstants) -> list[str]:
    """The lines of a BORN file for ``fcs.nac`` (phonopy's format: factor, ε∞, Z* of independent atoms)."""
    if fcs.nac is None:
        raise ValueError("these force constants have no Born charges (no non-analytic correction)")
    lines = get_BORN_lines(phonopy_atoms(fcs), fcs.nac.born, fcs.nac.epsilon)
    return [f"{fcs.nac.unit_factor:.10f}", *lines[1:]]


def write_born(fcs: ForceConstants, path) -> None:
    """BORN file of ``fcs.nac``, written atomically (phonopy reads it with ``phonopy.load(born_filename=...)``)."""
    text = "\n".join(born_lines(fcs)) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))
