"""Small checks of the q-grid engine's inputs and bookkeeping (no reference data needed)."""

import numpy as np
import pytest

from phonax_fast.harmonic.force_constants import ForceConstants
from phonax_fast.qgrid import MeshSolver, make_mesh, mesh_dos, mesh_projected_dos, regular_mesh

CELL = np.diag([3.0, 3.0, 3.0])


@pytest.fixture(scope="module")
def chain():
    """A simple-cubic crystal of one atom with nearest-neighbour springs (k = 1 eV/Å²)."""
    translations = np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    fc = np.zeros((1, 7, 3, 3))
    fc[0, 0] = 6 * np.eye(3)
    fc[0, 1:] = -np.eye(3)
    return ForceConstants(fc, translations, CELL, np.zeros((1, 3)), np.array([28.0]), np.array([14]))


def test_irreducible_points_stand_for_their_grid_points(chain):
    for shift in ((0, 0, 0), (1, 1, 1)):
        qmesh = regular_mesh(CELL, [[0, 0, 0]], [1], 6, shift=shift)
        assert qmesh.weights.sum() == 216 and len(qmesh.qpoints) < 216
        assert (qmesh.gamma_index is None) == any(shift)
        grid_q = (qmesh.grid_address + np.array(shift) / 2) / 6
        np.testing.assert_allclose(chain.frequencies(grid_q), chain.frequencies(qmesh.qpoints[qmesh.grid_map]),
                                   atol=1e-7)


def test_bad_mesh_input_is_rejected():
    for mesh in [(4, 0, 4), 4.5, (4, 4)]:
        with pytest.raises(ValueError, match="mesh must be 1 or 3 positive integers"):
            regular_mesh(CELL, [[0, 0, 0]], [1], mesh)
    for shift in [(0, 2, 0), 0.5]:  # a half step is shift 1, not 0.5
        with pytest.raises(ValueError, match="shift 0 or 1"):
            regular_mesh(CELL, [[0, 0, 0]], [1], 4, shift=shift)
    assert regular_mesh(CELL, [[0, 0, 0]], [1], 4, shift=True).shift.tolist() == [1, 1, 1]


def test_bad_options_are_rejected(chain):
    with pytest.raises(ValueError, match="method"):
        mesh_dos(chain, 4, method="histogram", progress=None)
    with pytest.raises(ValueError, match="eigensolver"):
        MeshSolver(chain, eigensolver="lapack")
    with pytest.raises(ValueError, match="projection"):
        mesh_projected_dos(chain, 4, projection="orbital", progress=None)
    with pytest.raises(ValueError, match="direction"):
        mesh_projected_dos(chain, 4, projection="xyz", direction=[1, 0, 0], progress=None)


def test_frequencies_at_mesh_points_are_the_force_constants(chain):
    qmesh = make_mesh(chain, 5)
    for solver in ("host", "jax"):
        got = MeshSolver(chain, eigensolver=solver, progress=None).frequencies(qmesh.qpoints)
        # at Γ the acoustic frequencies are √(round-off of D) ≈ 1e-7 THz on either side
        np.testing.assert_allclose(got, chain.frequencies(qmesh.qpoints), atol=1e-6)
        assert MeshSolver(chain, eigensolver=solver, progress=None).frequencies([]).shape == (0, got.shape[1])


def test_dos_integrates_to_three_modes(chain):
    for method in ("tetrahedron", "gaussian"):
        freqs, dos = mesh_dos(chain, 12, method=method, progress=None)
        assert np.trapezoid(dos, freqs) == pytest.approx(3.0, rel=2e-3)
