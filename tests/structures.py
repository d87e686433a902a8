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
