"""High-symmetry band paths (seekpath) expressed in the user's own cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import seekpath


@dataclass(frozen=True)
class BandPath:
    """A piecewise-linear path through the Brillouin zone.

    Attributes:
        segments: list of (n_k, 3) arrays of q-points in reduced coordinates of the user's cell.
        labels: list of (start_label, end_label), one per segment.
    """

    segments: list
    labels: list

    @property
    def qpoints(self) -> np.ndarray:
        return np.concatenate(self.segments)


def seekpath_endpoints(cell: np.ndarray, scaled_positions: np.ndarray, numbers: np.ndarray):
    """Segments of seekpath's recommended path, as (start, end) q in the reduced coordinates of ``cell``.

    seekpath gives its points for its standardised primitive cell, possibly rotated; they are
    mapped back through Cartesian reciprocal space: q = q_sp · B_sp · R · Aᵀ, with B_sp its
    reciprocal lattice (no 2π), R its rotation (x_std = R x_user) and A the user's cell.
    """
    path = seekpath.get_path((np.asarray(cell), np.asarray(scaled_positions), np.asarray(numbers)))
    to_user = np.asarray(path["reciprocal_primitive_lattice"]) / (2 * np.pi) @ np.asarray(path["rotation_matrix"]) @ np.asarray(cell).T
    coords = {k: np.asarray(v) @ to_user for k, v in path["point_coords"].items()}
    return [(coords[a], coords[b]) for a, b in path["path"]], [(_pretty(a), _pretty(b)) for a, b in path["path"]]


def _pretty(label: str) -> str:
    return "Γ" if label == "GAMMA" else label.replace("_", "")


def band_path(cell, scaled_positions, numbers, npoints: int = 101, endpoints=None, labels=None) -> BandPath:
    """Band path with about ``npoints`` q-points in all, spread by segment length.

    ``endpoints``: optional user path, a list of (start, end) reduced q-points; ``labels`` the
    matching (start_label, end_label) pairs. Default: seekpath's path for the structure.
    """
    if isinstance(npoints, bool) or not isinstance(npoints, (int, np.integer)) or npoints < 2:
        raise ValueError(f"npoints must be an integer ≥ 2 (q-points along the whole path); got {npoints!r}")
    if endpoints is None:
        endpoints, labels = seekpath_endpoints(cell, scaled_positions, numbers)
    else:
        endpoints = [(np.asarray(a, float), np.asarray(b, float)) for a, b in endpoints]
        labels = labels or [("", "")] * len(endpoints)
        if len(labels) != len(endpoints):
            raise ValueError(f"{len(labels)} label pairs for {len(endpoints)} path segments")
    recip = np.linalg.inv(np.asarray(cell)).T
    lengths = np.array([np.linalg.norm((b - a) @ recip) for a, b in endpoints])
    counts = np.maximum(2, np.round(npoints * lengths / max(lengths.sum(), 1e-12)).astype(int))
    segments = [a + np.linspace(0, 1, c)[:, None] * (b - a) for (a, b), c in zip(endpoints, counts)]
    return BandPath(segments=segments, labels=list(labels))


def gamma_directions(path: BandPath, cell, tolerance: float = 1e-5) -> np.ndarray:
    """(n_q, 3) reduced directions of approach to Γ per q-point of ``path``, zero where none applies.

    As phonopy's band structure: a segment whose end points are collinear with Γ (|b_s × b_e| below
    ``tolerance``, Cartesian, 1/Å²) gets the direction start − end at all its points, so a
    non-analytic correction takes the limit along the segment where it reaches Γ.
    """
    recip = np.linalg.inv(np.asarray(cell)).T
    out = []
    for seg in path.segments:
        start, end = seg[0], seg[-1]
        through_gamma = np.linalg.norm(np.cross(start @ recip, end @ recip)) < tolerance
        out.append(np.broadcast_to(start - end if through_gamma else np.zeros(3), seg.shape))
    return np.concatenate(out)


def path_distances(path: BandPath, cell) -> np.ndarray:
    """Cumulative distance along the path in 1/Å (no 2π), continuous across jumps between segments."""
    recip = np.linalg.inv(np.asarray(cell)).T
    out, start = [], 0.0
    for seg in path.segments:
        step = np.linalg.norm(np.diff(seg @ recip, axis=0), axis=1)
        d = start + np.concatenate([[0.0], np.cumsum(step)])
        out.append(d)
        start = d[-1]
    return np.concatenate(out)


@dataclass(frozen=True)
class BandStructure:
    """Phonon frequencies along a band path.

    Attributes:
        qpoints: (n_q, 3) reduced coordinates of the user's cell.
        distances: (n_q,) distance along the path, 1/Å (no 2π).
        frequencies: (n_q, 3N) in ``unit``, ascending per q.
        path: the :class:`BandPath` (segments and labels).
        unit: "THz", "cm-1" or "meV".
    """

    qpoints: np.ndarray
    distances: np.ndarray
    frequencies: np.ndarray
    path: BandPath
    unit: str = "THz"

    @property
    def labels(self) -> list[tuple[float, str]]:
        """(distance, label) at each segment end; joined labels like "U|K" where the path jumps."""
        ticks, k = [], 0
        for seg, (a, b) in zip(self.path.segments, self.path.labels):
            start, end = self.distances[k], self.distances[k + len(seg) - 1]
            if ticks and abs(ticks[-1][0] - start) < 1e-12:
                prev = ticks[-1][1]
                ticks[-1] = (start, prev if prev == a else f"{prev}|{a}")
            else:
                ticks.append((start, a))
            ticks.append((end, b))
            k += len(seg)
        return ticks
