"""One cached crystal symmetry (``harmonic.crystal_symmetry``): the cache, the atom permutations
and lattice shifts against a brute-force matching, and site symmetry."""

import numpy as np
import pytest
from ase.build import bulk
from ase.spacegroup import crystal
from ase.spacegroup.symmetrize import refine_symmetry

from phonax_fast.harmonic import CrystalSymmetry, crystal_symmetry
from phonax_fast.harmonic.symmetry import MATCH_FACTOR


def _rattled_then_symmetric(atoms, seed):
    """``atoms`` rattled off its symmetry, symmetrised again (ase's ``refine_symmetry``, so the
    positions are generic within their Wyckoff orbits) and the atoms shuffled."""
    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    atoms.positions += rng.normal(scale=0.003, size=atoms.positions.shape)
    refine_symmetry(atoms, symprec=0.02)
    atoms = atoms[rng.permutation(len(atoms))]
    atoms.positions += rng.uniform(-0.5, 0.5, 3)  # an origin off the symmetry elements
    return atoms


STRUCTURES = {
    "si-conventional": lambda: bulk("Si", "diamond", a=5.43, cubic=True),
    "rutile-112": lambda: crystal(["Ti", "O"], basis=[(0, 0, 0), (0.3, 0.3, 0)], spacegroup=136,
                                  cellpar=[4.6, 4.6, 2.95, 90, 90, 90]) * (1, 1, 2),
    "wurtzite-211": lambda: bulk("ZnO", "wurtzite", a=3.25, c=5.2) * (2, 1, 1),
}


def _brute_force(scaled, numbers, rotation, translation, tolerance):
    """π and t for one operation by trying every pair of atoms, or None if not one to one."""
    n = len(scaled)
    pi, t = [], []
    for a in range(n):
        image = rotation @ scaled[a] + translation
        hits = []
        for b in range(n):
            d = image - scaled[b]
            if numbers[a] == numbers[b] and all(abs(x - round(x)) < tolerance for x in d):
                hits.append(b)
        if len(hits) != 1:
            return None
        pi.append(hits[0])
        t.append([round(x) for x in image - scaled[hits[0]]])
    return np.array(pi), np.array(t)


def test_cache_returns_the_same_object():
    si = bulk("Si", "diamond", a=5.43)
    first = crystal_symmetry(si.cell[:], si.get_scaled_positions(), si.numbers, 1e-5)
    assert isinstance(first, CrystalSymmetry)
    again = crystal_symmetry(np.array(si.cell[:]), si.get_scaled_positions().copy(), list(si.numbers), 1e-5)
    assert again is first
    assert crystal_symmetry(si.cell[:], si.get_scaled_positions(), si.numbers, 1e-3) is not first
    assert not first.equivalent_atoms.flags.writeable and not first.rotations.flags.writeable


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_permutations_match_brute_force(name):
    atoms = _rattled_then_symmetric(STRUCTURES[name](), seed=len(name))
    scaled, numbers = atoms.get_scaled_positions(wrap=False), atoms.numbers
    sym = crystal_symmetry(atoms.cell[:], scaled, numbers, 1e-5)
    assert len(sym.point_group) > 1  # not only pure translations: rotations act
    permutations, lattice_shifts = sym.atom_maps(np.arange(sym.n_ops))
    for k in range(sym.n_ops):
        expected = _brute_force(scaled, numbers, sym.rotations[k], sym.translations[k], MATCH_FACTOR * 1e-5)
        assert expected is not None
        np.testing.assert_array_equal(permutations[k], expected[0])
        np.testing.assert_array_equal(lattice_shifts[k], expected[1])
        # the operation maps every atom onto its image to round-off
        image = scaled @ sym.rotations[k].T + sym.translations[k]
        np.testing.assert_allclose(image, scaled[permutations[k]] + lattice_shifts[k], rtol=0, atol=1e-6)
        assert sorted(permutations[k]) == list(range(len(atoms)))
    # orbits: every atom is the image of its representative under some operation
    reached = permutations[:, sym.equivalent_atoms] == np.arange(len(atoms))
    assert reached.any(axis=0).all()


def test_silicon_site_symmetry_is_td():
    si = bulk("Si", "diamond", a=5.43)
    sym = crystal_symmetry(si.cell[:], si.get_scaled_positions(), si.numbers)
    assert sym.n_ops == 48
    for i in range(2):
        ops = sym.site_symmetry(i)
        assert len(ops) == 24
        assert (sym.images(ops, [i])[0] == i).all()
        assert len(np.unique(sym.rotations[ops], axis=0)) == 24
        assert not (sym.rotations[ops] == -np.eye(3, dtype=int)).all(axis=(1, 2)).any()  # Td: no inversion
    assert len(sym.point_group) == 48

