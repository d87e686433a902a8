"""Point groups, irreps of normal modes and IR/Raman selection rules of molecules."""

from collections import Counter

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule
from ase.calculators.emt import EMT

from phonax_fast.vibrations import Vibrations, find_point_group
from phonax_fast.vibrations.irreps import apply_operation
from structures import random_nequip
from test_vibrations import finite_difference_hessian


@pytest.mark.parametrize(
    "name, group",
    [
        ("CH4", "Td"), ("C6H6", "D6h"), ("H2O", "C2v"), ("CO2", "D∞h"), ("HCN", "C∞v"), ("NH3", "C3v"),
        ("C2H4", "D2h"), ("C2H6", "D3d"), ("BF3", "D3h"), ("C3H4_D2d", "D2d"), ("CH3CH2OH", "Cs"),
        ("trans-butane", "C2h"), ("SiH4", "Td"), ("C5H5N", "C2v"),
    ],
)  # fmt: skip
def test_point_group_detection(name, group):
    m = molecule(name)
    assert find_point_group(m.numbers, m.positions, m.get_masses()).name == group


def test_point_group_tolerance():
    m = molecule("CH4")
    m.positions += np.random.default_rng(0).normal(scale=1e-3, size=m.positions.shape)
    assert find_point_group(m.numbers, m.positions, m.get_masses(), tolerance=0.01).name == "Td"
    assert find_point_group(m.numbers, m.positions, m.get_masses(), tolerance=1e-5).name == "C1"
    isotope = m.get_masses()
    isotope[1] = 2.014  # one deuterium: C3v
    assert find_point_group(m.numbers, m.positions, isotope, tolerance=0.01).name == "C3v"


def emt_vibrations(name):
    """Vibrations of an ase molecule with the Hessian of ASE's EMT (an independent invariant potential)."""
    m = molecule(name)
    return Vibrations(m, hessian=finite_difference_hessian(m, EMT()))


def summary(vib):
    """{label: number of modes}, {label: (IR, Raman)} over the vibrations."""
    counts = Counter(label for label in vib.irreps if label)
    rules = {label: (bool(ir), bool(ra)) for label, ir, ra in zip(vib.irreps, vib.ir_active, vib.raman_active) if label}
    return counts, rules


def test_water_c2v():
    counts, rules = summary(emt_vibrations("H2O"))
    assert counts == {"A1": 2, "B2": 1}
    assert all(rule == (True, True) for rule in rules.values())


def test_co2_linear():
    vib = emt_vibrations("CO2")
    counts, rules = summary(vib)
    assert vib.point_group == "D∞h" and vib.zero_modes.sum() == 5
    assert counts == {"Σg+": 1, "Σu+": 1, "Πu": 2}
    assert rules == {"Σg+": (False, True), "Σu+": (True, False), "Πu": (True, False)}


def test_hcn_linear_without_inversion():
    counts, rules = summary(emt_vibrations("HCN"))
    assert counts == {"Σ+": 2, "Π": 2}
    assert all(rule == (True, True) for rule in rules.values())


def test_benzene_mutual_exclusion():
    vib = emt_vibrations("C6H6")
    counts, rules = summary(vib)
    # Wilson's benzene: C2' through the carbon atoms gives 2B2g, 2B1u, 2B2u
    assert counts == {
        "A1g": 2, "A2g": 1, "B2g": 2, "E1g": 2, "E2g": 8, "A2u": 1, "B1u": 2, "B2u": 2, "E1u": 6, "E2u": 4,
    }  # fmt: skip
    assert not np.any(vib.ir_active & vib.raman_active)
    assert {label for label, (ir, _) in rules.items() if ir} == {"A2u", "E1u"}
    assert {label for label, (_, raman) in rules.items() if raman} == {"A1g", "E1g", "E2g"}


def test_ammonia_and_ethane():
    counts, rules = summary(emt_vibrations("NH3"))
    assert counts == {"A1": 2, "E": 4} and all(r == (True, True) for r in rules.values())
    counts, rules = summary(emt_vibrations("C2H6"))
    assert counts == {"A1g": 3, "A1u": 1, "A2u": 2, "Eg": 6, "Eu": 6}
    assert rules == {"A1g": (False, True), "Eg": (False, True), "A1u": (False, False), "A2u": (True, False), "Eu": (True, False)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["H2O", "CO2", "C6H6"])
def test_random_nequip_gives_symmetric_degeneracies(name):
    """Any E(3)-invariant model's Hessian carries the point-group symmetry: every set is one irrep."""
    m = molecule(name)
    model = random_nequip(sorted(set(m.get_chemical_symbols())), cutoff=4.0, num_layers=2, lmax=2, channels=4, seed=3)
    vib = Vibrations(m, model)
    reference = emt_vibrations(name)
    assert summary(vib) == summary(reference)
    for s in vib.degenerate_sets:
        f = vib.frequencies_cm1[s]
        assert np.ptp(f) <= 1e-5 * max(np.abs(f).max(), 1.0)


