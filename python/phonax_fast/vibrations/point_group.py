"""Point groups of molecules: symmetry operations found within a tolerance, and their Schoenflies name.

The search is our own (no dependency): candidate axes and mirror normals are taken from the
principal axes of inertia, the atoms, the sums, differences and cross products of pairs of
like atoms; each candidate rotation C_n and improper rotation S_n that maps every atom onto
a like atom (same element and mass) within ``tolerance`` Å is kept, refined to the orthogonal
matrix that best maps the atoms onto their images (Procrustes), and the set is closed under
multiplication. Linear molecules get the finite subgroup C_{8v} (C∞v) or D_{8h} (D∞h) of
their infinite group, which has the same Σ and Π irreps for every vibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_AXIS_ORDER = 12  # highest rotation order searched (C_n, S_2n)
LINEAR_ORDER = 8  # order of the finite rotation subgroup standing in for C∞ about a linear axis


@dataclass(frozen=True)
class PointGroup:
    """The symmetry operations of a molecule about its centre of mass.

    Attributes:
        name: Schoenflies symbol ("Td", "D6h", "C2v", "C∞v", "D∞h", …).
        rotations: (n_ops, 3, 3) orthogonal Cartesian matrices R (x ↦ R x), identity first.
        permutations: (n_ops, n_atoms) int, atom i is carried onto atom ``permutations[g, i]``.
        centre: (3,) centre of mass in Å the operations act about.
        principal_axis: (3,) unit vector of the highest-order rotation axis (zero when none).
    """

    name: str
    rotations: np.ndarray
    permutations: np.ndarray
    centre: np.ndarray
    principal_axis: np.ndarray

    @property
    def order(self) -> int:
        return len(self.rotations)

    @property
    def is_linear(self) -> bool:
        return "∞" in self.name


@dataclass(frozen=True)
class Operation:
    """Geometry of one operation: kind "E", "C" (proper rotation), "i", "σ" or "S".

    ``order`` is the n of C_n / S_n for the element's own rotation angle 2π/n (1 for E, σ, i),
    ``axis`` the rotation axis or mirror normal (unit vector, zero for E and i) and ``fixed``
    the number of atoms the operation leaves in place.
    """

    kind: str
    order: int
    axis: np.ndarray
    fixed: int


def find_point_group(numbers, positions, masses, tolerance: float = 0.01) -> PointGroup:
    """Point group of a molecule.

    Args:
        numbers: (n,) atomic numbers.
        positions: (n, 3) Cartesian positions in Å.
        masses: (n,) masses in amu (atoms are alike only if number and mass agree).
        tolerance: largest displacement, in Å, of an atom from the image of a like atom
            under an operation for that operation to count as a symmetry.

    Returns:
        PointGroup.
    """
    numbers = np.asarray(numbers)
    positions = np.asarray(positions, dtype=float)
    masses = np.asarray(masses, dtype=float)
    if len(numbers) < 2:
        raise ValueError("a point group needs at least two atoms")
    if tolerance <= 0:
        raise ValueError(f"tolerance must be positive, got {tolerance}")
    kinds = np.unique(np.stack([numbers, masses], axis=1), axis=0, return_inverse=True)[1].ravel()
    centre = masses @ positions / masses.sum()
    x = positions - centre
    axis = _linear_axis(x, tolerance)
    if axis is not None:
        return _linear_group(x, kinds, axis, centre, tolerance)
    ops = _search(x, kinds, tolerance)
    rotations, permutations = _close(ops, x, kinds, tolerance)
    return _name_group(rotations, permutations, centre)


def describe(rotation: np.ndarray, permutation: np.ndarray) -> Operation:
    """Classify a (3, 3) orthogonal matrix as E, C_n, i, σ or S_n (see :class:`Operation`)."""
    det = np.sign(np.linalg.det(rotation))
    proper = det * rotation
    angle = np.arccos(np.clip((np.trace(proper) - 1) / 2, -1, 1))
    fixed = int(np.sum(permutation == np.arange(len(permutation))))
    if det > 0:
        if angle < 1e-6:
            return Operation("E", 1, np.zeros(3), fixed)
        return Operation("C", _order(angle), _rotation_axis(proper, angle), fixed)
    # improper: rotation = −proper = σ_h(a)·C(angle − π) about the same axis a
    if angle < 1e-6:
        return Operation("i", 1, np.zeros(3), fixed)
    axis = _rotation_axis(proper, angle)
    phi = np.pi - angle
    if phi < 1e-6:
        return Operation("σ", 1, axis, fixed)
    return Operation("S", _order(phi), axis, fixed)


def _order(angle: float) -> int:
    """n such that angle = 2πk/n with k, n coprime (the order of the rotation)."""
    for n in range(1, 2 * MAX_AXIS_ORDER + 1):
        k = angle * n / (2 * np.pi)
        if abs(k - round(k)) < 1e-4 * n:
            return n
    raise ValueError(f"rotation angle {angle} is not 2π·k/n for n ≤ {2 * MAX_AXIS_ORDER}")


def _rotation_axis(proper: np.ndarray, angle: float) -> np.ndarray:
    if angle > np.pi - 1e-4:  # C2: axis from the symmetric part R + I = 2 a aᵀ
        a = np.linalg.eigh(proper + np.eye(3))[1][:, -1]
    else:
        a = np.array([proper[2, 1] - proper[1, 2], proper[0, 2] - proper[2, 0], proper[1, 0] - proper[0, 1]])
    a = a / np.linalg.norm(a)
    return a if a[np.argmax(np.abs(a))] > 0 else -a


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation by ``angle`` about the unit vector ``axis``."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _permutation(rotation, x, kinds, tolerance):
    """Atom permutation realised by ``rotation`` within ``tolerance`` Å, or None."""
    y = x @ rotation.T
    probe = np.linalg.norm(x[kinds == kinds[0]] - y[0], axis=1)  # cheap early rejection by atom 0
    if probe.min() > tolerance:
        return None
    d = np.linalg.norm(y[:, None, :] - x[None, :, :], axis=-1)
    d[kinds[:, None] != kinds[None, :]] = np.inf
    perm = np.argmin(d, axis=1)
    if d[np.arange(len(x)), perm].max() > tolerance or len(np.unique(perm)) != len(x):
        return None
    return perm


def _fit(perm, det, x):
    """Orthogonal matrix with determinant ``det`` mapping x[i] closest to x[perm[i]] (Procrustes)."""
    u, _, vt = np.linalg.svd(x[perm].T @ x)
    d = np.diag([1.0, 1.0, det * np.sign(np.linalg.det(u @ vt))])
    return u @ d @ vt


def _candidate_directions(x, kinds, tolerance):
    """Unit vectors (up to sign) that may be rotation axes or mirror normals."""
    inertia = np.einsum("ni,nj->ij", x, x)
    vectors = [np.linalg.eigh(inertia)[1].T, x]
    i, j = np.triu_indices(len(x), 1)
    radius = np.linalg.norm(x, axis=1)
    # only like atoms at equal distance from the centre can be images of each other
    same = (kinds[i] == kinds[j]) & (np.abs(radius[i] - radius[j]) <= 2 * tolerance)
    i, j = i[same], j[same]
    vectors += [x[i] + x[j], x[i] - x[j], np.cross(x[i], x[j])]
    v = np.concatenate(vectors)
    norms = np.linalg.norm(v, axis=1)
    v = v[norms > 1e-3 * max(norms.max(), 1.0)]
    v /= np.linalg.norm(v, axis=1)[:, None]
    v *= np.where(v[np.arange(len(v)), np.argmax(np.abs(v), axis=1)] < 0, -1.0, 1.0)[:, None]
    # duplicates up to rounding; a pair split by a rounding boundary only costs one more test
    return v[np.unique(np.round(v, 4), axis=0, return_index=True)[1]]


def _search(x, kinds, tolerance):
    """{(permutation, det)}: every operation found from the candidate directions."""
    found = {}
    n_atoms = len(x)

    def test(rotation, det):
        perm = _permutation(rotation, x, kinds, tolerance)
        if perm is not None:
            found.setdefault((tuple(perm), det), None)

    test(np.eye(3), 1)
    test(-np.eye(3), -1)
    for a in _candidate_directions(x, kinds, tolerance):
        mirror = np.eye(3) - 2 * np.outer(a, a)
        test(mirror, -1)
        off_axis = np.linalg.norm(np.cross(x, a), axis=1) > tolerance
        counts = np.bincount(kinds[off_axis]) if off_axis.any() else np.zeros(1, int)
        for n in range(2, min(MAX_AXIS_ORDER, n_atoms) + 1):
            if np.any(counts % n):  # off-axis like atoms come in orbits of n
                continue
            rotation = _axis_rotation(a, 2 * np.pi / n)
            test(rotation, 1)
            test(mirror @ rotation, -1)  # S_n
            test(mirror @ _axis_rotation(a, np.pi / n), -1)  # S_2n
    return list(found)


def _close(ops, x, kinds, tolerance):
    """Refined rotations and permutations of the group generated by ``ops``."""
    elements = {op: _fit(np.array(op[0]), op[1], x) for op in ops}
    frontier = list(elements)
    while frontier:
        new = []
        for a in frontier:
            for b in list(elements):
                for p, q in ((a, b), (b, a)):
                    perm = np.array(p[0])[np.array(q[0])]
                    key = (tuple(perm), p[1] * q[1])
                    if key in elements:
                        continue
                    rotation = elements[p] @ elements[q]
                    if np.abs(x @ rotation.T - x[perm]).max() > 2 * tolerance:
                        raise ValueError(
                            "the symmetry operations found within the tolerance do not form a group; "
                            "use a smaller tolerance or a more symmetric structure"
                        )
                    elements[key] = rotation
                    new.append(key)
        frontier = new
    keys = sorted(elements, key=lambda k: k != (tuple(range(len(x))), 1))  # identity first
    permutations = np.array([k[0] for k in keys])
    dets = [k[1] for k in keys]
    rotations = np.array([elements[k] for k in keys])
    for _ in range(2):  # refit to the symmetrised structure: the matrices then form a group to round-off
        x = _symmetrise(x, rotations, permutations)
        rotations = np.array([_fit(p, d, x) for p, d in zip(permutations, dets)])
    return rotations, permutations


def _symmetrise(x, rotations, permutations):
    """Group average of the positions: atom perm[i] gets (1/|G|) Σ_g R_g x_i."""
    y = np.zeros_like(x)
    for r, p in zip(rotations, permutations):
        y[p] += x @ r.T
    return y / len(rotations)


def _linear_axis(x, tolerance):
    """Unit vector of the molecular axis if all atoms lie on a line through the centre, else None."""
    axis = np.linalg.eigh(np.einsum("ni,nj->ij", x, x))[1][:, -1]
    if np.linalg.norm(np.cross(x, axis), axis=1).max() > tolerance:
        return None
    return axis


def _linear_group(x, kinds, axis, centre, tolerance):
    """C∞v or D∞h represented by C_{8v} or D_{8h} about ``axis``."""
    n_atoms = len(x)
    identity = np.arange(n_atoms)
    ref = np.cross(axis, [1.0, 0, 0] if abs(axis[0]) < 0.9 else [0, 1.0, 0])
    ref /= np.linalg.norm(ref)
    rotations, permutations = [], []
    for k in range(LINEAR_ORDER):
        rotations.append(_axis_rotation(axis, 2 * np.pi * k / LINEAR_ORDER))
        normal = _axis_rotation(axis, np.pi * k / LINEAR_ORDER) @ ref
        rotations.append(np.eye(3) - 2 * np.outer(normal, normal))  # σ_v
        permutations += [identity, identity]
    flip = _permutation(-np.eye(3), x, kinds, tolerance)
    name = "C∞v"
    if flip is not None:
        name = "D∞h"
        rotations += [-r for r in rotations]
        permutations += [flip] * len(permutations)
    return PointGroup(name, np.array(rotations), np.array(permutations), centre, axis)


def _name_group(rotations, permutations, centre):
    ops = [describe(r, p) for r, p in zip(rotations, permutations)]
    rot = [o for o in ops if o.kind == "C"]
    n = max((o.order for o in rot), default=1)
    high_axes = {tuple(np.round(o.axis, 6)) for o in rot if o.order >= 3}
    has_i = any(o.kind == "i" for o in ops)
    mirrors = [o for o in ops if o.kind == "σ"]
    if len(high_axes) > 1:  # cubic or icosahedral
        principal = np.zeros(3)
        base = "I" if n == 5 else "O" if n == 4 else "T"
        if has_i:
            name = base + "h"
        elif mirrors and base == "T":
            name = "Td"
        else:
            name = base
        return PointGroup(name, rotations, permutations, centre, principal)
    principal = _principal_axis(ops)
    perp_c2 = [o for o in rot if o.order == 2 and abs(o.axis @ principal) < 1e-3]
    sigma_h = any(abs(abs(o.axis @ principal) - 1) < 1e-3 for o in mirrors)
    sigma_v = [o for o in mirrors if abs(o.axis @ principal) < 1e-3]
    s2n = any(o.kind == "S" and o.order == 2 * n and abs(abs(o.axis @ principal) - 1) < 1e-3 for o in ops)
    if n == 1:
        name = "Cs" if mirrors else "Ci" if has_i else "C1"
    elif len(perp_c2) >= n:
        name = f"D{n}h" if sigma_h else f"D{n}d" if sigma_v else f"D{n}"
    elif sigma_h:
        name = f"C{n}h"
    elif sigma_v:
        name = f"C{n}v"
    elif s2n:
        name = f"S{2 * n}"
    else:
        name = f"C{n}"
    return PointGroup(name, rotations, permutations, centre, principal)


def _principal_axis(ops: list[Operation]) -> np.ndarray:
    """Axis of the highest-order proper rotation; among equals, one that is also an S_2n axis, then
    the one fixing most atoms (z of D2 and D2h).

    Zero vector when the group has no proper rotation.
    """
    rot = [o for o in ops if o.kind == "C"]
    if not rot:
        return np.zeros(3)
    n = max(o.order for o in rot)

    def has_s2n(o):  # D2d: the C2 axis that is also an S4 axis
        return any(s.kind == "S" and s.order == 2 * n and abs(abs(s.axis @ o.axis) - 1) < 1e-3 for s in ops)

    best = max((o for o in rot if o.order == n), key=lambda o: (has_s2n(o), o.fixed, tuple(o.axis)))
    return best.axis
