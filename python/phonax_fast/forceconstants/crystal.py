"""Force constants of a crystal from Hessian rows (DESIGN.md §2): three constructions and a planner.

For an energy E = Σ_k ε_k whose atomic energies see L message-passing hops of cutoff r_c:

* ``"supercell"`` (``supercell.py``): Hessian rows of a periodic supercell, one product per
  symmetry-inequivalent atom and direction; equals phonopy's finite displacements on the same
  supercell at zero step. The only construction whose cost does not grow with the model's reach
  2·L·r_c: the one for deep (universal) models and large cells.
* ``"masked"``: the 2L-hop cluster with the energy masked to atoms within L hops of the centre cell
  (their neighbourhoods are complete, so their ε_k are exact); one Hessian-vector product per
  centre-cell coordinate gives a whole row Φ(0iα, ·), exact with no supercell. 3·N_cell products on
  the big cluster, or 3 per symmetry orbit of atoms when the other rows are obtained by rotation.
* ``"paper"``: the L-hop cluster with E_centre = Σ_{k ∈ cell 0} ε_k; its full Hessian
  (3·n_ext products) is folded by translation, Φ(i, (j, T_b − T_a)) = Σ_{a, b} H[a, b]. Exact too.

``"auto"`` (:func:`plan_construction`) estimates each construction's work (products × edges ×
features) and memory before building anything, and takes an exact cluster construction when its
work is at most ``EXACT_PREFERENCE`` × the supercell's or below ``SMALL_WORK``, else the supercell;
it never picks one whose memory does not fit, and says why it picked what it picked.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from ..derivatives import BYTES_PER_EDGE_FEATURE, HessianTiming, hessian_rows, hidden_features
from ..graphs.clusters import Cluster, build_cluster
from ..graphs.neighbors import neighbor_edges
from ..graphs.supercell import supercell_for_length, supercell_matrix
from ..graphs.validation import require_crystal
from ..harmonic.force_constants import ForceConstants
from ..harmonic.symmetry import conventional_matrix
from ..resources import free_memory
from .supercell import SupercellReport, row_plan, supercell_force_constants
from .symmetry import AtomSymmetry, atom_symmetry, expand_rows

CONSTRUCTIONS = ("auto", "supercell", "masked", "paper")
DEFAULT_SUPERCELL_LENGTH = 15.0
"""Å: the supercell ``"auto"`` uses is at least this wide in every direction (``graphs.supercell``)."""
EXACT_PREFERENCE = 4.0
"""``"auto"`` takes an exact cluster construction if its work is within this factor of the supercell's."""
SMALL_WORK = 3e8
"""Work below which ``"auto"`` takes an exact construction anyway (about half a minute of
Hessian-vector products on one CPU core: ~1e7 units per second measured for NequIP models)."""
EDGE_OVERHEAD = 64
"""Per-edge work that does not scale with the hidden features (harmonics, radial network), in feature units."""


@dataclass(frozen=True)
class Estimate:
    """What one construction would cost, estimated before building its graph.

    Attributes:
        construction: its name.
        products: Hessian-vector products.
        nodes, edges: of the graph they run on.
        work: products × edges × layers × (hidden features + ``EDGE_OVERHEAD``): the unit of ``SMALL_WORK``.
        memory: bytes for one product at a time and the results (the least it needs).
    """

    construction: str
    products: int
    nodes: int
    edges: int
    work: float
    memory: float


