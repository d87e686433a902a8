"""IR intensities, Raman activities and depolarisation ratios of molecular normal modes (issue 16.3).

Against finite differences of the dipole and polarizability of the same field model along its
normal modes, under a rotation of the molecule, the unit conversions against scipy.constants and
ase.units, a diatomic worked by hand; models without a field give None, and the CLI writes the
intensities and spectra only for field models.
"""

import json

import ase.units as au
import numpy as np
import pytest
import scipy.constants as sc
from ase import Atoms
from ase.build import molecule
from scipy.spatial.transform import Rotation

import phonax_fast as pf
from phonax_fast import dielectric
from phonax_fast.cli import main
from phonax_fast.graphs import periodic_graph
from phonax_fast.plotting import plot_ir_raman_spectrum
from phonax_fast.vibrations import Vibrations
from phonax_fast import units
from phonax_fast.vibrations import intensities as ints
from structures import random_nequip

SPECIES = ["H", "C", "O"]
HYPER = dict(cutoff=2.8, num_layers=1, lmax=2, channels=4)


@pytest.fixture(scope="module")
def field_model():
    return pf.models.FieldNequIP.init(SPECIES, field_order=2, seed=3, **HYPER)


@pytest.fixture(scope="module")
def water(field_model):
    atoms = molecule("H2O")
    return atoms, Vibrations(atoms, field_model)


def anisotropy(a):
    """γ'² by its component formula (independent of the module's (3/2)·tr(d²))."""
    return 0.5 * ((a[0, 0] - a[1, 1]) ** 2 + (a[1, 1] - a[2, 2]) ** 2 + (a[2, 2] - a[0, 0]) ** 2
                  + 6 * (a[0, 1] ** 2 + a[1, 2] ** 2 + a[2, 0] ** 2))


def test_unit_conversions_against_scipy_and_ase():
    """km/mol per e²/amu = N_A e²/(12 ε₀ c² u); 42.2561 km/mol per (D/Å)²/amu with 1 e·Å = 4.80320 D;
    α[Å³] = α[e·Å²/V] · e²/(4πε₀) in eV·Å (ASE's Hartree·Bohr)."""
    expected = sc.N_A * sc.e**2 / (12 * sc.epsilon_0 * sc.c**2 * sc.atomic_mass) / 1e3
    assert units.KM_PER_MOL_PER_E2_PER_AMU == pytest.approx(expected, rel=1e-8)  # CODATA 2018 vs scipy's
    assert units.KM_PER_MOL_PER_E2_PER_AMU == pytest.approx(974.880, abs=1e-3)
    debye = 1e-21 / sc.c  # C·m
    assert units.DEBYE_PER_E_ANGSTROM == pytest.approx(sc.e * 1e-10 / debye, rel=1e-12)
    assert units.DEBYE_PER_E_ANGSTROM == pytest.approx(au._e * 1e-10 / (1e-21 / au._c), rel=1e-8)
    assert units.DEBYE_PER_E_ANGSTROM == pytest.approx(4.80320, abs=1e-5)
    assert units.KM_PER_MOL_PER_DEBYE2_PER_ANGSTROM2_PER_AMU == pytest.approx(42.2561, abs=1e-4)
    assert 42.2561 * 4.80320**2 == pytest.approx(units.KM_PER_MOL_PER_E2_PER_AMU, rel=5e-6)
    assert units.ANGSTROM3_PER_E_ANGSTROM2_PER_V == pytest.approx(au.Hartree * au.Bohr, rel=1e-7)
    assert units.ANGSTROM3_PER_E_ANGSTROM2_PER_V == pytest.approx(sc.e / (4 * sc.pi * sc.epsilon_0 * 1e-10), rel=1e-8)


