"""Training data: structures with DFT labels (energy, forces, stress, Hessian).

Readers:

* :func:`read_extxyz` — any file ASE reads (extxyz, …) with energies, forces and stress attached.
* :func:`read_phonopy` — phonopy's displaced supercells with their forces (``phonopy_params.yaml``,
  or ``phonopy_disp.yaml`` / ``POSCAR-unitcell`` + ``FORCE_SETS``).
* :func:`phonopy_hessian_sample` — the perfect supercell with phonopy's force constants as Hessian
  labels (the "Hessian data" of the paper).
* Molecular Hessians (any structure, periodic or not, but typically molecules):
  :func:`read_extxyz` also takes a Hessian stored on each frame, :func:`read_npz` reads NumPy
  archives, :func:`read_orca_hess` reads ORCA's ``.hess`` files; :func:`write_extxyz` writes
  samples (Hessians included) in the convention :func:`read_extxyz` reads.

Hessian convention everywhere: ∂²E/∂x_{iα}∂x_{jβ} in eV/Å², as a (3N, 3N) matrix with row and
column index 3·i + α (atom i, Cartesian direction α = x, y, z), i.e. the matrix
``hessian.reshape(3N, 3N)`` of the (N, 3, N, 3) array :class:`Sample` stores. In extxyz files it is
``atoms.info["hessian"]``: a (3N, 3N) array (ASE writes it as JSON) or the same matrix flattened
row by row (9N² numbers); or the per-atom array ``atoms.arrays["hessian"]`` of shape (N, 9N)
holding rows 3i, 3i+1, 3i+2 of the matrix for atom i.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import phonopy
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write
from ase.stress import voigt_6_to_full_3x3_stress
from phonopy.harmonic.force_constants import compact_fc_to_full_fc
from phonopy.structure.cells import PrimitiveMatrixAutoDefaultWarning

from ..dielectric import cell_polarizability
from ..fileio import atomic_write_named
from ..interop.nac import read_born
from ..units import ANGSTROM_PER_BOHR, EV_PER_HARTREE, energy_factor, length_factor


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
        field: (3,) uniform electric field in V/Å under which the labels were computed (None:
            zero); only field models (``FieldNequIP``, ``FieldMACE``) can learn from it.
        dipole: (3,) e·Å, −∂U/∂E at ``field`` (for a crystal: per cell).
        polarizability: (3, 3) e·Å²/V, −∂²U/∂E² at ``field``.
        born_charges: (n, 3, 3) e, Z*[i, α, β] = ∂F_iβ/∂E_α = ∂P_α/∂x_iβ at ``field``.

    The field labels follow ``phonax_fast.dielectric``'s conventions and units.
    """

    atoms: Atoms
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    hessian: np.ndarray | None = None
    field: np.ndarray | None = None
    dipole: np.ndarray | None = None
    polarizability: np.ndarray | None = None
    born_charges: np.ndarray | None = None

    @property
    def has_field_labels(self) -> bool:
        """Whether anything here needs a field model: a nonzero field or a dielectric label."""
        nonzero_field = self.field is not None and bool(np.any(np.asarray(self.field) != 0))
        return nonzero_field or any(v is not None for v in (self.dipole, self.polarizability, self.born_charges))

    def __post_init__(self):
        n = len(self.atoms)
        checks = {"forces": (n, 3), "stress": (3, 3), "hessian": (n, 3, n, 3), "field": (3,), "dipole": (3,),
                  "polarizability": (3, 3), "born_charges": (n, 3, 3)}
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


def hessian_array(value, n_atoms: int, where: str = "hessian") -> np.ndarray:
    """A Hessian given as (3N, 3N), (N, 3, N, 3), (N, 9N) per-atom rows or 9N² flat numbers
    (row-major, index 3·i + α; see the module doc) as the (N, 3, N, 3) array of :class:`Sample`.

    Raises ``ValueError`` naming ``where`` if the size does not fit ``n_atoms`` atoms."""
    h = np.asarray(value, dtype=float)
    n3 = 3 * n_atoms
    if h.shape in {(n3, n3), (n_atoms, 3, n_atoms, 3), (n_atoms, 3 * n3), (n3 * n3,)}:
        return h.reshape(n_atoms, 3, n_atoms, 3)
    raise ValueError(f"{where} of shape {h.shape} does not fit {n_atoms} atoms: expected ({n3}, {n3}), "
                     f"({n_atoms}, 3, {n_atoms}, 3), per-atom rows ({n_atoms}, {3 * n3}) or {n3 * n3} numbers "
                     "(eV/Å², row and column index 3·atom + direction)")