@dataclass
class ForceConstantsReport:
    """How force constants were computed: the construction, why it was picked, what it cost.

    Attributes:
        construction: ``"supercell"``, ``"masked"`` or ``"paper"``.
        reason: why (the planner's words, or "asked for").
        estimates: {construction: Estimate} the planner compared.
        timing: compile and execution times of the Hessian-vector products.
        supercell: the supercell's report (size, rows, boundary force constants), or None.
        seconds: wall time of the whole computation.
    """

    construction: str
    reason: str
    estimates: dict = field(default_factory=dict)
    timing: HessianTiming = field(default_factory=HessianTiming)
    supercell: SupercellReport | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """A few lines for logs: construction and reason, cost, compile and execution times."""
        t = self.timing
        lines = [f"{self.construction} construction ({self.reason})"]
        if self.supercell is not None:
            lines.append(self.supercell.summary())
        lines.append(f"{t.products} Hessian-vector products in {t.blocks} blocks of {t.block_size} on a graph of "
                     f"{t.nodes} atoms and {t.edges} edges: compile {t.compile_seconds:.1f} s, execute "
                     f"{t.execute_seconds:.1f} s, total {self.seconds:.1f} s")
        return "\n".join(lines)


def _mean_degree(atoms: Atoms, cutoff: float) -> float:
    senders, _, _ = neighbor_edges(atoms, cutoff)
    return max(len(senders), 1) / len(atoms)


def _ball_atoms(atoms: Atoms, radius: float) -> float:
    """Atoms within ``radius`` of a unit cell (the cell as a sphere of its volume), by density."""
    volume = atoms.get_volume()
    r_cell = (3 * volume / (4 * math.pi)) ** (1 / 3)
    return len(atoms) / volume * 4 / 3 * math.pi * (r_cell + radius) ** 3


@dataclass
class Plan:
    """The planner's decision (:func:`plan_construction`).

    Attributes:
        construction: the construction to run.
        reason: why.
        estimates: {construction: Estimate} compared.
        supercell: (3, 3) int supercell matrix of the supercell construction.
        symmetry: the atoms' symmetry under the operations that keep that supercell, or None.
    """

    construction: str
    reason: str
    estimates: dict
    supercell: np.ndarray
    symmetry: AtomSymmetry | None


