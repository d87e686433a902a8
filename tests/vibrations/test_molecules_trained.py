"""The bundled molecular model (``pf.models.load("molecules")``, NequIP trained on GFN2-xTB data):
point groups, irreps and IR/Raman activity from the model's own Hessian at the model's own minimum,
checked against textbook decompositions and against GFN2-xTB (tblite, computed here) — the same
irreps in the same frequency order, frequencies within the model's documented accuracy."""

from collections import Counter

import numpy as np
import pytest
from ase.build import molecule

import phonax_fast as pf
from phonax_fast.vibrations import Vibrations
from test_vibrations import finite_difference_hessian

from studies.xtb_reference import fd_hessian, optimise, relax

TEXTBOOK = {
    "CH4": ("Td", {"A1": 1, "E": 2, "T2": 6}, {"A1": (False, True), "E": (False, True), "T2": (True, True)}),
    "H2O": ("C2v", {"A1": 2, "B2": 1}, {"A1": (True, True), "B2": (True, True)}),
    "CO2": ("D∞h", {"Σg+": 1, "Σu+": 1, "Πu": 2}, {"Σg+": (False, True), "Σu+": (True, False), "Πu": (True, False)}),
    "C6H6": (
        "D6h",
        {"A1g": 2, "A2g": 1, "B2g": 2, "E1g": 2, "E2g": 8, "A2u": 1, "B1u": 2, "B2u": 2, "E1u": 6, "E2u": 4},
        {"A1g": (False, True), "A2g": (False, False), "B2g": (False, False), "E1g": (False, True),
         "E2g": (False, True), "A2u": (True, False), "B1u": (False, False), "B2u": (False, False),
         "E1u": (True, False), "E2u": (False, False)},
    ),
}  # fmt: skip

# Frequency MAE against GFN2-xTB allowed here, cm⁻¹: the model card reports the measured errors
# (0.6–20 cm⁻¹ for these molecules); a model that learned nothing is off by hundreds.
MAX_MAE_CM1 = 40.0


@pytest.fixture(scope="module")
def model():
    return pf.models.load("molecules")


def summary(vib):
    """{label: number of modes}, {label: (IR, Raman)} over the vibrations."""
    counts = Counter(label for label in vib.irreps if label)
    rules = {label: (bool(ir), bool(ra)) for label, ir, ra in zip(vib.irreps, vib.ir_active, vib.raman_active) if label}
    return counts, rules


def test_bundled_model_knows_h_c_n_o(model):
    assert set(model.species) == {"H", "C", "N", "O"}


@pytest.mark.parametrize("name", list(TEXTBOOK))
def test_irreps_from_the_trained_models_own_hessian(model, name):
    """At the model's own minimum: the textbook point group, Γ_vib and selection rules, exact
    degeneracies, no imaginary modes; centrosymmetric molecules show mutual exclusion by themselves."""
    group, counts, rules = TEXTBOOK[name]
    vib = Vibrations(relax(molecule(name), pf.Calculator(model)), model)
    assert vib.point_group == group
    assert summary(vib) == (counts, rules)
    nu = vib.frequencies_cm1[~vib.zero_modes]
    assert np.all(nu > 50.0), nu  # a minimum: every vibration real (imaginary ones are negative here)
    for s in vib.degenerate_sets:  # BFGS stops at 1e-4 eV/Å: the geometry is symmetric to ~1e-6 Å
        assert np.ptp(vib.frequencies_cm1[s]) <= 1e-5 * np.abs(vib.frequencies_cm1[s]).max()
    if group in ("D∞h", "D6h"):
        assert not np.any(vib.ir_active & vib.raman_active)


@pytest.fixture(scope="module")
def xtb():
    """{name: Vibrations} of GFN2-xTB (tblite) at the GFN2-xTB minimum, finite-difference Hessian."""
    pytest.importorskip("tblite")
    out = {}
    for name in TEXTBOOK:
        atoms = optimise(molecule(name))
        # central differences of GFN2-xTB gradients split degenerate modes by up to a few 0.1 cm⁻¹
        out[name] = Vibrations(atoms, hessian=fd_hessian(atoms), degeneracy_tolerance=0.5)
    return out


@pytest.mark.parametrize("name", list(TEXTBOOK))
def test_trained_model_against_gfn2_xtb(model, xtb, name):
    """The model's Hessian at the GFN2-xTB minimum: frequencies close to GFN2-xTB's; for the small
    molecules (modes well apart) the irreps come in the same order of frequency as GFN2-xTB's."""
    ref = xtb[name]
    vib = Vibrations(ref.atoms, model)
    assert vib.point_group == ref.point_group
    nu, nu_ref = vib.frequencies_cm1[~vib.zero_modes], ref.frequencies_cm1[~ref.zero_modes]
    mae = np.abs(nu - nu_ref).mean()
    print(f"{name}: frequency MAE vs GFN2-xTB {mae:.1f} cm-1")
    assert mae < MAX_MAE_CM1
    if name != "C6H6":  # benzene has modes of different irreps within a few cm⁻¹ of each other
        assert [vib.irreps[i] for i in np.where(~vib.zero_modes)[0]] == [
            ref.irreps[i] for i in np.where(~ref.zero_modes)[0]
        ]


def test_trained_model_hessian_matches_its_finite_differences(model):
    """Frequencies from the autodiff Hessian agree with the model's own finite-difference Hessian
    within 0.1 cm⁻¹ (central differences of forces, ±1e-3 Å: O(h²) error well below that)."""
    atoms = relax(molecule("H2O"), pf.Calculator(model))
    vib = Vibrations(atoms, model)
    fd = Vibrations(atoms, hessian=finite_difference_hessian(atoms, pf.Calculator(model)))
    np.testing.assert_allclose(vib.frequencies_cm1[~vib.zero_modes], fd.frequencies_cm1[~fd.zero_modes], atol=0.1)


def test_cli_uses_the_bundled_molecular_model(tmp_path, capsys):
    """`phonax-fast vibrations` without --model: the bundled H/C/N/O model; other elements are
    refused with a message that names them, before anything is written."""
    from phonax_fast.cli import main

    molecule("H2O").write(tmp_path / "water.xyz")
    assert main(["vibrations", str(tmp_path / "water.xyz"), "--out", str(tmp_path / "out")]) == 0
    assert "Point group C2v" in capsys.readouterr().out
    molecule("SiH4").write(tmp_path / "silane.xyz")
    assert main(["vibrations", str(tmp_path / "silane.xyz"), "--out", str(tmp_path / "si")]) == 2
    err = capsys.readouterr().err
    assert "['Si']" in err and "--model" in err
    assert not (tmp_path / "si").exists()
