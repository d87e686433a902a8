"""Building blocks of models/layers.py against the e3nn-jax (and nequix) functions they replace."""

import e3nn_jax as e3nn
import e3nn_jax._src.activation as e3nn_activation
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import phonax_fast as pf
from phonax_fast.graphs.neighbors import periodic_graph
from phonax_fast.models import layers
from structures import quaternary, random_nequip

ACTIVATIONS = [jax.nn.silu, jax.nn.tanh, jax.nn.gelu, jax.nn.sigmoid, e3nn.soft_odd]


def random_irreps_array(irreps, n=5, seed=0):
    irreps = e3nn.Irreps(irreps)
    return e3nn.IrrepsArray(irreps, jax.random.normal(jax.random.PRNGKey(seed), (n, irreps.dim)))


@pytest.mark.parametrize("phi", ACTIVATIONS, ids=lambda f: f.__name__)
def test_normalized_activation_equals_e3nn(phi):
    x = jnp.linspace(-5.0, 5.0, 201)
    ours, theirs = layers.normalized(phi)(x), e3nn.normalize_function(phi)(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert layers.normalized(phi) is layers.normalized(phi)


def test_gate_equals_e3nn_gate():
    x = random_irreps_array("6x0e + 2x0o + 3x1o + 1x2e")  # odd gates flip the parity of what they gate
    for acts in [{}, {"even_act": jax.nn.silu, "odd_act": jax.nn.tanh, "even_gate_act": jax.nn.silu}]:
        ours, theirs = (jax.jit(lambda y, f=f: f(y, **acts))(x) for f in (layers.gate, e3nn.gate))
        assert ours.irreps == theirs.irreps
        np.testing.assert_allclose(ours.array, theirs.array, rtol=1e-13, atol=1e-15)


def test_models_trace_without_normalising_activations(monkeypatch):
    """The e3nn activation constants are cached: tracing a model evaluates none of them again."""
    models = [random_nequip(["Na", "K", "Cl", "Br"], num_layers=2, channels=4),
              pf.models.Nequix.init(["Na", "K", "Cl", "Br"], num_layers=2, hidden_irreps="4x0e + 2x1o + 2x2e + 1x3o")]
    graphs = [periodic_graph(quaternary(), m.cutoff, m.species) for m in models]
    for m, g in zip(models, graphs):
        jax.eval_shape(m.node_energies, g)  # constants computed at the first use in this process

    def refuse(phi):
        raise AssertionError("e3nn.normalize_function called during a trace")

    monkeypatch.setattr(e3nn_activation, "normalize_function", refuse)
    monkeypatch.setattr(e3nn, "normalize_function", refuse)
    for m, g in zip(models, graphs):
        jax.eval_shape(m.node_energies, g)


def test_rms_layer_norm_equals_nequix():
    eqx = pytest.importorskip("equinox")
    layer_norm = pytest.importorskip("nequix.layer_norm")
    x = random_irreps_array("6x0e + 3x1o + 2x2e + 2x3o")
    weights = [jax.random.uniform(jax.random.PRNGKey(k), (mul,), minval=0.5, maxval=1.5) for k, (mul, _) in enumerate(x.irreps)]
    module = layer_norm.RMSLayerNorm(x.irreps, centering=False, std_balance_degrees=True)
    module = eqx.tree_at(lambda m: m.affine_weight, module, weights)
    ours = jax.jit(layers.rms_layer_norm)(weights, x)
    np.testing.assert_allclose(ours.array, eqx.filter_jit(module)(x).array, rtol=1e-13, atol=1e-15)


def test_indexed_linear_equals_e3nn_indexed_linear():
    eqx = pytest.importorskip("equinox")
    x = random_irreps_array("4x0e + 3x1o + 2x1o + 1x2e").regroup()
    index = jnp.array([0, 2, 1, 2, 0])
    irreps_out = e3nn.Irreps("5x0e + 2x1o + 3x2e + 1x3o")
    module = e3nn.equinox.Linear(irreps_in=x.irreps, irreps_out=irreps_out, linear_type="indexed", num_indexed_weights=3,
                                 force_irreps_out=True, input_dtype=jnp.float64, key=jax.random.PRNGKey(1))
    params = {}
    for name, w in module._weights.items():  # "w[i,j] <irrep in>,<irrep out>"
        i, j = name[2 : name.index("]")].split(",")
        params[f"{i}->{j}"] = w
    ours = jax.jit(layers.indexed_linear, static_argnums=3)(params, x, index, irreps_out).array
    onehot = jax.nn.one_hot(index, 3, dtype=x.dtype)
    one_hot_map = jax.jit(layers.species_linear, static_argnums=3)(params, x, onehot, irreps_out).array
    np.testing.assert_allclose(ours, eqx.filter_jit(module)(index, x).array, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ours, one_hot_map, rtol=1e-13, atol=1e-15)
