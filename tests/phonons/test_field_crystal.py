"""Crystals with a field model (issue 16.4): Born charges and ε∞ from the model feed the
non-analytic correction; IR intensities and Raman tensors of Γ modes.

Independent checks: finite differences of the same model's dipole and polarizability (periodic
cell, every image moving with its atom) for Z*, dα/dx and the Γ-mode intensities; ε∞ by the
Gaussian formula 1 + 4πα/V; the rocksalt LO–TO relation ω_LO² − ω_TO² = 4π e²Z*²/(ε∞ V μ), in
which neither force constants nor phonopy enter; and the bundled field-demo model, trained on DFT
force sets and BORN files of NaCl-rd and MgO, against phonopy's own NAC with DFT force constants
and BORN file on phonopy's held-out test NaCl (acceptance: LO–TO splitting within 0.3 THz).
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

import phonax_fast as pf
from phonax_fast import dielectric, units
from phonax_fast.vibrations import gamma_modes
from reference_data import load_polar, phonopy_sdist

HYPER = dict(cutoff=3.5, num_layers=2, lmax=1, channels=4)
STEP = 1e-4  # Å (and V/Å): central differences of an analytic model, error O(h²) ≈ 1e-8 relative


@pytest.fixture(scope="module")
def field_model():
    return pf.models.FieldNequIP.init(["Na", "Cl"], field_order=2, seed=5, **HYPER)


@pytest.fixture(scope="module")
def rattled():
    """A 4-atom NaCl cell with no symmetry left: every tensor component is generic."""
    atoms = bulk("NaCl", "rocksalt", a=5.69, cubic=False).repeat((2, 1, 1))
    atoms.positions += np.random.default_rng(0).normal(scale=0.08, size=atoms.positions.shape)
    return atoms


def _dipole_and_alpha(model, atoms, positions):
    """P and α of ``atoms`` with its atoms (and their images) moved to ``positions`` (one graph:
    steps this small change no neighbour list)."""
    graph = pf.graphs.periodic_graph(atoms, model.cutoff, model.species)
    r = dielectric.field_response(model, graph._replace(positions=positions), order=1)
    return np.asarray(r.dipole), np.asarray(r.polarizability)


def test_born_charges_and_raman_derivatives_are_finite_differences(field_model, rattled):
    """Z*[i, α, β] = ∂P_α/∂x_iβ and dα/dx by central differences on the periodic cell (1e-6 relative);
    the charges are neutral."""
    response = dielectric.crystal_response(field_model, rattled)
    assert np.abs(response.born_charges.sum(axis=0)).max() < 1e-10
    z_fd, da_fd = np.zeros((len(rattled), 3, 3)), np.zeros((len(rattled), 3, 3, 3))
    for i in range(len(rattled)):
        for beta in range(3):
            step = np.zeros((len(rattled), 3))
            step[i, beta] = STEP
            (p1, a1), (p0, a0) = (_dipole_and_alpha(field_model, rattled, rattled.positions + s * step) for s in (1, -1))
            z_fd[i, :, beta] = (p1 - p0) / (2 * STEP)
            da_fd[i, beta] = (a1 - a0) / (2 * STEP)
    z_fd -= z_fd.mean(axis=0)  # the same neutrality projection (the sum is ~1e-12 anyway)
    np.testing.assert_allclose(response.born_charges, z_fd, rtol=0, atol=1e-6 * np.abs(z_fd).max())
    np.testing.assert_allclose(response.polarizability_derivatives, da_fd, rtol=0, atol=1e-6 * np.abs(da_fd).max())
    np.testing.assert_allclose(response.dipole_derivatives, np.swapaxes(response.born_charges, 1, 2))


def test_epsilon_is_the_gaussian_formula(field_model, rattled):
    """ε∞ = 1 + 4π α[Å³]/V, with α converted to a polarizability volume (e²/(4πε₀) in eV·Å)."""
    response = dielectric.crystal_response(field_model, rattled)
    alpha_a3 = response.polarizability * units.ANGSTROM3_PER_E_ANGSTROM2_PER_V
    np.testing.assert_allclose(response.epsilon, np.eye(3) + 4 * np.pi * alpha_a3 / rattled.get_volume(), rtol=1e-12)
    np.testing.assert_allclose(dielectric.cell_polarizability(response.epsilon, rattled.get_volume()),
                               response.polarizability, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="positive cell volume"):
        dielectric.dielectric_tensor(response.polarizability, 0.0)


def test_model_without_field_says_so(rattled):
    model = pf.models.NequIP.init(["Na", "Cl"], seed=0, **HYPER)
    with pytest.raises(ValueError, match="has no electric field"):
        pf.Phonons(rattled, model).set_nac(from_model=True)
    with pytest.raises(ValueError, match="one source of Born charges"):
        pf.Phonons(rattled, model).set_nac(born=np.zeros((4, 3, 3)), epsilon=np.eye(3), from_model=True)


def test_gamma_mode_intensities_are_finite_differences_along_the_modes(field_model, rattled):
    """dμ/dQ_k and dα/dQ_k of every optical Γ mode of the cell by central differences of the
    model's dipole and polarizability along u_k = e_k/√m (1e-6 relative), IR and Raman from them."""
    ph = pf.Phonons(rattled, field_model, construction="masked")
    modes = ph.gamma_modes()
    masses = rattled.get_masses()
    assert modes.acoustic.sum() == 3 and np.abs(modes.frequencies[modes.acoustic]).max() < 1e-3
    for k in np.flatnonzero(~modes.acoustic):
        u = (modes.vectors[k] / np.repeat(np.sqrt(masses), 3)).reshape(-1, 3)
        (p1, a1), (p0, a0) = (_dipole_and_alpha(field_model, rattled, rattled.positions + s * STEP * u) for s in (1, -1))
        dmu, dalpha = (p1 - p0) / (2 * STEP), (a1 - a0) / (2 * STEP) * units.ANGSTROM3_PER_E_ANGSTROM2_PER_V
        np.testing.assert_allclose(modes.intensities.dipole_derivatives[k], dmu, rtol=0, atol=1e-6 * np.abs(dmu).max())
        np.testing.assert_allclose(modes.intensities.polarizability_derivatives[k], dalpha, rtol=0,
                                   atol=1e-6 * np.abs(dalpha).max())
        assert modes.intensities.ir[k] == pytest.approx(units.KM_PER_MOL_PER_E2_PER_AMU * dmu @ dmu, rel=1e-6)
    assert np.isnan(modes.intensities.ir[modes.acoustic]).all()
    assert "acoustic" in modes.table()


