"""Force constants of a crystal from an extended cluster (DESIGN.md §2).

Two exact constructions, for an energy E = Σ_k ε_k whose atomic energies see L message-passing hops:

* ``"masked"``: the 2L-hop cluster with the energy masked to atoms within L hops of the centre cell
  (their neighbourhoods are complete, so their ε_k are exact); one Hessian-vector product per
  centre-cell coordinate gives a whole row Φ(0iα, ·). 3·N_cell products on the big cluster, or
  3 per symmetry orbit of atoms when the other rows are obtained by rotation (``symmetry.py``).
* ``"paper"``: the L-hop cluster with E_centre = Σ_{k ∈ cell 0} ε_k; its full Hessian
  (3·n_ext products) is folded by translation, Φ(i, (j, T_b − T_a)) = Σ_{a, b} H[a, b].

``"auto"`` picks the cheaper by (number of products) × (edges of the cluster).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ..derivatives import hessian_rows
from ..graphs.clusters import Cluster, build_cluster
from ..graphs.validation import require_crystal
from ..harmonic.force_constants import ForceConstants
from .symmetry import atom_symmetry, expand_rows

CONSTRUCTIONS = ("auto", "masked", "paper")


def _clusters(atoms: Atoms, model, construction: str, n_rows_atoms: int) -> tuple[str, Cluster]:
    L = model.num_layers
    masked = paper = None
    if construction in ("auto", "masked"):
        masked = build_cluster(atoms, model.cutoff, 2 * L, model.species, energy_hops=L)
    if construction in ("auto", "paper"):
        paper = build_cluster(atoms, model.cutoff, L, model.species, energy_hops=0)
    if construction == "auto":
        construction = choose_construction(masked, paper, n_rows_atoms)
    return construction, masked if construction == "masked" else paper


def construction_cost(cluster: Cluster, construction: str, n_rows_atoms: int | None = None) -> int:
    """(Hessian-vector products) × (cluster edges): the cost model used by ``"auto"``.

    ``n_rows_atoms``: atoms whose rows the masked construction computes (default: all N).
    """
    n_products = 3 * ((n_rows_atoms or cluster.n_cell) if construction == "masked" else cluster.num_nodes)
    return n_products * cluster.graph.num_edges


def choose_construction(masked: Cluster, paper: Cluster, n_rows_atoms: int | None = None) -> str:
    """The cheaper of the two constructions by :func:`construction_cost`."""
    cheaper = construction_cost(masked, "masked", n_rows_atoms) <= construction_cost(paper, "paper")
    return "masked" if cheaper else "paper"


def crystal_force_constants(
    atoms: Atoms,
    model,
    construction: str = "auto",
    block_size: int | None = None,
    use_symmetry: bool = True,
    symprec: float = 1e-5,
    check: bool = True,
) -> tuple[ForceConstants, str]:
    """Exact compact force constants of a periodic crystal for ``model``.

    Args:
        atoms: the unit cell (periodic in three directions), Å.
        model: energy model (``cutoff``, ``num_layers``, ``species``, ``energy(graph)``).
        construction: ``"auto"``, ``"masked"`` or ``"paper"``.
        block_size: Hessian-vector products per vmapped block.
        use_symmetry: with the masked construction, compute rows for one atom per symmetry orbit
            (spglib, tolerance ``symprec`` Å) and rotate them onto the others; exact for a
            structure that is symmetric to round-off, an O(symprec) approximation otherwise.
        check: run ``require_crystal`` on ``atoms`` (False only for callers that just did, such as
            ``Phonons``, so the neighbour-list check runs once per entry point).
    Returns:
        (ForceConstants in eV/Å², the construction used).
    """
    if construction not in CONSTRUCTIONS:
        raise ValueError(f"unknown construction {construction!r}; use one of {CONSTRUCTIONS}")
    if check:
        require_crystal(atoms, model.species, context="crystal force constants")
    sym = atom_symmetry(atoms, symprec) if use_symmetry else None
    computed = sym.representatives if sym is not None else np.arange(len(atoms))  # atoms whose rows are computed
    construction, cluster = _clusters(atoms, model, construction, len(computed))
    n = cluster.n_cell
    if construction == "masked":
        # row (i, α) of the Hessian over cluster nodes b = (j_b, T_b) is Φ(i0α, j_b T_b ·)
        translations, cols = np.unique(cluster.translation, axis=0, return_inverse=True)
        coords = (3 * computed[:, None] + np.arange(3)).ravel()
        rows = hessian_rows(model, cluster.graph, coords, block_size, desc="force constants (masked 2L)")
        rows = rows.reshape(len(computed), 3, -1, 3).transpose(0, 2, 1, 3)  # i, node, α, β
        fc = np.zeros((len(computed), len(translations) * n, 3, 3))
        fc[:, cols.ravel() * n + cluster.atom] = rows
        if sym is not None:
            fc, translations = expand_rows(dict(zip(computed.tolist(), fc)), translations, atoms, sym)
    else:
        # H[a, b] of E_centre adds to Φ(i_a, (j_b, T_b − T_a)); fold each block of rows as it comes
        diffs = (cluster.translation[None, :, :] - cluster.translation[:, None, :]).reshape(-1, 3)
        translations, cols = np.unique(diffs, axis=0, return_inverse=True)
        cols = cols.reshape(cluster.num_nodes, cluster.num_nodes)
        fc = np.zeros((n, len(translations) * n, 3, 3))

        def fold(coords, rows):
            a, alpha = coords // 3, coords % 3
            np.add.at(fc, (cluster.atom[a][:, None], cols[a] * n + cluster.atom[None, :], alpha[:, None]), rows)

        hessian_rows(
            model, cluster.graph, np.arange(3 * cluster.num_nodes), block_size, desc="force constants (paper L)", on_block=fold
        )
    return (
        ForceConstants(
            fc=fc,
            translations=translations,
            cell=np.asarray(atoms.cell, dtype=float),
            scaled_positions=atoms.get_scaled_positions(wrap=False),
            masses=atoms.get_masses(),
            numbers=atoms.get_atomic_numbers(),
        ),
        construction,
    )