def plan_construction(atoms: Atoms, model, construction: str = "auto", supercell=None,
                      supercell_length: float | None = None, use_symmetry: bool = True, symprec: float = 1e-5,
                      memory_limit: float | None = None) -> Plan:
    """Which construction to run, why, the estimates compared, the supercell matrix and symmetry.

    Args:
        atoms: the unit cell.
        model: the energy model (``cutoff``, ``num_layers``).
        construction: one of ``CONSTRUCTIONS``; anything but ``"auto"`` is only checked for memory.
        supercell: supercell matrix (3 ints or 3×3) for the supercell construction; default from
            ``supercell_length`` (default ``DEFAULT_SUPERCELL_LENGTH``).
        memory_limit: bytes the computation may use (default: 80 % of the free memory).
    Raises:
        ValueError: naming the memory needed when no construction (or not the one asked for) fits.
    """
    if construction not in CONSTRUCTIONS:
        raise ValueError(f"unknown construction {construction!r}; use one of {CONSTRUCTIONS}")
    if supercell is not None:
        matrix = supercell_matrix(supercell)
    else:
        length = DEFAULT_SUPERCELL_LENGTH if supercell_length is None else float(supercell_length)
        matrix = supercell_for_length(atoms, length, conventional_matrix(atoms.cell[:], atoms.get_scaled_positions(),
                                                                         atoms.numbers, symprec))
    n, L = len(atoms), model.num_layers
    degree = _mean_degree(atoms, model.cutoff)
    hidden = hidden_features(model)
    limit = free_memory() * 0.8 if memory_limit is None else memory_limit
    sym = atom_symmetry(atoms, symprec, supercell_matrix=matrix) if use_symmetry else None
    n_reps = len(sym.representatives) if sym is not None else n
    n_s = n * int(round(np.linalg.det(matrix)))
    sizes = {
        "supercell": (sum(len(d) for _, d, _ in row_plan(atoms, sym)), n_s, n_s * degree, n * n_s * 9 * 8 * 3),
        "masked": (3 * n_reps, _ball_atoms(atoms, 2 * L * model.cutoff), None, None),
        "paper": (None, _ball_atoms(atoms, L * model.cutoff), None, None),
    }
    estimates = {}
    for name, (products, nodes, edges, result_bytes) in sizes.items():
        nodes = int(nodes)
        edges = int(edges if edges is not None else nodes * degree)
        products = products if products is not None else 3 * nodes
        if result_bytes is None:  # compact force constants over the cluster's translations
            result_bytes = n * nodes * 9 * 8 * (2 if name == "paper" else 1)
        per_product = edges * L * hidden * BYTES_PER_EDGE_FEATURE
        estimates[name] = Estimate(name, int(products), nodes, edges, float(products) * edges * L * (hidden + EDGE_OVERHEAD),
                                   float(per_product + result_bytes + edges * 200))
    fits = {name: e.memory <= limit for name, e in estimates.items()}

    def plan(chosen, reason):
        return Plan(chosen, reason, estimates, matrix, sym)

    if construction != "auto":
        if not fits[construction]:
            raise ValueError(f"the {construction} construction needs about {estimates[construction].memory / 2**30:.1f} GiB "
                             f"for this structure and model; {limit / 2**30:.1f} GiB are available: "
                             f"{_alternative(estimates, fits)}")
        return plan(construction, "asked for")
    exact = min(("masked", "paper"), key=lambda k: estimates[k].work)
    sc = estimates["supercell"]
    if fits[exact] and (estimates[exact].work <= EXACT_PREFERENCE * sc.work or estimates[exact].work <= SMALL_WORK):
        return plan(exact, f"auto: exact, and its estimated work {estimates[exact].work:.2g} is small (below "
                           f"{SMALL_WORK:.0e}, or within {EXACT_PREFERENCE:g}× the supercell's {sc.work:.2g})")
    if fits["supercell"]:
        why = "would not fit in memory" if not fits[exact] else f"would take {estimates[exact].work / sc.work:.0f}× the work"
        return plan("supercell", f"auto: the exact {exact} construction {why}; the force constants reach "
                                 f"2·L·r_c = {2 * L * model.cutoff:.0f} Å")
    raise ValueError(f"no construction fits in {limit / 2**30:.1f} GiB: the supercell needs about {sc.memory / 2**30:.1f} GiB; "
                     "give a smaller supercell (supercell=... or a shorter supercell_length)")


def _alternative(estimates: dict, fits: dict) -> str:
    ok = [name for name in estimates if fits[name]]
    return f"use construction={ok[0]!r} instead" if ok else "use a smaller supercell"


def crystal_force_constants(
    atoms: Atoms,
    model,
    construction: str = "auto",
    block_size: int | None = None,
    use_symmetry: bool = True,
    symprec: float = 1e-5,
    check: bool = True,
    supercell=None,
    supercell_length: float | None = None,
) -> tuple[ForceConstants, ForceConstantsReport]:
    """Force constants of a periodic crystal for ``model``.

    Args:
        atoms: the unit cell (periodic in three directions), Å.
        model: energy model (``cutoff``, ``num_layers``, ``species``, ``apply``).
        construction: ``"auto"``, ``"supercell"``, ``"masked"`` or ``"paper"`` (module docstring).
        block_size: Hessian-vector products per vmapped block (default from a memory estimate).
        use_symmetry: compute rows of one atom per symmetry orbit (and, for the supercell, only
            the directions its site symmetry needs) and rotate them onto the others (spglib,
            tolerance ``symprec`` Å); exact for a structure that is symmetric to round-off, an
            O(symprec) approximation otherwise.
        check: run ``require_crystal`` on ``atoms`` (False only for callers that just did, such as
            ``Phonons``, so the neighbour-list check runs once per entry point).
        supercell, supercell_length: the supercell of the supercell construction
            (:func:`plan_construction`).
    Returns:
        (ForceConstants in eV/Å², ForceConstantsReport: construction, why, timings).
    """
    if check:
        require_crystal(atoms, model.species, context="crystal force constants")
    start = time.perf_counter()
    plan = plan_construction(atoms, model, construction, supercell, supercell_length, use_symmetry, symprec)
    report = ForceConstantsReport(plan.construction, plan.reason, plan.estimates)
    if plan.construction == "supercell":
        fcs, report.supercell = supercell_force_constants(atoms, model, plan.supercell, use_symmetry, symprec, block_size,
                                                          symmetry=plan.symmetry)
        report.timing = report.supercell.timing
    elif plan.construction == "masked":
        whole_group = plan.symmetry is not None and len(plan.symmetry.allowed) == plan.symmetry.symmetry.n_ops
        sym = plan.symmetry if whole_group else (atom_symmetry(atoms, symprec) if use_symmetry else None)
        fcs = _masked(atoms, model, sym, block_size, report.timing)
    else:
        fcs = _paper(atoms, model, block_size, report.timing)
    report.seconds = time.perf_counter() - start
    return fcs, report


