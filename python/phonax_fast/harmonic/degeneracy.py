"""Degenerate sets of modes: runs of ascending frequencies that chain within a tolerance.

Frequencies are taken in the order given, which must be ascending (as eigen-solvers return them).
Consecutive frequencies closer than ``tolerance`` (strictly less, as phonopy) chain into one set,
so a set may span more than ``tolerance`` in all; the tolerance is in the units of the
frequencies. On ascending input this is exactly phonopy's ``degenerate_sets`` (a mode joins a set
when it is within the cutoff of any member). ``strict=False`` chains gaps ≤ ``tolerance`` instead
(the molecular mode analysis, ``vibrations.symmetry``, has always done so).
"""

from __future__ import annotations

import numpy as np

DEGENERACY_TOLERANCE = 1e-4
"""THz: phonopy's default cutoff for degenerate sets (``phonopy.phonon.degeneracy``), for frequencies in THz."""


def set_starts(frequencies, tolerance: float, strict: bool = True) -> np.ndarray:
    """(..., n) bool: True where a mode begins a new degenerate set (always at the first mode).

    Args:
        frequencies: (..., n) ascending along the last axis.
        tolerance: in the units of ``frequencies``; neighbours closer than it share a set.
        strict: neighbours chain when their gap is < ``tolerance`` (True) or ≤ ``tolerance`` (False).
    """
    f = np.asarray(frequencies)
    gaps = np.diff(f, axis=-1)
    split = gaps >= tolerance if strict else gaps > tolerance  # a NaN gap splits nothing
    return np.concatenate([np.ones(f.shape[:-1] + (min(f.shape[-1], 1),), bool), split], axis=-1)


def degenerate_sets(frequencies, tolerance: float, strict: bool = True) -> list[np.ndarray]:
    """Degenerate sets of one list of ascending frequencies, as (ascending) int index arrays.

    Args:
        frequencies: (n,) ascending, any unit.
        tolerance: same unit; consecutive frequencies closer than this (``strict``, as phonopy)
            or not farther apart (``strict=False``) are one set.
    """
    starts = set_starts(np.asarray(frequencies).reshape(-1), tolerance, strict)
    if len(starts) == 0:
        return []
    return np.split(np.arange(len(starts)), np.flatnonzero(starts)[1:])


def degenerate_set_bounds(frequencies, tolerance: float, strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For every mode, the first and one-past-the-last mode of its set, both (..., n) int.

    ``degenerate_sets`` applied along the last axis of (..., n) ascending frequencies, in a form
    for vectorised sums over sets: mode b's set is ``first[..., b]:stop[..., b]``.
    """
    starts = set_starts(frequencies, tolerance, strict)
    n = starts.shape[-1]
    bands = np.arange(n)
    first = np.maximum.accumulate(np.where(starts, bands, 0), axis=-1)
    ends = np.concatenate([starts[..., 1:], np.ones(starts.shape[:-1] + (min(n, 1),), bool)], axis=-1)
    stop = np.where(ends, bands + 1, n)
    stop = np.flip(np.minimum.accumulate(np.flip(stop, -1), axis=-1), -1)
    return first, stop
