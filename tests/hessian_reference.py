"""An independent reference for force constants: ``jax.hessian`` of a periodic supercell's energy,
folded into the dynamical matrix at q-points commensurate with the supercell (exact there)."""

import jax
import jax.numpy as jnp
import numpy as np
from ase.build import make_supercell

from phonax_fast.graphs import periodic_graph


_HESSIANS: dict = {}  # the last few supercell Hessians: tests ask for several q-points of one supercell


def supercell_hessian(model, atoms, dims):
    """jax.hessian of the energy of the periodic ``dims`` supercell (ASE's make_supercell order),
    (3·N_sc, 3·N_sc) eV/Å²; remembered for the same model object, structure and dims."""
    key = (id(model), atoms.numbers.tobytes(), atoms.positions.tobytes(), atoms.cell[:].tobytes(), tuple(dims))
    if key not in _HESSIANS:
        sc = make_supercell(atoms, np.diag(dims))
        graph = periodic_graph(sc, model.cutoff, model.species)
        graph = jax.tree_util.tree_map(jnp.asarray, graph)
        h = jax.jit(jax.hessian(lambda x: model.energy(graph._replace(positions=x))))(graph.positions)
        if len(_HESSIANS) >= 4:
            _HESSIANS.pop(next(iter(_HESSIANS)))
        _HESSIANS[key] = (model, sc, np.asarray(h).reshape(3 * len(sc), 3 * len(sc)))  # the model keeps its id
    return _HESSIANS[key][1:]


def supercell_dynamical_matrix(model, atoms, dims, q):
    """D(q) by folding jax.hessian of the energy of a periodic ``dims`` supercell (exact at commensurate q)."""
    sc, h = supercell_hessian(model, atoms, dims)
    n = len(atoms)
    # supercell atom k is image of unit-cell atom k // prod(dims) in ASE's make_supercell ordering? map explicitly
    frac = np.linalg.solve(atoms.cell.T, sc.positions.T).T  # in unit-cell reduced coordinates
    unit = atoms.get_scaled_positions(wrap=False)
    atom_of = np.array([np.argmin(np.linalg.norm(((f - unit) + 0.5) % 1 - 0.5, axis=1)) for f in frac])
    origin = [np.where(atom_of == i)[0][0] for i in range(n)]
    m = atoms.get_masses()
    d = np.zeros((3 * n, 3 * n), complex)
    for i in range(n):
        a = origin[i]
        for b in range(len(sc)):
            j = atom_of[b]
            phase = np.exp(2j * np.pi * np.dot(q, frac[b] - frac[a]))
            d[3 * i : 3 * i + 3, 3 * j : 3 * j + 3] += h[3 * a : 3 * a + 3, 3 * b : 3 * b + 3] * phase / np.sqrt(m[i] * m[j])
    return d