FIELD_LABELS = {"field": (3,), "dipole": (3,), "polarizability": (3, 3), "born_charges": (-1, 3, 3)}
"""Electric-field labels in extxyz files: ``atoms.info`` entries ``field`` (V/Å), ``dipole`` (e·Å),
``polarizability`` (e·Å²/V, 9 numbers row by row) and the per-atom array ``born_charges`` (e, 9
numbers per atom, Z*[i, α, β] row by row); see :class:`Sample`."""


def _field_label(atoms, name: str, frame: int, path, results: dict):
    value = atoms.arrays.get(name) if name == "born_charges" else atoms.info.get(name)
    if value is None:  # ASE's extxyz reader files a frame's "dipole" with its calculator results
        value = results.get(name)
    if value is None:
        return None
    shape = FIELD_LABELS[name]
    shape = (len(atoms), *shape[1:]) if shape[0] == -1 else shape
    value = np.asarray(value, dtype=float)
    if value.size != int(np.prod(shape)):
        raise ValueError(f"{path} frame {frame}: {name!r} has {value.size} numbers; expected {int(np.prod(shape))} "
                         f"for shape {shape}")
    return value.reshape(shape)


def read_extxyz(path, index=":", hessian_key: str = "hessian") -> list[Sample]:
    """Samples from any file ``ase.io.read`` understands, with the labels stored on each frame.

    Energy, forces and stress (ASE's Voigt or 3×3, eV/Å³) are taken where present, a Hessian
    (eV/Å²) from ``atoms.info[hessian_key]`` or ``atoms.arrays[hessian_key]`` (see the module doc
    for the layouts), and electric-field labels as :data:`FIELD_LABELS` describes.
    """
    frames = read(path, index=index)
    samples = []
    for k, atoms in enumerate([frames] if isinstance(frames, Atoms) else frames):
        calc = atoms.calc
        results = calc.results if calc is not None else {}
        stress = results.get("stress")
        if stress is not None and np.shape(stress) == (6,):
            stress = voigt_6_to_full_3x3_stress(stress)
        hessian = atoms.info.get(hessian_key, atoms.arrays.get(hessian_key))
        if hessian is not None:
            hessian = hessian_array(hessian, len(atoms), f"{path} frame {k}: {hessian_key!r}")
        field_labels = {name: _field_label(atoms, name, k, path, results) for name in FIELD_LABELS}
        clean = atoms.copy()
        clean.calc = None
        clean.info.pop(hessian_key, None)
        if hessian_key in clean.arrays:
            del clean.arrays[hessian_key]
        for name in FIELD_LABELS:
            clean.info.pop(name, None)
            clean.arrays.pop(name, None)
        samples.append(Sample(clean, results.get("energy"), results.get("forces"), stress, hessian, **field_labels))
    if not samples:
        raise ValueError(f"{path} holds no structures")
    return samples