def _force_constants(atoms: Atoms, fc, translations) -> ForceConstants:
    return ForceConstants(fc=fc, translations=translations, cell=np.asarray(atoms.cell, dtype=float),
                          scaled_positions=atoms.get_scaled_positions(wrap=False), masses=atoms.get_masses(),
                          numbers=atoms.get_atomic_numbers())


def _masked(atoms: Atoms, model, sym: AtomSymmetry | None, block_size, timing) -> ForceConstants:
    """Rows Φ(i0α, ·) of the representatives on the masked 2L-hop cluster, rotated onto the others."""
    L = model.num_layers
    cluster: Cluster = build_cluster(atoms, model.cutoff, 2 * L, model.species, energy_hops=L)
    computed = sym.representatives if sym is not None else np.arange(len(atoms))
    n = cluster.n_cell
    # row (i, α) of the Hessian over cluster nodes b = (j_b, T_b) is Φ(i0α, j_b T_b ·)
    translations, cols = np.unique(cluster.translation, axis=0, return_inverse=True)
    coords = (3 * computed[:, None] + np.arange(3)).ravel()
    rows = hessian_rows(model, cluster.graph, coords, block_size, desc="force constants (masked 2L)", timing=timing)
    rows = rows.reshape(len(computed), 3, -1, 3).transpose(0, 2, 1, 3)  # i, node, α, β
    fc = np.zeros((len(computed), len(translations) * n, 3, 3))
    fc[:, cols.ravel() * n + cluster.atom] = rows
    if sym is not None:
        fc, translations = expand_rows(dict(zip(computed.tolist(), fc)), translations, atoms, sym)
    return _force_constants(atoms, fc, translations)


def _paper(atoms: Atoms, model, block_size, timing) -> ForceConstants:
    """The full Hessian of E_centre on the L-hop cluster, folded by translation as it comes."""
    cluster = build_cluster(atoms, model.cutoff, model.num_layers, model.species, energy_hops=0)
    n = cluster.n_cell
    # H[a, b] of E_centre adds to Φ(i_a, (j_b, T_b − T_a)); fold each block of rows as it comes
    diffs = (cluster.translation[None, :, :] - cluster.translation[:, None, :]).reshape(-1, 3)
    translations, cols = np.unique(diffs, axis=0, return_inverse=True)
    cols = cols.reshape(cluster.num_nodes, cluster.num_nodes)
    fc = np.zeros((n, len(translations) * n, 3, 3))

    def fold(coords, rows):
        a, alpha = coords // 3, coords % 3
        np.add.at(fc, (cluster.atom[a][:, None], cols[a] * n + cluster.atom[None, :], alpha[:, None]), rows)

    hessian_rows(model, cluster.graph, np.arange(3 * cluster.num_nodes), block_size, desc="force constants (paper L)",
                 on_block=fold, timing=timing)
    return _force_constants(atoms, fc, translations)
