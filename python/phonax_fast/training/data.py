"""Training data: structures with DFT labels (energy, forces, stress, Hessian).

Readers:

* :func:`read_extxyz` — any file ASE reads (extxyz, …) with energies, forces and stress attached.
* :func:`read_phonopy` — phonopy's displaced supercells with their forces (``phonopy_params.yaml``,
  or ``phonopy_disp.yaml`` / ``POSCAR-unitcell`` + ``FORCE_SETS``).
* :func:`phonopy_hessian_sample` — the perfect supercell with phonopy's force constants as Hessian
  labels (the "Hessian data" of the paper).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms


@dataclass(frozen=True)
class Sample:
    """One labelled structure; every label is optional.

    Attributes:
        atoms: the structure (Å).
        energy: total energy, eV.
        forces: (n, 3) eV/Å.
        stress: (3, 3) eV/Å³, ASE's sign convention (positive = tensile).
        hessian: (n, 3, n, 3) ∂²E/∂x_{iα}∂x_{jβ} in eV/Å² (for periodic cells: summed over images,
            as finite displacements in that cell give it).
    """

    atoms: Atoms
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    hessian: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.atoms)
        checks = {"forces": (n, 3), "stress": (3, 3), "hessian": (n, 3, n, 3)}
        for name, shape in checks.items():
            value = getattr(self, name)
            if value is None:
                continue
            if np.shape(value) != shape:
                raise ValueError(f"{name} of shape {np.shape(value)} do not fit {n} atoms; expected {shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"{name} contain NaN or inf")
        if self.energy is not None and not np.isfinite(self.energy):
            raise ValueError("energy is NaN or inf")
        if self.stress is not None and not self.atoms.pbc.all():
            raise ValueError("a stress label needs a cell periodic in all three directions")


def read_extxyz(path, index=":") -> list[Sample]:
    """Samples from any file ``ase.io.read`` understands, with the labels stored on each frame.

    Energy, forces and stress (ASE's Voigt or 3×3, eV/Å³) are taken where present.
    """
    from ase.io import read
    from ase.stress import voigt_6_to_full_3x3_stress

    samples = []
    for atoms in read(path, index=index):
        calc = atoms.calc
        results = calc.results if calc is not None else {}
        stress = results.get("stress")
        if stress is not None and np.shape(stress) == (6,):
            stress = voigt_6_to_full_3x3_stress(stress)
        clean = atoms.copy()
        clean.calc = None
        samples.append(Sample(clean, results.get("energy"), results.get("forces"), stress))
    if not samples:
        raise ValueError(f"{path} holds no structures")
    return samples


def load_phonopy(path, *, force_sets=None, supercell_matrix=None):
    """A ``phonopy.Phonopy`` with displacement data and forces (no NAC).

    Args:
        path: ``phonopy_params.yaml`` / ``phonopy_disp.yaml``, or a unit-cell file
            (e.g. ``POSCAR-unitcell``) together with ``supercell_matrix``.
        force_sets: a ``FORCE_SETS`` file when the forces are not inside ``path``.
        supercell_matrix: (3, 3) or (3,) integers, only for a unit-cell file.
    """
    import phonopy

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no phonopy file at {path}")
    if force_sets is not None and not Path(force_sets).is_file():
        raise FileNotFoundError(f"no FORCE_SETS file at {force_sets}")
    from phonopy.structure.cells import PrimitiveMatrixAutoDefaultWarning

    kwargs = {"force_sets_filename": force_sets, "is_nac": False, "log_level": 0, "primitive_matrix": "auto"}
    with warnings.catch_warnings():  # the primitive cell is detected on purpose
        warnings.simplefilter("ignore", PrimitiveMatrixAutoDefaultWarning)
        if supercell_matrix is not None:
            phonon = phonopy.load(unitcell_filename=path, supercell_matrix=supercell_matrix, **kwargs)
        else:
            phonon = phonopy.load(path, **kwargs)
    if phonon.dataset is None or phonon.forces is None:
        raise ValueError(f"{path} (with force sets {force_sets}) holds no displacement forces")
    return phonon


def to_atoms(cell) -> Atoms:
    """``ase.Atoms`` (periodic) from a ``PhonopyAtoms``."""
    return Atoms(numbers=cell.numbers, cell=cell.cell, scaled_positions=cell.scaled_positions, masses=cell.masses, pbc=True)


def phonopy_force_samples(phonon) -> list[Sample]:
    """The displaced supercells of ``phonon`` with their (DFT) forces in eV/Å, one sample each."""
    cells = phonon.supercells_with_displacements
    forces = np.asarray(phonon.forces)
    if len(cells) != len(forces):
        raise ValueError(f"{len(cells)} displaced supercells but {len(forces)} force sets")
    return [Sample(to_atoms(cell), forces=f) for cell, f in zip(cells, forces)]


def phonopy_hessian_sample(phonon) -> Sample:
    """The perfect supercell of ``phonon`` labelled with its force constants as a Hessian (eV/Å²).

    Force constants are produced from the displacement forces (``produce_force_constants``) if
    absent. The supercell is in equilibrium, so its forces are labelled zero.
    """
    if phonon.force_constants is None:
        phonon.produce_force_constants()
    fc = np.asarray(phonon.force_constants)
    n = len(phonon.supercell)
    if fc.shape != (n, n, 3, 3):  # compact (N_p, N_s, 3, 3) → full
        from phonopy.harmonic.force_constants import compact_fc_to_full_fc

        fc = compact_fc_to_full_fc(phonon.primitive, fc)
    hessian = fc.transpose(0, 2, 1, 3)
    return Sample(to_atoms(phonon.supercell), forces=np.zeros((n, 3)), hessian=0.5 * (hessian + hessian.transpose(2, 3, 0, 1)))


def read_phonopy(path, *, force_sets=None, supercell_matrix=None, hessian: bool = False) -> list[Sample]:
    """Samples from phonopy data: displaced supercells with forces, plus (``hessian=True``) the
    perfect supercell with the force constants as Hessian labels. Arguments as :func:`load_phonopy`."""
    phonon = load_phonopy(path, force_sets=force_sets, supercell_matrix=supercell_matrix)
    samples = phonopy_force_samples(phonon)
    if hessian:
        samples.append(phonopy_hessian_sample(phonon))
    return samples