def write_extxyz(path, samples, hessian_key: str = "hessian") -> None:
    """Write samples as extended XYZ: energy, forces and stress as ASE calculator results, the
    Hessian (eV/Å²) as ``atoms.info[hessian_key]``, a (3N, 3N) matrix, the field labels as
    :data:`FIELD_LABELS`; :func:`read_extxyz` reads them back."""
    frames = []
    for s in samples:
        atoms = s.atoms.copy()
        results = {k: v for k, v in (("energy", s.energy), ("forces", s.forces), ("stress", s.stress)) if v is not None}
        if s.stress is not None:
            results["stress"] = np.asarray(s.stress)[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        if s.hessian is not None:
            n3 = 3 * len(atoms)
            atoms.info[hessian_key] = np.asarray(s.hessian).reshape(n3, n3)
        for name in ("field", "dipole", "polarizability"):
            if getattr(s, name) is not None:
                atoms.info[name] = np.asarray(getattr(s, name), dtype=float).reshape(-1)
        if s.born_charges is not None:
            atoms.arrays["born_charges"] = np.asarray(s.born_charges, dtype=float).reshape(len(atoms), 9)
        frames.append(atoms)
    atomic_write_named(Path(path), lambda name: write(name, frames, format="extxyz"))


def read_npz(path, *, energy_unit: str = "eV", length_unit: str = "angstrom") -> list[Sample]:
    """Samples from a NumPy archive of one or several structures of the same atoms.

    Keys (M structures of N atoms; the leading M axis is left out for a single structure):

    * ``numbers`` (N,) atomic numbers — required; ``positions`` (M, N, 3) — required;
    * ``hessian`` (M, 3N, 3N) or (M, N, 3, N, 3), energy/length²;
    * ``energy`` (M,); ``forces`` (M, N, 3), energy/length;
    * ``cell`` (3, 3) or (M, 3, 3) and ``pbc`` (3,) bools (default: a molecule, no cell);
    * ``masses`` (N,) amu (default: ASE's standard atomic masses).

    Units: eV and Å by default; ``energy_unit`` ("eV", "hartree", "kcal/mol") and ``length_unit``
    ("angstrom", "bohr") convert, e.g. Hartree/bohr² Hessians with ``energy_unit="hartree",
    length_unit="bohr"``. Samples are in eV, Å, eV/Å, eV/Å².
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no .npz file at {path}")
    e_unit, l_unit = energy_factor(energy_unit), length_factor(length_unit)
    with np.load(path, allow_pickle=False) as z:
        data = {k: np.asarray(z[k]) for k in z.files}
    missing = {"numbers", "positions"} - set(data)
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}; it holds {sorted(data)}")
    unknown = set(data) - {"numbers", "positions", "hessian", "energy", "forces", "cell", "pbc", "masses"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    numbers = data["numbers"].astype(int)
    if numbers.ndim != 1:
        raise ValueError(f"{path}: numbers must have shape (N,), got {numbers.shape}")
    n = len(numbers)
    positions = data["positions"]
    if positions.shape[-2:] != (n, 3) or positions.ndim not in (2, 3):
        raise ValueError(f"{path}: positions of shape {positions.shape} do not fit {n} atoms: expected ({n}, 3) or (M, {n}, 3)")
    single = positions.ndim == 2
    positions = positions.reshape(-1, n, 3) * l_unit
    m = len(positions)

    def per_structure(key, shape, factor):
        if key not in data:
            return [None] * m
        value = data[key].astype(float)
        if value.shape == shape and (single or m == 1):
            value = value[None]
        if value.shape[0] != m or (shape and value[0].size != int(np.prod(shape))):
            raise ValueError(f"{path}: {key} of shape {data[key].shape} does not fit {m} structure(s) of {n} atoms "
                             f"(expected {shape if single else (m, *shape)})")
        return list(value * factor)

    energy = per_structure("energy", (), e_unit)
    forces = per_structure("forces", (n, 3), e_unit / l_unit)
    hess_shape = data["hessian"].shape[-4:] if "hessian" in data and data["hessian"].ndim in (4, 5) else (3 * n, 3 * n)
    hessians = per_structure("hessian", hess_shape, e_unit / l_unit**2)
    cells = per_structure("cell", (3, 3), l_unit) if "cell" in data else [None] * m
    pbc = data.get("pbc", np.zeros(3, bool)).astype(bool)
    samples = []
    for k in range(m):
        atoms = Atoms(numbers=numbers, positions=positions[k], cell=cells[k], pbc=pbc)
        if "masses" in data:
            atoms.set_masses(data["masses"])
        h = None if hessians[k] is None else hessian_array(hessians[k], n, f"{path}: hessian[{k}]")
        samples.append(Sample(atoms, None if energy[k] is None else float(energy[k]), forces[k], hessian=h))
    return samples


def read_orca_hess(path) -> Sample:
    """The molecule and Hessian of an ORCA ``.hess`` file (``$hessian`` in Hartree/bohr², converted to
    eV/Å²; ``$atoms`` with masses in amu and coordinates in bohr; ``$act_energy`` in Hartree, taken as
    the energy label when present and non-zero)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ORCA .hess file at {path}")
    sections: dict[str, list[str]] = {}
    name = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("$"):
            name = stripped[1:].split()[0] if len(stripped) > 1 else ""
            sections[name] = []
        elif name is not None and stripped and not stripped.startswith("#"):
            sections[name].append(stripped)
    for needed in ("hessian", "atoms"):
        if needed not in sections:
            raise ValueError(f"{path} has no ${needed} section; is it an ORCA .hess file?")
    try:
        n = int(sections["atoms"][0])
        rows = [line.split() for line in sections["atoms"][1 : 1 + n]]
        symbols = [r[0] for r in rows]
        masses = np.array([float(r[1]) for r in rows])
        positions = np.array([[float(x) for x in r[2:5]] for r in rows]) * ANGSTROM_PER_BOHR
        if len(rows) != n or positions.shape != (n, 3):
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"{path}: malformed $atoms section (expected N, then N lines 'symbol mass x y z')") from None
    hessian = _orca_matrix(sections["hessian"], path)
    if hessian.shape != (3 * n, 3 * n):
        raise ValueError(f"{path}: $hessian is {hessian.shape[0]}×{hessian.shape[1]} but $atoms has {n} atoms")
    energy = None
    if sections.get("act_energy"):
        value = float(sections["act_energy"][0].split()[0])
        energy = value * EV_PER_HARTREE if value != 0.0 else None
    atoms = Atoms([re.sub(r"[^A-Za-z]", "", s).capitalize() for s in symbols], positions=positions, masses=masses)
    h = hessian * EV_PER_HARTREE / ANGSTROM_PER_BOHR**2
    return Sample(atoms, energy=energy, hessian=hessian_array(0.5 * (h + h.T), n, f"{path}: $hessian"))


