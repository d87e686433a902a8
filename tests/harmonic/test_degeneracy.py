"""One rule for degenerate sets (``harmonic.degenerate_sets``) against a brute force and phonopy."""

import numpy as np
import pytest
from phonopy.phonon.degeneracy import degenerate_sets as phonopy_degenerate_sets

from phonax_fast.harmonic import DEGENERACY_TOLERANCE, degenerate_set_bounds, degenerate_sets


def _brute_force(frequencies, tolerance, strict):
    """Sets as the transitive closure of 'consecutive and close', by trying every pair."""
    n = len(frequencies)
    label = list(range(n))
    for i in range(n):
        for j in range(i + 1, n):
            gap = abs(frequencies[j] - frequencies[i])
            close = gap < tolerance if strict else gap <= tolerance
            if j == i + 1 and close:
                old = label[j]
                label = [label[i] if x == old else x for x in label]
    sets = {}
    for i, x in enumerate(label):
        sets.setdefault(x, []).append(i)
    return sorted(sets.values())


def _random_cases(rng, count):
    for _ in range(count):
        n = int(rng.integers(1, 15))
        # few distinct values on a coarse grid: exact ties, gaps of exactly the tolerance, chains
        f = np.sort(rng.integers(0, 12, n) * 0.5 + rng.choice([0.0, 0.25, 1e-5], n))
        yield f, float(rng.choice([1e-4, 0.25, 0.5, 0.75, 1.0]))


@pytest.mark.parametrize("strict", [True, False])
def test_degenerate_sets_equal_brute_force(strict):
    rng = np.random.default_rng(0)
    for f, tol in _random_cases(rng, 400):
        got = [s.tolist() for s in degenerate_sets(f, tol, strict=strict)]
        assert got == _brute_force(f, tol, strict), (f, tol)


def test_strict_rule_is_phonopys():
    rng = np.random.default_rng(1)
    for f, tol in _random_cases(rng, 400):
        got = [s.tolist() for s in degenerate_sets(f, tol)]
        assert got == phonopy_degenerate_sets(f, cutoff=tol)
    assert DEGENERACY_TOLERANCE == 1e-4
    f = np.array([1.0, 1.0 + 0.5e-4, 1.0 + 1.5e-4, 2.0])
    assert [s.tolist() for s in degenerate_sets(f, DEGENERACY_TOLERANCE)] == phonopy_degenerate_sets(f)


def test_gap_equal_to_tolerance():
    f = np.array([0.0, 0.5, 1.0, 2.0])
    assert [s.tolist() for s in degenerate_sets(f, 0.5)] == [[0], [1], [2], [3]]
    assert [s.tolist() for s in degenerate_sets(f, 0.5, strict=False)] == [[0, 1, 2], [3]]


def test_empty_and_single():
    assert degenerate_sets(np.zeros(0), 1e-4) == []
    assert [s.tolist() for s in degenerate_sets([3.0], 1e-4)] == [[0]]


@pytest.mark.parametrize("strict", [True, False])
def test_bounds_agree_with_sets(strict):
    rng = np.random.default_rng(2)
    cases = list(_random_cases(rng, 50))
    n = 10
    f = np.stack([np.sort(np.resize(c[0], n)) for c in cases])
    tol = 0.5
    first, stop = degenerate_set_bounds(f, tol, strict=strict)
    assert first.shape == stop.shape == f.shape
    for row, lo, hi in zip(f, first, stop):
        for s in degenerate_sets(row, tol, strict=strict):
            assert (lo[s] == s[0]).all() and (hi[s] == s[-1] + 1).all()