@pytest.mark.slow
def test_rocksalt_lo_to_from_the_model_charges(field_model):
    """For rocksalt (Z*_Na = −Z*_Cl = Z·1, isotropic ε∞) the correction at Γ along q adds the rank-one
    term 4π·(e²/4πε₀)·Z²/(ε∞ V μ) to the dynamical matrix (the LO mode's ω², in eV/(Å²·amu)): the
    model's own Z* and ε∞ reach the NAC, whatever the force constants (the sum of the signed
    eigenvalues ω|ω| grows by that trace, even for a random model whose optical modes are unstable)."""
    atoms = bulk("NaCl", "rocksalt", a=5.69)
    ph = pf.Phonons(atoms, field_model, construction="masked").set_nac(from_model=True)
    d = ph.dielectric
    z, eps = d.born_charges[0, 0, 0], d.epsilon[0, 0]
    np.testing.assert_allclose(d.born_charges[0], z * np.eye(3), atol=1e-10)  # cubic site symmetry
    np.testing.assert_allclose(d.epsilon, eps * np.eye(3), atol=1e-10)
    masses = atoms.get_masses()
    mu = masses[0] * masses[1] / masses.sum()
    gap = 4 * np.pi * units.NAC_UNIT_FACTOR * z**2 / (eps * atoms.get_volume() * mu)

    def signed_square(f):
        w = f / units.THZ_PER_SQRT_EV_A2_AMU
        return np.sum(w * np.abs(w))

    along = ph.frequencies([[0, 0, 0]], q_direction=[1, 0, 0])[0]
    assert signed_square(along) - signed_square(ph.frequencies([[0, 0, 0]])[0]) == pytest.approx(gap, rel=1e-6)


@pytest.fixture(scope="module")
def field_demo_nacl():
    phonopy_sdist()  # fetched once by the test helpers (pip), as for the other DFT reference tests
    model = pf.models.load("field-demo")
    ph = load_polar("NaCl")  # phonopy's test NaCl: DFT force sets and BORN file (held out from training)
    return model, ph


@pytest.mark.slow  # ~80 s cold: the bundled model's Hessian and field-response compilations
def test_field_demo_reproduces_dft_born_charges_and_lo_to(field_demo_nacl):
    """The bundled field-demo model (trained on NaCl-rd and MgO DFT data) against phonopy's NAC with
    the DFT force constants and BORN file of the test NaCl: Z* within 0.05 e, ε∞ within 5 %, and the
    LO–TO splitting at Γ within 0.3 THz (the acceptance; measured numbers: models/data/README.md)."""
    from phonax_fast.training.data import to_atoms

    model, ph = field_demo_nacl
    ours = pf.Phonons(to_atoms(ph.primitive), model).set_nac(from_model=True)
    np.testing.assert_allclose(ours.dielectric.born_charges, ph.nac_params["born"], atol=0.05)
    np.testing.assert_allclose(ours.dielectric.epsilon, ph.nac_params["dielectric"], rtol=0.05)
    ph.run_qpoints([[0, 0, 0]], nac_q_direction=[1, 0, 0])
    dft = np.sort(ph.qpoints.frequencies[0])
    freq = np.sort(ours.frequencies([[0, 0, 0]], q_direction=[1, 0, 0])[0])
    assert dft[5] - dft[3] > 2.5  # THz: a real splitting (DFT: 4.6 → 7.4 THz)
    assert abs((freq[5] - freq[3]) - (dft[5] - dft[3])) < 0.3


@pytest.mark.slow
def test_cli_takes_the_born_charges_from_a_field_model(tmp_path, capsys):
    """``phonax-fast phonons --model field-demo --born model``: the model's Z* and ε∞ in the NAC, its
    BORN file and Γ-mode intensities written; a model without a field gets one clear line."""
    from phonax_fast.cli import main

    structure = tmp_path / "NaCl.vasp"
    bulk("NaCl", "rocksalt", a=5.6903).write(structure, format="vasp")
    out = tmp_path / "out"
    args = ["phonons", str(structure), "--out", str(out), "--npoints", "10", "--mesh", "3", "3", "3", "--born", "model"]
    assert main(args + ["--model", "field-demo"]) == 0
    printed = capsys.readouterr().out
    assert "Born charges from the model" in printed
    along = next(line for line in printed.splitlines() if line.startswith("Γ frequencies with q → 0"))
    lo = max(float(x) for x in along.split(":")[1].split())
    assert 7.0 < lo < 8.0  # THz (DFT with its BORN file: 7.4)
    assert (out / "BORN").is_file() and "IR km/mol" in (out / "gamma_modes.txt").read_text()
    assert main(args + ["--model", "demo"]) == 2
    assert "has no electric field" in capsys.readouterr().err