def test_accidental_degeneracy_is_split_into_irreps():
    """CH4 with a Hessian rebuilt so that the A1 and E vibrations coincide: still A1 + E, not '?'."""
    m = molecule("CH4")
    vib = emt_vibrations("CH4")
    a1 = vib.irreps.index("A1")
    e = vib.irreps.index("E")
    lam = vib.eigenvalues.copy()
    lam[a1] = lam[e]
    u = vib.mass_weighted_modes.T  # columns
    sqrt_m = np.repeat(np.sqrt(m.get_masses()), 3)
    hessian = sqrt_m[:, None] * (u @ np.diag(lam) @ u.T) * sqrt_m[None, :]
    degenerate = Vibrations(m, hessian=hessian)
    counts, rules = summary(degenerate)
    assert counts == {"A1": 1, "E": 2, "T2": 6}
    assert rules == {"A1": (False, True), "E": (False, True), "T2": (True, True)}
    assert any(len(s) == 1 and degenerate.irreps[s[0]] == "A1" for s in degenerate.degenerate_sets)


def symmetrised_random_hessian(atoms, seed=0):
    """A random symmetric (3N, 3N) matrix averaged over the point group: a generic invariant Hessian."""
    group = find_point_group(atoms.numbers, atoms.positions, atoms.get_masses())
    a = np.random.default_rng(seed).normal(size=(3 * len(atoms), 3 * len(atoms)))
    a = a @ a.T
    h = sum(apply_operation(group, g, apply_operation(group, g, a).T).T for g in range(group.order)) / group.order
    return 0.5 * (h + h.T)


def octahedral_sf6():
    d = 1.56
    return Atoms("SF6", positions=[[0, 0, 0], [d, 0, 0], [-d, 0, 0], [0, d, 0], [0, -d, 0], [0, 0, d], [0, 0, -d]])


@pytest.mark.parametrize(
    "name, counts, ir, raman",
    [
        ("BF3", {"A1'": 1, "A2''": 1, "E'": 4}, {"A2''", "E'"}, {"A1'", "E'"}),
        ("C3H4_D2d", {"A1": 3, "B1": 1, "B2": 3, "E": 8}, {"B2", "E"}, {"A1", "B1", "B2", "E"}),
        ("C2H2", {"Σg+": 2, "Σu+": 1, "Πg": 2, "Πu": 2}, {"Σu+", "Πu"}, {"Σg+", "Πg"}),
        ("C3H6_D3h", {"A1'": 3, "A1''": 1, "A2'": 1, "A2''": 2, "E'": 8, "E''": 6}, {"A2''", "E'"}, {"A1'", "E'", "E''"}),
        ("SF6", {"A1g": 1, "Eg": 2, "T1u": 6, "T2g": 3, "T2u": 3}, {"T1u"}, {"A1g", "Eg", "T2g"}),
        ("C2H4", {"Ag": 3, "Au": 1, "B1u": 2, "B2g": 1, "B2u": 2, "B3g": 2, "B3u": 1}, {"B1u", "B2u", "B3u"}, {"Ag", "B2g", "B3g"}),
    ],
)  # fmt: skip
def test_textbook_decompositions(name, counts, ir, raman):
    """Γ_vib and selection rules of textbook molecules (D2h with Mulliken's axes: x ⊥ plane, z along C=C)."""
    atoms = octahedral_sf6() if name == "SF6" else molecule(name)
    vib = Vibrations(atoms, hessian=symmetrised_random_hessian(atoms))
    got, rules = summary(vib)
    assert got == counts
    assert {label for label, (a, _) in rules.items() if a} == ir
    assert {label for label, (_, b) in rules.items() if b} == raman


@pytest.mark.slow
@pytest.mark.parametrize("name", ["H2O", "NH3", "C2H4", "C2H6"])
def test_labels_agree_with_posym(name):
    """posym (its own character tables and orientation search, given our point group) labels each mode alike."""
    posym = pytest.importorskip("posym")
    vib = emt_vibrations(name)
    atoms = vib.atoms
    modes = np.where(~vib.zero_modes)[0]
    theirs = posym.SymmetryNormalModes(
        group=vib.point_group, coordinates=atoms.positions, modes=[vib.modes[i] for i in modes], symbols=atoms.get_chemical_symbols()
    )
    # posym writes a mode of a d-dimensional irrep as "1/d LABEL" (e.g. "0.5 E")
    assert [str(theirs.get_state_mode(k)).split()[-1] for k in range(len(modes))] == [vib.irreps[i] for i in modes]
