"""Nequix: our model and ``.nqx`` reader against nequix's own implementation, the fused backend
against e3nn-jax, and the reader's errors.

nequix's published checkpoints are read from ``../shared/models/nequix`` beside the repository
(tests needing them are skipped where it is absent); tests running nequix itself need the
``nequix`` package (and its dependencies equinox, jraph, matscipy).

Tolerances. Against nequix evaluated in float64 both implementations compute the same float64
numbers in a different order: on the four published checkpoints and all universal structures we
measured at most 2.4e-15 eV/atom, 2.8e-14 eV/Å and 1.1e-15 eV/Å³, and assert 1e-10 (a margin of
~10⁴ that no reordering reaches, while a real difference in the model, such as a wrong constant or
a swapped weight, shows up at ≳1e-4). Against ``NequixCalculator`` as users run it (float32
inputs and weights, JAX without x64) the difference is float32 round-off (ε ≈ 6e-8) of terms of
size |E| ≈ 3–9 eV/atom and |F| ≲ 22 eV/Å: measured 4.6e-6 eV/atom, 3.8e-5 eV/Å and 3.3e-7 eV/Å³
(nequix-mp-1-pft, five structures); asserted: the acceptance bounds 1e-5 eV/atom, 1e-4 eV/Å and
1e-5 eV/Å³.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.data import atomic_numbers

import phonax_fast as pf
from phonax_fast.derivatives import hessian_vector_products
from phonax_fast.graphs.neighbors import periodic_graph
from phonax_fast.models.nequix_checkpoint import CONFIG_KEYS, leaf_paths
from structures import universal_structures

NEQUIX_DIR = Path(__file__).resolve().parents[3] / "shared/models/nequix"
CHECKPOINTS = sorted(NEQUIX_DIR.glob("*.nqx"))
MISSING = f"no nequix checkpoints in {NEQUIX_DIR} (../shared/models/nequix beside the repository)"
FLOAT64_TOL = 1e-10  # eV/atom, eV/Å, eV/Å³ (see module docstring)
FLOAT32_TOL = {"energy": 1e-5, "forces": 1e-4, "stress": 1e-5}  # eV/atom, eV/Å, eV/Å³


def checkpoint_params(fast: bool, sweep: bool = False):
    """Checkpoints to parametrise over (a skip marker where there are none).

    ``fast``: nequix-mp-1-pft only. ``sweep``: every checkpoint, all but the default model
    (nequix-oam-1-pft) marked ``reference`` (minutes each; left out of CI)."""
    if not CHECKPOINTS:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING))]
    chosen = [p for p in CHECKPOINTS if p.stem == "nequix-mp-1-pft"] if fast else CHECKPOINTS
    chosen = chosen or CHECKPOINTS[:1]
    if not sweep:
        return [pytest.param(p, id=p.stem) for p in chosen]
    return [pytest.param(p, id=p.stem, marks=() if p.stem == "nequix-oam-1-pft" else pytest.mark.reference)
            for p in chosen]


def small_random_nequix(**kw):
    """A small Nequix of the published architecture's kind: l ≤ 3, a different multiplicity per l."""
    hyper = dict(cutoff=4.0, num_layers=3, hidden_irreps="7x0e + 5x1o + 3x2e + 2x3o", radial_mlp_size=16,
                 avg_num_neighbors=20.0, scale=0.8, shift=-0.3, seed=3)
    return pf.models.Nequix.init(("H", "O", "Si"), **{**hyper, **kw})


def small_cell():
    """A rattled 6-atom H/O/Si cell, ~20 neighbours per atom within 4 Å."""
    from ase import Atoms

    atoms = Atoms("Si2O3H", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0.2], [0, 0.5, 0.7], [0.3, 0.3, 0],
                                                [0.7, 0.2, 0.6]], cell=[[4.2, 0, 0], [0.4, 4.0, 0], [0.3, -0.2, 4.4]], pbc=True)
    atoms.rattle(0.05, seed=1)
    return atoms


def write_nqx(path: Path, model, header: dict | None = None) -> None:
    """``model`` (species sorted by atomic number) as nequix's ``save_model`` writes it, float32 leaves."""
    config = model.config
    base = {"atomic_numbers": [atomic_numbers[s] for s in config.species], "kernel": False}
    base.update({key: getattr(config, field) for key, field in CONFIG_KEYS.items()})
    with open(path, "wb") as f:
        f.write((json.dumps({**base, **(header or {})}) + "\n").encode())
        for where in leaf_paths(config, model.params):
            leaf = model.params
            for k in where:
                leaf = leaf[k]
            np.save(f, np.asarray(leaf, dtype=np.float32))


def ours(model, atoms):
    """(energy eV, forces eV/Å, stress eV/Å³ (3, 3) or None) through pf.Calculator."""
    atoms = atoms.copy()
    atoms.calc = pf.Calculator(model)
    stress = atoms.get_stress(voigt=False) if atoms.pbc.all() else None
    return atoms.get_potential_energy(), atoms.get_forces(), stress


