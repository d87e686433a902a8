"""The C++ linear tetrahedron method against a NumPy transcription of phonopy's formulas, and the
projections it weighs, which must not depend on the basis chosen inside degenerate subspaces."""

import numpy as np
import pytest

from phonax_fast.qgrid.dos import average_over_degenerate_modes
from phonax_fast.qgrid.mesh import regular_mesh
from phonax_fast.qgrid.tetrahedron import TetrahedronMesh, relative_grid_addresses

EPS = 1e-10  # phonopy's THM_EPSILON


def _f(v, w, n, m):
    d = v[..., n] - v[..., m]
    return np.where(np.abs(d) < EPS, 0.0, (w - v[..., m]) / np.where(np.abs(d) < EPS, 1.0, d))


def reference_weights(values, mesh, relative, grid_points, freqs):
    """(n_points, n_freq, n_band) DOS weights, vectorised NumPy version of phonopy's I·g sums."""
    n0, n1, n2 = mesh
    g = np.asarray(grid_points)
    address = np.stack([g % n0, g // n0 % n1, g // (n0 * n1)], axis=-1)  # (P, 3)
    vert = (address[:, None, None, :] + relative[None]) % mesh  # (P, 24, 4, 3)
    index = vert[..., 0] + n0 * (vert[..., 1] + n1 * vert[..., 2])
    v = np.moveaxis(values[index], -1, 1)  # (P, B, 24, 4)
    order = np.argsort(v, axis=-1, kind="stable")
    v = np.take_along_axis(v, order, axis=-1)
    c = np.argmax(order == 0, axis=-1)  # rank of the central vertex
    out = np.zeros((len(g), len(freqs), values.shape[1]))
    for k, w in enumerate(freqs):
        f = {(n, m): _f(v, w, n, m) for n in range(4) for m in range(4) if n != m}
        span = v[..., 3] - v[..., 0]
        span = np.where(span == 0, 1.0, span)
        b1 = np.stack([(f[0, 1] + f[0, 2] + f[0, 3]), f[1, 0], f[2, 0], f[3, 0]], -1) / 3
        g1 = 3 * f[1, 0] * f[2, 0] / span
        den = f[1, 2] * f[2, 0] + f[2, 1] * f[1, 3]
        safe = np.where(den < EPS, 1.0, den)
        b2 = np.stack([f[0, 3] + f[0, 2] * f[2, 0] * f[1, 2] / safe, f[1, 2] + f[1, 3] ** 2 * f[2, 1] / safe,
                       f[2, 1] + f[2, 0] ** 2 * f[1, 2] / safe, f[3, 0] + f[3, 1] * f[1, 3] * f[2, 1] / safe], -1) / 3
        b2 = np.where((den < EPS)[..., None], 0.0, b2)
        g2 = 3 / span * den
        b3 = np.stack([f[0, 3], f[1, 3], f[2, 3], f[3, 0] + f[3, 1] + f[3, 2]], -1) / 3
        g3 = 3 * f[1, 3] * f[2, 3] / span
        pick = lambda b: np.take_along_axis(b, c[..., None], -1)[..., 0]  # noqa: E731
        val = np.select(
            [w < v[..., 0], w < v[..., 1], w < v[..., 2], w < v[..., 3]],
            [0.0, pick(b1) * g1, pick(b2) * g2, pick(b3) * g3],
            0.0,
        )
        out[:, k, :] = val.sum(axis=-1) / 6
    return out


@pytest.fixture(scope="module")
def grid():
    rng = np.random.default_rng(3)
    mesh = np.array([4, 5, 3])
    cell = np.array([[3.0, 0.2, 0.0], [0.5, 4.0, 0.1], [0.0, 0.3, 5.0]])
    values = rng.normal(size=(int(np.prod(mesh)), 4)).cumsum(axis=1)
    values[::7, 1] = values[::7, 0]  # degenerate bands
    values[5] = 0.0  # a flat vertex
    return mesh, cell, values


def test_relative_addresses_are_phonopys(grid):
    _, cell, _ = grid
    from phonopy.phonon.tetrahedron_method import TetrahedronMethod

    for mesh in ([4, 5, 3], [6, 6, 6], [2, 9, 4]):
        ours = relative_grid_addresses(cell, mesh)
        theirs = TetrahedronMethod(np.linalg.inv(cell), mesh=mesh).tetrahedra
        assert (ours[:, 0] == 0).all()
        as_set = lambda t: sorted(sorted(map(tuple, x)) for x in t)  # noqa: E731
        assert as_set(ours) == as_set(theirs)


def test_weights_match_numpy_reference(grid):
    mesh, cell, values = grid
    qmesh = regular_mesh(cell, [[0, 0, 0]], [1], mesh, symmetry=False, time_reversal=False)
    tm = TetrahedronMesh(qmesh, cell, values)
    freqs = np.linspace(values.min() - 0.1, values.max() + 0.1, 57)
    freqs = np.sort(np.concatenate([freqs, values[:3].ravel()]))  # sampling points on vertices
    points = np.arange(qmesh.n_grid)
    ours = tm.weights(points, freqs)
    ref = reference_weights(values, mesh, tm.relative, points, freqs)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    dos = tm.total_dos(freqs)
    np.testing.assert_allclose(dos, ours.sum(axis=(0, 2)) / qmesh.n_grid, rtol=1e-12, atol=1e-14)


def test_dos_integrates_to_number_of_bands(grid):
    mesh, cell, values = grid
    qmesh = regular_mesh(cell, [[0, 0, 0]], [1], mesh, symmetry=False, time_reversal=False)
    freqs = np.linspace(values.min() - 0.01, values.max() + 0.01, 20001)
    dos = TetrahedronMesh(qmesh, cell, values).total_dos(freqs)
    assert np.trapezoid(dos, freqs) == pytest.approx(values.shape[1], rel=1e-4)


def test_rejects_unsorted_frequency_points(grid):
    mesh, cell, values = grid
    qmesh = regular_mesh(cell, [[0, 0, 0]], [1], mesh, symmetry=False, time_reversal=False)
    with pytest.raises(ValueError, match="ascending"):
        TetrahedronMesh(qmesh, cell, values).total_dos([1.0, 0.0])


def _random_unitary(rng, n):
    q, r = np.linalg.qr(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def test_degenerate_modes_share_projections():
    """Two bases of the same degenerate subspaces (sets {0,1} and {3,4,5}; 2 is 2e-4 THz from 1,
    above the 1e-4 THz tolerance) give different per-mode projections but the same averages, which
    are the per-set means computed by hand."""
    rng = np.random.default_rng(7)
    frequencies = np.array([[1.0, 1.0, 1.0002, 3.0, 3.0 + 5e-5, 3.0 + 8e-5]])
    vectors = _random_unitary(rng, 6)
    rotation = np.eye(6, dtype=complex)
    rotation[:2, :2] = _random_unitary(rng, 2)
    rotation[3:, 3:] = _random_unitary(rng, 3)
    projections = np.eye(6)[[0, 2, 4]] + np.eye(6)[[1, 3, 5]]  # 3 "atoms" of 2 components
    weights = [np.einsum("pc,cb->pb", projections, np.abs(v) ** 2)[None] for v in (vectors, vectors @ rotation)]
    assert np.abs(weights[0] - weights[1]).max() > 1e-2  # the bases differ visibly
    averaged = [average_over_degenerate_modes(w, frequencies) for w in weights]
    np.testing.assert_allclose(averaged[0], averaged[1], rtol=0, atol=1e-14)
    by_hand = weights[0][0].copy()
    for modes in ([0, 1], [3, 4, 5]):
        by_hand[:, modes] = by_hand[:, modes].mean(axis=1, keepdims=True)
    np.testing.assert_allclose(averaged[0][0], by_hand, rtol=0, atol=1e-15)
