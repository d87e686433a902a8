"""Structures and small random-weight models shared by the tests."""

import numpy as np
from ase import Atoms
from ase.build import bulk

import phonax_fast as pf


def silicon() -> Atoms:
    """Diamond Si, 2-atom primitive cell, a = 5.43 Å."""
    return bulk("Si", "diamond", a=5.43)


def quaternary() -> Atoms:
    """An 8-atom, 4-element orthorhombic crystal (no symmetry assumed), slightly distorted rocksalt-like."""
    rng = np.random.default_rng(7)
    base = bulk("NaCl", "rocksalt", a=5.0, cubic=True)  # 8 atoms
    symbols = ["Na", "K", "Na", "K", "Cl", "Br", "Cl", "Br"]
    atoms = Atoms(symbols, positions=base.get_positions(), cell=np.diag([5.0, 5.1, 5.2]), pbc=True)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def random_nequip(species, cutoff=4.5, num_layers=3, lmax=2, channels=8, seed=0, **kw):
    return pf.models.NequIP.init(species, cutoff=cutoff, num_layers=num_layers, lmax=lmax, channels=channels, seed=seed, **kw)


def universal_structures() -> dict:
    """Structures across the periodic table for checking universal models against their reference
    implementations: H, a transition-metal oxide, heavy elements, a triclinic and a strongly strained
    cell, a slab with vacuum, molecules in a box, 1 to 96 atoms, rattled copies. {name: Atoms}."""
    from ase.build import fcc111, molecule

    rng = np.random.default_rng(11)
    out = {}
    out["Fe-bcc-1"] = bulk("Fe", "bcc", a=2.87)  # one atom
    out["Si-diamond"] = bulk("Si", "diamond", a=5.43)
    out["NaCl-rocksalt"] = bulk("NaCl", "rocksalt", a=5.64)
    out["LiH-rocksalt"] = bulk("LiH", "rocksalt", a=4.02)
    nio = bulk("NiO", "rocksalt", a=4.18, cubic=True)  # transition-metal oxide, 8 atoms
    nio.rattle(0.03, seed=1)
    out["NiO-rattled"] = nio
    out["CsPbI3-cubic"] = Atoms("CsPbI3", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5],
                                                          [0, 0.5, 0.5]], cell=np.eye(3) * 6.3, pbc=True)  # heavy
    tri = Atoms("MgAl2O4", scaled_positions=rng.uniform(size=(7, 3)),
                cell=[[5.1, 0.0, 0.0], [1.3, 4.8, 0.0], [0.9, 1.1, 5.3]], pbc=True)  # triclinic, no symmetry
    out["MgAl2O4-triclinic"] = _spread(tri, 1.7)
    cu = bulk("Cu", "fcc", a=3.61, cubic=True)
    cu.set_cell(cu.cell[:] @ (np.eye(3) + np.array([[0.08, 0.12, 0.0], [0.0, -0.07, 0.10], [0.05, 0.0, 0.09]])),
                scale_atoms=True)  # strongly strained
    out["Cu-strained"] = cu
    slab = fcc111("Al", size=(2, 2, 4), vacuum=8.0)
    slab.pbc = True
    out["Al111-slab"] = slab
    water = molecule("H2O")
    water.set_cell([9.0, 9.5, 10.0])
    water.center()
    water.pbc = True
    out["H2O-in-box"] = water
    ethanol = molecule("CH3CH2OH")
    ethanol.set_cell([11.0, 11.0, 11.0])
    ethanol.center()
    ethanol.pbc = False  # a molecule (no cell)
    out["ethanol-molecule"] = ethanol
    si64 = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))
    si64.rattle(0.05, seed=2)
    out["Si64-rattled"] = si64
    gan = bulk("GaN", "wurtzite", a=3.19, c=5.19).repeat((4, 3, 2))  # 96 atoms
    gan.rattle(0.04, seed=3)
    out["GaN96-rattled"] = gan
    tio2 = Atoms("Ti2O4", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5], [0.305, 0.305, 0], [0.695, 0.695, 0],
                                           [0.805, 0.195, 0.5], [0.195, 0.805, 0.5]],
                 cell=[4.594, 4.594, 2.959], pbc=True)  # rutile
    tio2.rattle(0.02, seed=4)
    out["TiO2-rutile-rattled"] = tio2
    return out


def _spread(atoms: Atoms, min_distance: float) -> Atoms:
    """Push random atoms apart (a few steepest-descent steps of a soft repulsion) until every pair is
    at least ``min_distance`` Å apart, so random structures stay physical enough for a model."""
    from ase.geometry import get_distances

    atoms = atoms.copy()
    for _ in range(500):
        vectors, d = get_distances(atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        np.fill_diagonal(d, np.inf)
        if d.min() >= min_distance:
            return atoms
        push = np.where(d < min_distance, min_distance - d, 0.0)[:, :, None] * vectors / d[:, :, None]
        atoms.positions -= 0.5 * push.sum(axis=1)
    raise RuntimeError("could not spread the atoms apart")