def nequix_float64(path: Path, structures: dict) -> dict:
    """{name: (energy, forces, stress)} of nequix's own model of checkpoint ``path`` with its weights
    cast to float64, on graphs from nequix's own preprocessing (positions and cells in float64),
    all padded to one shape (one compilation)."""
    eqx = pytest.importorskip("equinox")
    jraph = pytest.importorskip("jraph")
    model_module = pytest.importorskip("nequix.model")
    data = pytest.importorskip("nequix.data")
    with jax.enable_x64(False):  # nequix builds its template in float32, the files' dtype
        model, config = model_module.load_model(str(path))
    model = jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x, model)
    index = data.atomic_numbers_to_indices(config["atomic_numbers"])
    graphs = {}
    for name, atoms in structures.items():
        g = data.preprocess_graph(atoms, index, config["cutoff"], False)
        g["positions"] = np.asarray(atoms.positions, dtype=np.float64)
        g["shifts"] = g["shifts"].astype(np.float64)  # integer cell shifts
        if g["cell"] is not None:
            g["cell"] = np.asarray(atoms.cell, dtype=np.float64)
        graphs[name] = data.dict_to_graphstuple(g)
    n_node = max(int(g.n_node[0]) for g in graphs.values()) + 1
    n_edge = max(int(g.n_edge[0]) for g in graphs.values()) + 1
    evaluate = eqx.filter_jit(model)
    out = {}
    for name, g in graphs.items():
        n = int(g.n_node[0])
        energy, forces, stress = evaluate(jraph.pad_with_graphs(g, n_node=n_node, n_edge=n_edge, n_graph=2))
        out[name] = (float(energy[0]), np.asarray(forces[:n]), None if stress is None else np.asarray(stress[0]))
    return out


def compare(model, reference: dict, structures: dict) -> dict:
    """Largest |ours − reference| per quantity over ``structures``: energy per atom, forces, stress."""
    worst = {"energy": 0.0, "forces": 0.0, "stress": 0.0}
    for name, atoms in structures.items():
        e, f, s = ours(model, atoms)
        e_ref, f_ref, s_ref = reference[name]
        worst["energy"] = max(worst["energy"], abs(e - e_ref) / len(atoms))
        worst["forces"] = max(worst["forces"], np.abs(f - f_ref).max())
        if s_ref is not None:
            worst["stress"] = max(worst["stress"], np.abs(s - s_ref).max())
    return worst


@pytest.mark.slow
@pytest.mark.parametrize("path", checkpoint_params(fast=True))
def test_node_energies_equal_nequix_float64(path):
    """Atomic energies of a triclinic three-element cell (a forward pass: quick to compile)."""
    eqx = pytest.importorskip("equinox")
    model_module = pytest.importorskip("nequix.model")
    data = pytest.importorskip("nequix.data")
    atoms = universal_structures()["MgAl2O4-triclinic"]
    with jax.enable_x64(False):
        reference, config = model_module.load_model(str(path))
    reference = jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x, reference)
    g = data.preprocess_graph(atoms, data.atomic_numbers_to_indices(config["atomic_numbers"]), config["cutoff"], False)
    vectors = atoms.positions[g["senders"]] - atoms.positions[g["receivers"]] + g["shifts"] @ atoms.cell[:]
    expected = eqx.filter_jit(lambda m, *args: m.node_energies(*args))(
        reference, jnp.asarray(vectors), g["species"], g["senders"], g["receivers"])[:, 0]
    model = pf.models.load(path)
    got = jax.jit(pf.models.Nequix.node_energies)(model, periodic_graph(atoms, model.cutoff, model.species))
    np.testing.assert_allclose(got, expected, rtol=0, atol=FLOAT64_TOL)


@pytest.mark.slow
@pytest.mark.parametrize("path", checkpoint_params(fast=False, sweep=True))
def test_checkpoints_equal_nequix_float64_on_universal_structures(path):
    structures = universal_structures()
    worst = compare(pf.models.load(path), nequix_float64(path, structures), structures)
    print(f"{path.stem} vs nequix float64, max |difference| (eV/atom, eV/Å, eV/Å³): {worst}")
    assert max(worst.values()) < FLOAT64_TOL, worst


@pytest.mark.slow
@pytest.mark.parametrize("path", checkpoint_params(fast=True))
def test_checkpoint_matches_nequix_calculator_float32(path):
    """nequix's ASE calculator as users run it: float32, JAX without x64."""
    calculator = pytest.importorskip("nequix.calculator")
    structures = {k: v for k, v in universal_structures().items()
                  if k in ("Si-diamond", "NiO-rattled", "MgAl2O4-triclinic", "H2O-in-box", "CsPbI3-cubic")}
    reference = {}
    with jax.enable_x64(False):
        calc = calculator.NequixCalculator(model_path=str(path), use_kernel=False)
        for name, atoms in structures.items():
            atoms = atoms.copy()
            atoms.calc = calc
            reference[name] = (atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress(voigt=False))
    worst = compare(pf.models.load(path), reference, structures)
    print(f"{path.stem} vs NequixCalculator float32, max |difference| (eV/atom, eV/Å, eV/Å³): {worst}")
    assert all(worst[k] < FLOAT32_TOL[k] for k in worst), worst