def _orca_matrix(lines: list[str], path) -> np.ndarray:
    """A square matrix printed by ORCA in column blocks: the size, then for each block a line of
    column indices followed by one line per row, 'row value value …'."""
    try:
        size = int(lines[0].split()[0])
        matrix = np.full((size, size), np.nan)
        k = 1
        while k < len(lines):
            columns = [int(c) for c in lines[k].split()]
            for r in range(size):
                parts = lines[k + 1 + r].split()
                if int(parts[0]) != r or len(parts) != len(columns) + 1:
                    raise ValueError
                matrix[r, columns] = [float(v) for v in parts[1:]]
            k += size + 1
    except (ValueError, IndexError):
        raise ValueError(f"{path}: malformed $hessian section (ORCA column blocks expected)") from None
    if np.isnan(matrix).any():
        raise ValueError(f"{path}: $hessian does not cover all {size} columns")
    return matrix


def load_phonopy(path, *, force_sets=None, supercell_matrix=None):
    """A ``phonopy.Phonopy`` with displacement data and forces (no NAC).

    Args:
        path: ``phonopy_params.yaml`` / ``phonopy_disp.yaml``, or a unit-cell file
            (e.g. ``POSCAR-unitcell``) together with ``supercell_matrix``.
        force_sets: a ``FORCE_SETS`` file when the forces are not inside ``path``.
        supercell_matrix: (3, 3) or (3,) integers, only for a unit-cell file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no phonopy file at {path}")
    if force_sets is not None and not Path(force_sets).is_file():
        raise FileNotFoundError(f"no FORCE_SETS file at {force_sets}")

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
        fc = compact_fc_to_full_fc(phonon.primitive, fc)
    hessian = fc.transpose(0, 2, 1, 3)
    return Sample(to_atoms(phonon.supercell), forces=np.zeros((n, 3)), hessian=0.5 * (hessian + hessian.transpose(2, 3, 0, 1)))


def phonopy_dielectric_sample(phonon, born) -> Sample:
    """The primitive cell of ``phonon`` labelled with the Born charges and ε∞ of the phonopy BORN
    file ``born``: Z* (N, 3, 3) in e, expanded to every atom by the crystal's symmetry, and the
    cell's clamped-ion polarizability α = (ε∞ − 1)·ε₀V in e·Å²/V (``dielectric.cell_polarizability``),
    the labels a field model learns them from. No energy or force labels (the cell need not be at
    the minimum of the energy the BORN file belongs to)."""
    primitive = to_atoms(phonon.primitive)
    params = read_born(born, primitive.cell[:], primitive.get_scaled_positions(), primitive.numbers)
    return Sample(primitive, born_charges=np.asarray(params["born"], dtype=float),
                  polarizability=cell_polarizability(params["epsilon"], primitive.get_volume()))


def read_phonopy(path, *, force_sets=None, supercell_matrix=None, hessian: bool = False, born=None) -> list[Sample]:
    """Samples from phonopy data: displaced supercells with forces, plus (``hessian=True``) the
    perfect supercell with the force constants as Hessian labels, plus (``born``: a BORN file) the
    primitive cell with its Born charges and polarizability (:func:`phonopy_dielectric_sample`).
    Other arguments as :func:`load_phonopy`."""
    phonon = load_phonopy(path, force_sets=force_sets, supercell_matrix=supercell_matrix)
    samples = phonopy_force_samples(phonon)
    if hessian:
        samples.append(phonopy_hessian_sample(phonon))
    if born is not None:
        samples.append(phonopy_dielectric_sample(phonon, born))
    return samples
