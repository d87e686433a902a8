"""Force constants from exact Hessian rows of a periodic supercell (the ``"supercell"`` construction).

What phonopy's finite displacements give in the limit of zero step, without the step: for each
symmetry-inequivalent atom r of the unit cell and each direction d it needs, one forward-over-reverse
Hessian-vector product on the periodic supercell graph gives the row dᵀ Φ_sc(r, s) for every
supercell atom s (Φ_sc sums each pair over the supercell's periodic images, as forces of a displaced
supercell do). Site symmetry completes the 3×3 blocks from the directions computed (a cubic site
needs one direction, as phonopy needs one displacement for silicon), the space group gives the
rows of the other atoms (``symmetry.py``; only operations that keep the supercell lattice), and
each (i, s) pair is spread over its shortest images as phonopy does (``harmonic.supercell_images``):
the compact force constants equal those of phonopy on the same supercell.

The cost is one Hessian-vector product per direction on a graph of N_s = N·det(M) atoms, so it is
the construction of choice for deep models, whose clusters (masked, paper) grow as (2·L·r_c)³.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from ..derivatives import HessianTiming, hessian_products
from ..graphs.neighbors import periodic_graph
from ..graphs.supercell import Supercell, cell_heights, make_supercell
from ..harmonic.force_constants import ForceConstants
from ..harmonic.supercell_images import fold_to_images, shortest_images
from .symmetry import AtomSymmetry, atom_symmetry, cartesian_rotations, row_directions, site_operations


@dataclass
class SupercellReport:
    """How the supercell force constants were obtained and how well the supercell holds them.

    Attributes:
        matrix: (3, 3) int supercell matrix.
        n_atoms: atoms in the supercell.
        rows: Hessian-vector products computed (one per representative atom and direction).
        representatives: unit-cell atoms whose rows were computed.
        boundary_radius: half the supercell's smallest face-to-face width, Å: pairs closer than
            this have a unique shortest image.
        boundary_fc: largest |Φ| (max abs element of a 3×3 block, eV/Å²) of a pair at least
            ``boundary_radius`` apart: what the supercell folds or cuts.
        largest_fc: largest |Φ| of any pair (the on-site blocks), eV/Å².
        timing: the Hessian-vector products' compile and execution times.
    """

    matrix: np.ndarray
    n_atoms: int
    rows: int
    representatives: np.ndarray
    boundary_radius: float
    boundary_fc: float
    largest_fc: float
    timing: HessianTiming = field(default_factory=HessianTiming)

    @property
    def width(self) -> float:
        """The supercell's smallest face-to-face width, Å."""
        return 2 * self.boundary_radius

    def summary(self) -> str:
        """One line for logs."""
        m = self.matrix
        diagonal = np.count_nonzero(m - np.diag(np.diag(m))) == 0
        shape = "×".join(str(int(x)) for x in np.diag(m)) if diagonal else f"M = {m.tolist()}"
        return (f"supercell {shape} ({self.n_atoms} atoms, {self.width:.1f} Å wide), {self.rows} Hessian rows; largest |Φ| beyond "
                f"{self.boundary_radius:.1f} Å: {self.boundary_fc:.2e} eV/Å² ({self.boundary_fc / self.largest_fc:.1e} of the largest)")


def row_plan(atoms: Atoms, sym: AtomSymmetry | None) -> list:
    """[(representative atom, directions (n_d, 3), its site operations or None)]: the Hessian rows
    the supercell construction computes (all three directions of every atom without symmetry)."""
    if sym is None:
        return [(r, np.eye(3), None) for r in range(len(atoms))]
    plan = []
    for r in sym.representatives:
        ops = site_operations(sym, r)
        plan.append((int(r), row_directions(cartesian_rotations(atoms.cell, sym.symmetry.rotations[ops])), ops))
    return plan


def row_tangents(plan: list) -> tuple[np.ndarray, np.ndarray]:
    """(atoms (K,) int, directions (K, 3)): one Hessian-vector product per row of a :func:`row_plan`."""
    return np.concatenate([np.full(len(d), r) for r, d, _ in plan]), np.concatenate([d for _, d, _ in plan])


def _supercell_map(sc: Supercell, perm: np.ndarray, shifts: np.ndarray, rotation: np.ndarray, origin_shift) -> np.ndarray:
    """(N_s,) image of every supercell atom under the operation (π, t, W), shifted by −``origin_shift``:
    atom (j, T) goes to (π(j), t_j + W T − origin_shift)."""
    points = shifts[sc.atom] + sc.lattice_point @ np.asarray(rotation).T - np.asarray(origin_shift)
    return sc.index(perm[sc.atom], points)