@pytest.mark.parametrize("num_layers, with_hvp", [(2, False), pytest.param(3, True, marks=pytest.mark.slow)])
def test_fused_backend_equals_e3nn(num_layers, with_hvp):
    """Energy and forces, and (slow: compiling e3nn-jax's second derivatives takes minutes) a block
    of 4 Hessian-vector products; with 3 layers the middle one has l ≥ 1 inputs and outputs."""
    model = small_random_nequix(index_weights=True, num_layers=num_layers)
    atoms = small_cell()
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, model.cutoff, model.species))
    tangents = jnp.asarray(np.random.default_rng(0).normal(size=(4, len(atoms), 3)))

    def derivatives(m, x):
        energy, gradient = jax.value_and_grad(lambda y: m.energy(graph._replace(positions=y)))(x)
        return (energy, gradient, hessian_vector_products(m, m.params, graph, tangents)) if with_hvp else (energy, gradient)

    fused, e3nn = (jax.jit(derivatives)(model.with_backend(b), graph.positions) for b in ("fused", "e3nn"))
    for a, b in zip(fused, e3nn):
        assert np.abs(a - b).max() <= 1e-10 * np.abs(b).max()


def test_reader_round_trip_and_load_dispatch(tmp_path):
    """A model written as nequix writes it reads back (float32 weights, as float64) by pf.models.load."""
    model = small_random_nequix()
    write_nqx(tmp_path / "m.nqx", model)
    loaded = pf.models.load(tmp_path / "m.nqx")
    assert isinstance(loaded, pf.models.Nequix) and loaded.config == model.config
    expected = jax.tree.map(lambda x: np.asarray(x, np.float32).astype(np.float64), model.params)
    assert jax.tree.structure(loaded.params) == jax.tree.structure(expected)
    for a, b in zip(jax.tree.leaves(loaded.params), jax.tree.leaves(expected)):
        assert a.dtype == jnp.float64
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("path", checkpoint_params(fast=False))
def test_published_checkpoints_have_the_default_shape(path):
    """``Nequix.init`` defaults are the published models' architecture (nequix-mp-1's)."""
    model = pf.models.load(path)
    species = model.species
    assert list(species) == sorted(species, key=atomic_numbers.get)
    assert jax.tree.map(jnp.shape, pf.models.Nequix.init(species).params) == jax.tree.map(jnp.shape, model.params)


def test_reader_errors(tmp_path):
    model = small_random_nequix()
    good = tmp_path / "good.nqx"
    write_nqx(good, model)
    data = good.read_bytes()
    cases = {
        "truncated": (data[: len(data) - 100], "truncated or corrupt"),
        "cut in a header": (data[: data.index(b"\n") + 40], "truncated or corrupt"),
        "no JSON": (b"\x93NUMPY garbage\n" + data, "not a nequix checkpoint"),
        "missing key": (json.dumps({"cutoff": 5.0}).encode() + b"\n", "lacks"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / "bad.nqx").write_bytes(content)
        with pytest.raises(ValueError, match=message):
            pf.models.load(tmp_path / "bad.nqx")
    wrong_shape = tmp_path / "wrong.nqx"
    write_nqx(wrong_shape, model, {"radial_mlp_size": 8})
    with pytest.raises(ValueError, match="inconsistent with its configuration"):
        pf.models.load(wrong_shape)
    write_nqx(wrong_shape, model, {"hidden_irreps": "8x0e + 4x1e"})
    with pytest.raises(ValueError, match="unsupported nequix configuration"):
        pf.models.load(wrong_shape)
    with pytest.raises(FileNotFoundError):
        pf.models.load(tmp_path / "absent.nqx")


def test_float32_model_file(tmp_path):
    """save(dtype=np.float32) stores float32 weights; loading gives them back in float64."""
    model = small_random_nequix()
    model.save(tmp_path / "m64.npz")
    model.save(tmp_path / "m32.npz", dtype=np.float32)
    with np.load(tmp_path / "m32.npz") as f32, np.load(tmp_path / "m64.npz") as f64:
        assert {f32[k].dtype for k in f32.files if k != "__model__"} == {np.dtype(np.float32)}
        assert {f64[k].dtype for k in f64.files if k != "__model__"} == {np.dtype(np.float64)}
    loaded = pf.models.load(tmp_path / "m32.npz")
    assert loaded.config == model.config
    for a, b in zip(jax.tree.leaves(loaded.params), jax.tree.leaves(model.params)):
        assert a.dtype == jnp.float64
        np.testing.assert_array_equal(a, np.asarray(b, np.float32).astype(np.float64))
    with pytest.raises(ValueError, match="float64 or float32"):
        model.save(tmp_path / "m16.npz", dtype=np.float16)