def test_diatomic_by_hand():
    """Charges ∓q on a diatomic along z and dα_zz/dr = a: one stretch with u = e/√m, dr/dQ = 1/√μ,
    so dμ/dQ = q/√μ (IR = K q²/μ), dα/dQ = (a/√μ)·diag(0, 0, 1) (a' = a/(3√μ), γ'² = a²/μ, S = 12 a²/μ
    in the converted units), ρ = 3γ'²/(45a'² + 4γ'²) = 1/3."""
    m1, m2, k, q, a = 12.0, 16.0, 50.0, 0.3, 0.02  # amu, amu, eV/Å², e, e·Å/V per Å
    atoms = Atoms("CO", positions=[[0, 0, 0], [0, 0, 1.13]])
    atoms.set_masses([m1, m2])
    hessian = np.zeros((6, 6))
    hessian[2, 2] = hessian[5, 5] = k
    hessian[2, 5] = hessian[5, 2] = -k
    dp_dx = np.zeros((2, 3, 3))
    dp_dx[:, :, :] = np.eye(3) * np.array([-q, q])[:, None, None]  # Z* = ∓q·1: dP_α/dx_iβ = Z_i δ_αβ
    da_dx = np.zeros((2, 3, 3, 3))
    da_dx[0, 2, 2, 2], da_dx[1, 2, 2, 2] = -a, a
    vib = Vibrations(atoms, hessian=hessian, dipole_derivatives=dp_dx, polarizability_derivatives=da_dx)
    mu = m1 * m2 / (m1 + m2)
    stretch = ~vib.zero_modes & (np.abs(vib.frequencies_cm1) > 1)
    assert vib.zero_modes.sum() == 5 and stretch.sum() == 1 and len(stretch) == 6
    assert vib.frequencies_cm1[stretch][0] == pytest.approx(pf.units.eigenvalues_to_cm1(k / mu), rel=1e-10)
    assert vib.ir_intensities[stretch][0] == pytest.approx(units.KM_PER_MOL_PER_E2_PER_AMU * q**2 / mu, rel=1e-10)
    conv = units.ANGSTROM3_PER_E_ANGSTROM2_PER_V
    assert vib.raman_activities[stretch][0] == pytest.approx(12 * (conv * a) ** 2 / mu, rel=1e-10)
    assert vib.depolarization_ratios[stretch][0] == pytest.approx(1 / 3, rel=1e-10)
    for values in (vib.ir_intensities, vib.raman_activities, vib.depolarization_ratios):
        assert np.all(np.isnan(values[vib.zero_modes]))  # translations and rotations are not vibrations
    ir_only = Vibrations(atoms, hessian=hessian, dipole_derivatives=dp_dx)  # no dα/dx: IR only, one panel
    assert ir_only.raman_activities is None and ir_only.spectra()[2] is None
    np.testing.assert_array_equal(ir_only.ir_intensities, vib.ir_intensities)
    assert len(plot_ir_raman_spectrum(ir_only).axes) == 1


def test_intensities_match_finite_differences_along_normal_modes(water, field_model):
    """dμ/dQ and dα/dQ by central differences of dielectric.field_response's P and α at displaced
    geometries x + s·h·e_k/√m, s = ±1, ±2 (h = 1e-3 amu^½·Å, ≤ 1e-3 Å per atom), then the IR
    formula and the Raman invariants by their component formulas.

    The fourth-order stencil is needed: this random model's α varies rapidly with x, and the
    second-order one's truncation error (h²/6 · d³α/dQ³) measured 2e-5 to 9e-5 of dα/dQ at h = 1e-3
    (scaling as h², 4e-4 to 1e-3 at h = 4e-3), i.e. up to 2e-4 of a Raman activity. Fourth order:
    truncation ~h⁴, rounding ~1e-16/h ≈ 1e-13 (measured: 3e-10 on IR, 9e-9 on Raman, 7e-10 on ρ);
    1e-6 relative to the largest intensity (and 1e-6 absolute on ρ) leaves a 100× margin while
    catching any wrong factor, mass weighting or axis."""
    atoms, vib = water
    masses = atoms.get_masses()
    h = 1e-3

    def p_alpha(positions):
        displaced = atoms.copy()
        displaced.positions = positions
        graph = periodic_graph(displaced, field_model.cutoff, field_model.species)
        r = dielectric.field_response(field_model, graph, order=2)  # order 2: Vibrations' compiled function
        return np.asarray(r.dipole), np.asarray(r.polarizability)

    x0 = atoms.get_positions()
    ir, raman, rho = [], [], []
    modes = np.flatnonzero(~vib.zero_modes)
    for k in modes:
        u = (vib.mass_weighted_modes[k] / np.repeat(np.sqrt(masses), 3)).reshape(-1, 3)
        (pm2, am2), (pm1, am1), (p1, a1), (p2, a2) = (p_alpha(x0 + s * h * u) for s in (-2, -1, 1, 2))
        dmu = (pm2 - 8 * pm1 + 8 * p1 - p2) / (12 * h)
        da = units.ANGSTROM3_PER_E_ANGSTROM2_PER_V * (am2 - 8 * am1 + 8 * a1 - a2) / (12 * h)
        iso, aniso = np.trace(da) / 3, anisotropy(da)
        ir.append(units.KM_PER_MOL_PER_E2_PER_AMU * dmu @ dmu)
        raman.append(45 * iso**2 + 7 * aniso)
        rho.append(3 * aniso / (45 * iso**2 + 4 * aniso))
    ir, raman = np.array(ir), np.array(raman)
    assert ir.max() > 1.0 and raman.max() > 1.0  # a test of something
    np.testing.assert_allclose(vib.ir_intensities[modes], ir, rtol=0, atol=1e-6 * ir.max())
    np.testing.assert_allclose(vib.raman_activities[modes], raman, rtol=0, atol=1e-6 * raman.max())
    np.testing.assert_allclose(vib.depolarization_ratios[modes], rho, rtol=0, atol=1e-6)


