"""Irreducible representations of normal modes, Mulliken labels, and IR/Raman selection rules.

No character tables are stored. For each set of (near-)degenerate modes the characters
χ(g) = tr(Qᵀ Γ(g) Q) of the symmetry operations on the modes' subspace are computed directly;
the Mulliken label follows from those characters and the geometry of a few reference operations
(principal rotation, C2' or σ_v, σ_h, inversion), and the selection rules from the multiplicity
of the irrep in the vector representation (IR: transforms like x, y, z; χ_v(g) = tr R) and in the
symmetric square of it (Raman: quadratic forms x², xy, …; χ_s(g) = (tr(R)² + tr(R²))/2), so
that mutual exclusion in centrosymmetric molecules follows without being imposed.

Accidental degeneracies are split into irreducible subspaces by the eigenvectors of a random
symmetric operator averaged over the group (it commutes with every Γ(g)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .point_group import LINEAR_ORDER, PointGroup, describe

LETTERS = {1: "A", 2: "E", 3: "T", 4: "G", 5: "H"}
LINEAR_LETTERS = {1: "Π", 2: "Δ", 3: "Φ"}  # E_k of the axial rotations, k = 1, 2, 3


def apply_operation(group: PointGroup, g: int, vectors: np.ndarray) -> np.ndarray:
    """Γ(g) applied to displacement vectors.

    Args:
        vectors: (3N, s) mass-weighted (or plain) Cartesian displacements, atom-major.

    Returns:
        (3N, s): the displacement of atom i, rotated by R_g, moved to atom ``permutations[g, i]``.
    """
    n = group.permutations.shape[1]
    u = vectors.reshape(n, 3, -1)
    out = np.empty_like(u)
    out[group.permutations[g]] = np.einsum("ab,nbs->nas", group.rotations[g], u)
    return out.reshape(3 * n, -1)


def characters(group: PointGroup, basis: np.ndarray) -> np.ndarray:
    """(n_ops,) characters tr(Qᵀ Γ(g) Q) of the subspace spanned by the orthonormal columns of ``basis``."""
    return np.array([np.sum(basis * apply_operation(group, g, basis)) for g in range(group.order)])


def irreducible_subspaces(group: PointGroup, basis: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """Split an invariant subspace (orthonormal columns, (3N, s)) into irreducible ones.

    A subspace whose characters are already those of one irrep is returned as it is; otherwise
    (an accidental degeneracy) it is split by the eigenvectors of Qᵀ (Σ_g Γ(g)ᵀ X Γ(g)) Q for a
    random symmetric X, which commutes with the group and is generically non-degenerate between
    inequivalent (or repeated) irreps. Returns orthonormal bases (3N, d_k) that together span ``basis``.
    """
    if basis.shape[1] == 1 or is_irreducible(group, characters(group, basis)):
        return [basis]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(basis.shape[0], basis.shape[0]))
    x = (x + x.T) / np.linalg.norm(x + x.T, 2)
    a = np.zeros((basis.shape[1], basis.shape[1]))
    for g in range(group.order):
        y = apply_operation(group, g, basis)  # Γ(g) Q
        a += y.T @ x @ y
    w, v = np.linalg.eigh(a / group.order)
    clusters = np.split(np.arange(len(w)), np.where(np.diff(w) > 1e-4)[0] + 1)
    return [basis @ v[:, c] for c in clusters]


def activities(group: PointGroup, chi: np.ndarray) -> tuple[bool, bool]:
    """(IR active, Raman active) of an irrep with characters ``chi`` (n_ops,)."""
    tr = np.trace(group.rotations, axis1=1, axis2=2)
    tr2 = np.einsum("gab,gba->g", group.rotations, group.rotations)
    ir = chi @ tr / group.order
    raman = chi @ (0.5 * (tr**2 + tr2)) / group.order
    return bool(ir > 0.5), bool(raman > 0.5)


def is_irreducible(group: PointGroup, chi: np.ndarray, tolerance: float = 0.05) -> bool:
    """Whether ``chi`` belongs to one real irreducible representation.

    Σ_g χ(g)²/|G| is 1 for an irrep and 2 for a pair of complex-conjugate irreps that form one
    real 2-dimensional representation (E of C3, C4, S4, …).
    """
    norm = chi @ chi / group.order
    return abs(norm - 1) < tolerance or (abs(norm - 2) < tolerance and round(chi[0]) == 2)


@dataclass(frozen=True)
class _References:
    """Indices of the operations whose characters fix the Mulliken label (None where absent)."""

    family: str  # "linear", "cubic", "icosahedral", "D2" or "axial"
    generator: int | None  # C_n (or S_2n without inversion) about the principal axis, angle 2π/m
    generator_order: int
    subscript: int | None  # C2', σ_v, C4/S4 (cubic) or C5 (icosahedral): subscript 1/2
    inversion: int | None
    sigma_h: int | None
    d2_axes: tuple[int, int, int] | None  # C2(z), C2(y), C2(x) of D2 and D2h


class MullikenLabeller:
    """Mulliken symbols (A1g, E', T2, B3u, Σg+, Πu, …) from the characters of an irreducible set.

    Conventions: the principal axis is the highest-order axis (an S_2n axis in D_nd and S_2n);
    subscripts 1/2 refer to the C2' class perpendicular to it that passes through more atoms,
    else to the σ_v class containing more atoms (for C2v: the plane containing fewer atoms, so
    that a planar C2v molecule lies in σ_v'(yz) as Mulliken recommends); for D2 and D2h, x is
    perpendicular to the molecular plane (if planar) and z is the C2 axis through most atoms.
    """

    def __init__(self, group: PointGroup):
        self.group = group
        self.refs = _references(group)

    def label(self, chi: np.ndarray) -> str:
        """Mulliken label of the irrep (or real pair of complex irreps) with characters ``chi``."""
        r = self.refs
        d = round(chi[0])
        parity = "" if r.inversion is None else ("g" if chi[r.inversion] > 0 else "u")
        if r.family == "linear":
            if d == 1:
                return "Σ" + parity + ("+" if chi[r.subscript] > 0 else "−")
            return LINEAR_LETTERS[_harmonic(chi[r.generator], r.generator_order)] + parity
        letter = LETTERS.get(d, f"[{d}]")
        sub = ""
        if r.family == "D2":
            if d == 1 and min(chi[i] for i in r.d2_axes) < 0:
                letter, sub = "B", str(1 + [chi[i] > 0 for i in r.d2_axes].index(True))
        elif r.family in ("cubic", "icosahedral"):
            if r.subscript is not None and (d == 3 or (d == 1 and r.family == "cubic")):
                sub = "1" if chi[r.subscript] > 0 else "2"
        else:
            if d == 1:
                if r.generator is not None and chi[r.generator] < 0:
                    letter = "B"
                if r.subscript is not None:
                    sub = "1" if chi[r.subscript] > 0 else "2"
            elif d == 2 and r.generator is not None and (r.generator_order - 1) // 2 > 1:
                sub = str(_harmonic(chi[r.generator], r.generator_order))
        prime = ""
        if r.sigma_h is not None:
            prime = "'" if chi[r.sigma_h] > 0 else "''"
        return letter + sub + parity + prime


def _harmonic(chi: float, order: int) -> int:
    """k ≥ 1 with 2cos(2πk/m) closest to χ of the generator on a 2-dimensional irrep E_k."""
    ks = np.arange(1, max(2, (order - 1) // 2 + 1))
    return int(ks[np.argmin(np.abs(2 * np.cos(2 * np.pi * ks / order) - chi))])


def _references(group: PointGroup) -> _References:
    ops = [describe(r, p) for r, p in zip(group.rotations, group.permutations)]
    inversion = next((g for g, o in enumerate(ops) if o.kind == "i"), None)
    if group.is_linear:
        # the linear groups are built as [C8^k, σ_v(k)]*, then the same times inversion
        return _References("linear", 2, LINEAR_ORDER, 1, inversion, None, None)
    name = group.name
    if name[0] in "TOI":
        family = "icosahedral" if name[0] == "I" else "cubic"
        if name[0] == "I":  # C5 with angle 2π/5: the largest trace among the C5
            sub = max((g for g, o in enumerate(ops) if o.kind == "C" and o.order == 5), key=lambda g: np.trace(group.rotations[g]))
        elif name[0] == "O":
            sub = next(g for g, o in enumerate(ops) if o.kind == "C" and o.order == 4)
        elif name == "Td":
            sub = next(g for g, o in enumerate(ops) if o.kind == "S" and o.order == 4)
        else:
            sub = None
        return _References(family, None, 1, sub, inversion, None, None)
    axis = group.principal_axis
    along = [abs(abs(o.axis @ axis) - 1) < 1e-3 for o in ops]
    perp = [abs(o.axis @ axis) < 1e-3 for o in ops]
    sigma_h = None
    if inversion is None:
        sigma_h = next((g for g, o in enumerate(ops) if o.kind == "σ" and (along[g] or not axis.any())), None)
    if name in ("D2", "D2h"):
        return _References("D2", None, 1, None, inversion, sigma_h, _d2_axes(group, ops))
    rotations = [g for g, o in enumerate(ops) if o.kind == "C" and along[g]]
    n = max((ops[g].order for g in rotations), default=1)
    s2n = [g for g, o in enumerate(ops) if o.kind == "S" and o.order == 2 * n and along[g]]
    candidates = s2n if s2n and inversion is None else [g for g in rotations if ops[g].order == n]
    # the smallest rotation angle has the largest trace, for C_n (1 + 2cos θ) and S_2n (2cos φ − 1)
    generator = max(candidates, key=lambda g: np.trace(group.rotations[g]), default=None)
    generator_order = ops[generator].order if generator is not None else 1
    c2_perp = [g for g, o in enumerate(ops) if o.kind == "C" and o.order == 2 and perp[g]]
    sigma_v = [g for g, o in enumerate(ops) if o.kind == "σ" and perp[g] and axis.any()]
    # C2' (or σ_v) and C2'' (or σ_d) are different conjugacy classes; the elements of one class
    # fix equally many atoms and have equal characters, so the element fixing most atoms stands
    # for the class through most atoms
    if c2_perp:
        subscript = max(c2_perp, key=lambda g: ops[g].fixed)
    elif sigma_v:
        subscript = (min if name == "C2v" else max)(sigma_v, key=lambda g: ops[g].fixed)
    else:
        subscript = None
    return _References("axial", generator, generator_order, subscript, inversion, sigma_h, None)


def _d2_axes(group: PointGroup, ops) -> tuple[int, int, int]:
    """(z, y, x) C2 operations of D2/D2h: x ⊥ the molecular plane if planar, z through most atoms."""
    c2 = [g for g, o in enumerate(ops) if o.kind == "C"]
    n_atoms = group.permutations.shape[1]
    plane = next((o.axis for o in ops if o.kind == "σ" and o.fixed == n_atoms), None)
    if plane is not None:
        x = next(g for g in c2 if abs(abs(ops[g].axis @ plane) - 1) < 1e-3)
    else:
        x = min(c2, key=lambda g: ops[g].fixed)
    rest = [g for g in c2 if g != x]
    z = max(rest, key=lambda g: ops[g].fixed)
    y = next(g for g in rest if g != z)
    return z, y, x