def _complete_blocks(sc: Supercell, sym: AtomSymmetry, r: int, directions: np.ndarray, rows: np.ndarray, ops) -> np.ndarray:
    """Φ_sc(r, s) (N_s, 3, 3) from the rows dᵀ Φ_sc(r, ·) (n_d, N_s, 3) of the ``directions`` (n_d, 3) and
    the site operations ``ops`` of r: (R d)ᵀ Φ(r, g(s) − t_r) = dᵀ Φ(r, s) Rᵀ, solved by least squares
    (exact: the directions' images span R³)."""
    crystal = sym.symmetry
    perms, shifts = crystal.atom_maps(ops)
    rotations = crystal.rotations[ops]
    cartesian = cartesian_rotations(sc.unit_cell, rotations)
    lhs, rhs = [], []
    for perm, shift, w, R in zip(perms, shifts, rotations, cartesian):
        target = _supercell_map(sc, perm, shift, w, shift[r])
        for d, row in zip(directions, rows):
            image = np.empty_like(row)
            image[target] = row @ R.T
            lhs.append(R @ d)
            rhs.append(image)
    solved = np.linalg.pinv(np.array(lhs)) @ np.array(rhs).reshape(len(lhs), -1)  # (3, N_s·3): α, (s, β)
    return solved.reshape(3, -1, 3).transpose(1, 0, 2)


def supercell_force_constants(atoms: Atoms, model, matrix, use_symmetry: bool = True, symprec: float = 1e-5,
                              block_size: int | None = None, symmetry: AtomSymmetry | None = None
                              ) -> tuple[ForceConstants, SupercellReport]:
    """Compact force constants of ``atoms`` from Hessian rows of its periodic ``matrix`` supercell.

    Args:
        atoms: the unit cell (periodic in three directions), Å.
        model: energy model (``cutoff``, ``species``, ``apply``).
        matrix: supercell, 3 integers or a 3×3 integer matrix (``graphs.supercell.supercell_matrix``).
        use_symmetry: rows only for one atom per orbit and the directions its site symmetry needs
            (spglib, tolerance ``symprec`` Å; operations that keep the supercell lattice).
        block_size: Hessian-vector products per vmapped block.
        symmetry: ``atom_symmetry(atoms, symprec, supercell_matrix=matrix)`` if the caller has it.
    Returns:
        (ForceConstants in eV/Å², SupercellReport).
    """
    sc = make_supercell(atoms, matrix)
    graph = periodic_graph(sc.atoms, model.cutoff, model.species)
    n, n_s = len(atoms), len(sc.atoms)
    sym = None
    if use_symmetry:
        sym = symmetry if symmetry is not None else atom_symmetry(atoms, symprec, supercell_matrix=sc.matrix)
    plan = row_plan(atoms, sym)
    row_atoms, row_directions_ = row_tangents(plan)
    timing = HessianTiming()
    products = hessian_products(model, graph, row_atoms, row_directions_, block_size, desc="force constants (supercell)",
                                timing=timing)  # (K, N_s, 3)

    phi = np.zeros((n, n_s, 3, 3))  # Φ_sc(i, s), i at the origin cell
    start = 0
    for r, directions, ops in plan:
        rows = products[start : start + len(directions)]
        start += len(directions)
        phi[r] = rows.transpose(1, 0, 2) if ops is None else _complete_blocks(sc, sym, r, directions, rows, ops)
    if sym is not None:
        for i in range(n):
            r = sym.representative_of[i]
            if i == r:
                continue
            perm, shift, R = sym.permutations[i], sym.lattice_shifts[i], sym.cartesian[i]
            target = _supercell_map(sc, perm, shift, sym.rotations[i], shift[r])
            phi[i, target] = R @ phi[r] @ R.T

    cell = np.asarray(atoms.cell, dtype=float)
    scaled = atoms.get_scaled_positions(wrap=False)
    vectors, multiplicity = shortest_images(cell, scaled, sc.matrix, sc.lattice_point, sc.atom)
    translations, blocks = fold_to_images(phi, vectors, multiplicity, sc.atom, scaled)
    fcs = ForceConstants(fc=blocks.reshape(n, len(translations) * n, 3, 3), translations=translations, cell=cell,
                         scaled_positions=scaled, masses=atoms.get_masses(), numbers=atoms.get_atomic_numbers(),
                         supercell=sc.matrix)
    return fcs, _report(sc, phi, vectors, multiplicity, plan, len(row_atoms), timing)


def _report(sc: Supercell, phi, vectors, multiplicity, plan, n_rows, timing) -> SupercellReport:
    """Where the supercell cuts: the largest block of a pair beyond half its smallest width."""
    radius = 0.5 * cell_heights(sc.atoms.cell[:]).min()
    first = vectors[multiplicity[..., 1].T]  # (N, N_s) one shortest image per pair, reduced unit-cell coordinates
    distance = np.linalg.norm(first @ sc.unit_cell, axis=-1)
    size = np.abs(phi).max(axis=(2, 3))
    far = distance >= radius - 1e-8
    return SupercellReport(matrix=sc.matrix, n_atoms=len(sc.atoms), rows=n_rows,
                           representatives=np.array([r for r, _, _ in plan]), boundary_radius=float(radius),
                           boundary_fc=float(size[far].max()) if far.any() else 0.0, largest_fc=float(size.max()),
                           timing=timing)