def test_water_symmetry_and_rotation_invariance(water, field_model):
    """C2v selection: the B2 stretch has a' = 0, so ρ = 3/4; the A1 modes ρ < 3/4. A rotated water
    (Cartesian axes of the model changed, energy invariant) gives the same numbers to round-off."""
    atoms, vib = water
    modes = ~vib.zero_modes
    labels = np.array([str(x) for x in vib.irreps])
    assert sorted(labels[modes]) == ["A1", "A1", "B2"]
    assert vib.depolarization_ratios[labels == "B2"][0] == pytest.approx(0.75, abs=1e-8)
    assert np.all(vib.depolarization_ratios[labels == "A1"] < 0.75 - 1e-3)
    assert np.all(vib.ir_intensities[modes] > 0) and np.all(vib.raman_activities[modes] > 0)

    rotated = atoms.copy()
    rotation = Rotation.from_euler("zyx", [37.0, -61.0, 112.0], degrees=True).as_matrix()
    rotated.positions = (atoms.positions - atoms.get_center_of_mass()) @ rotation.T + [0.3, -0.2, 0.1]
    other = Vibrations(rotated, field_model)
    np.testing.assert_allclose(other.frequencies_cm1[modes], vib.frequencies_cm1[modes], rtol=1e-8)
    for name in ("ir_intensities", "raman_activities"):
        a, b = getattr(other, name)[modes], getattr(vib, name)[modes]
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10 * b.max())
    np.testing.assert_allclose(other.depolarization_ratios[modes], vib.depolarization_ratios[modes], atol=1e-8)
    # dμ/dQ rotates as a vector (up to the sign of each eigenvector)
    dmu, dmu_rot = vib.intensities.dipole_derivatives[modes], other.intensities.dipole_derivatives[modes]
    signs = np.sign(np.sum(dmu_rot * (dmu @ rotation.T), axis=1))
    np.testing.assert_allclose(dmu_rot * signs[:, None], dmu @ rotation.T, atol=1e-8 * np.abs(dmu).max())


def test_table_json_spectra_and_plot(water, tmp_path):
    atoms, vib = water
    table = vib.table()
    assert "IR (km/mol)" in table and "Raman (A4/amu)" in table and "depol." in table
    path = tmp_path / "water.json"
    vib.write_json(path)
    data = json.loads(path.read_text())  # valid JSON: NaN of the zero modes written as null
    assert data["ir_intensities_km_per_mol"][:6] == [None] * 6
    np.testing.assert_allclose(data["ir_intensities_km_per_mol"][6:], vib.ir_intensities[6:])
    np.testing.assert_allclose(data["raman_activities_angstrom4_per_amu"][6:], vib.raman_activities[6:])
    np.testing.assert_allclose(data["depolarization_ratios"][6:], vib.depolarization_ratios[6:])

    fwhm = 10.0
    grid, ir, raman = vib.spectra(fwhm, grid=np.linspace(-2e4, 2e4, 400001))
    # every line keeps its area (the tails beyond ±2e4 cm⁻¹ hold ~(Γ/π)/2e4 ≈ 2e-4 of it)
    assert np.trapezoid(ir, grid) == pytest.approx(np.nansum(vib.ir_intensities), rel=1e-3)
    assert np.trapezoid(raman, grid) == pytest.approx(np.nansum(vib.raman_activities), rel=1e-3)
    line = ints.lorentzian_spectrum([100.0], [3.0], [100.0, 105.0], fwhm)
    assert line == pytest.approx([3.0 * 2 / (np.pi * fwhm), 3.0 / (np.pi * fwhm)], rel=1e-12)  # peak, half maximum
    fig = plot_ir_raman_spectrum(vib, fwhm=fwhm)
    assert len(fig.axes) == 2


def test_model_without_field_gives_none():
    atoms = molecule("H2O")
    vib = Vibrations(atoms, random_nequip(SPECIES, seed=1, **HYPER))
    assert vib.intensities is None
    assert vib.ir_intensities is None and vib.raman_activities is None and vib.depolarization_ratios is None
    assert "km/mol" not in vib.table() and "ir_intensities_km_per_mol" not in vib.to_dict()
    with pytest.raises(ValueError, match="no electric field"):
        vib.spectra()
    field_order_0 = pf.models.FieldNequIP.init(SPECIES, field_order=0, seed=3, **HYPER)  # exactly NequIP
    assert Vibrations(atoms, field_order_0).intensities is None


@pytest.mark.parametrize("field", [True, False])
def test_cli_writes_intensities_only_for_field_models(tmp_path, capsys, field):
    model = (pf.models.FieldNequIP.init(SPECIES, field_order=2, seed=3, **HYPER) if field
             else random_nequip(SPECIES, seed=1, **HYPER))
    model_path = tmp_path / "model.npz"
    model.save(model_path)
    xyz = tmp_path / "water.xyz"
    molecule("H2O").write(xyz)
    out = tmp_path / "out"
    assert main(["vibrations", str(xyz), "--model", str(model_path), "--out", str(out), "--fwhm", "15"]) == 0
    printed = capsys.readouterr().out
    data = json.loads((out / "water_vibrations.json").read_text())
    assert (out / "water_vibrations.png").exists()
    assert (out / "water_spectra.png").exists() == field
    assert ("ir_intensities_km_per_mol" in data) == field and ("IR (km/mol)" in printed) == field
