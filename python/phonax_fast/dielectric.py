"""Dielectric responses of an energy model in a uniform electric field, by automatic differentiation.

A field model has ``apply(params, graph, field) -> (n_nodes,)`` atomic energies in eV for a field
E (3,) in V/Å (e.g. :class:`phonax_fast.models.FieldNequIP`); its energy U(x, E) = Σ_k w_k ε_k
(the graph's ``energy_weights`` w) is evaluated with the model's own weights. With E in V/Å and
U in eV, charges come out in units of the elementary charge e:

* forces F = −∂U/∂x, (N, 3) eV/Å, at the given field;
* dipole P = −∂U/∂E, (3,) e·Å (for a crystal: per cell; the polarization density is P/V, of
  which only changes are meaningful, as for any model of a periodic solid);
* polarizability α = −∂²U/∂E², (3, 3) e·Å²/V, symmetric (U(E) = U₀ − P₀·E − ½ E·α·E + …);
* Born effective charges Z*_{i,αβ} = ∂F_{iβ}/∂E_α = ∂P_α/∂x_{iβ} = −∂²U/∂E_α∂x_{iβ}, (N, 3, 3) e;
* derivatives along Cartesian displacements (for IR and Raman intensities): dP/dx[i, β, α] =
  ∂P_α/∂x_{iβ}, (N, 3, 3) e (Z* with its last two axes swapped), and dα/dx[i, β, α, γ] =
  ∂α_{αγ}/∂x_{iβ}, (N, 3, 3, 3) e·Å/V.

Field derivatives are taken forward (``jax.jacfwd``: 3 tangents in E, 3 × 3 for two) over one
reverse-mode gradient of U with respect to (x, E): their cost does not grow with N beyond the
gradient's, and nothing of size (3N)² is formed. Results are in the graph's position dtype
(float64 with JAX's x64 on, as ``import phonax_fast`` sets). ``field`` None means zero field; a
field of any shape other than (3,) raises ValueError.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .derivatives import batch_derivatives, strain_graph, structure_energies
from .graphs.graph import Graph
from .graphs.neighbors import periodic_graph
from .models.field import as_field
from .units import VACUUM_PERMITTIVITY


class FieldResponse(NamedTuple):
    """Energy and responses at one field (see the module docstring); None beyond the ``order`` asked."""

    energy: jnp.ndarray  # () eV
    forces: jnp.ndarray  # (N, 3) eV/Å
    dipole: jnp.ndarray  # (3,) e·Å
    polarizability: jnp.ndarray | None = None  # (3, 3) e·Å²/V
    born_charges: jnp.ndarray | None = None  # (N, 3, 3) e, [i, α (field), β (displacement)]
    dipole_derivatives: jnp.ndarray | None = None  # (N, 3, 3) e, [i, β (displacement), α (dipole)]
    polarizability_derivatives: jnp.ndarray | None = None  # (N, 3, 3, 3) e·Å/V, [i, β, α, γ]


def _energy(model, graph: Graph, positions, field) -> jnp.ndarray:
    """U(x, E) in eV at ``positions`` (N, 3) Å and ``field`` (3,) V/Å."""
    g = graph._replace(positions=positions)
    return jnp.dot(g.energy_weights, model.apply(model.params, g, field))


@partial(jax.jit, static_argnames="order")
def _derivatives(model, graph: Graph, field, order: int) -> list:
    """[(U, ∂U/∂x, ∂U/∂E), (∂²U/∂E∂x, ∂²U/∂E²), (∂³U/∂E²∂x, ∂³U/∂E³)][: order + 1]; each field
    derivative appends a trailing axis ((N, 3, 3) is [i, β, α] = ∂²U/∂x_{iβ}∂E_α)."""

    def gradients(e):
        u, (de_dx, de_de) = jax.value_and_grad(_energy, argnums=(2, 3))(model, graph, graph.positions, e)
        return (de_dx, de_de), [(u, de_dx, de_de)]

    def field_derivative(f):
        def g(e):
            jac, lower = jax.jacfwd(f, has_aux=True)(e)
            return jac, lower + [jac]

        return g

    f = gradients
    for _ in range(order):
        f = field_derivative(f)
    return f(field)[1]


def field_response(model, graph: Graph, field=None, order: int = 2, neutral: bool = False) -> FieldResponse:
    """Energy, forces and dipole at ``field`` ((3,) V/Å; None: zero), with ``order`` ≥ 1 the
    polarizability, Born charges and dP/dx too, with ``order`` 2 also dα/dx (all in one compiled
    function per order and graph shape). Units and axes: :class:`FieldResponse`.

    α and dα/dx are symmetrised in their field axes (they are symmetric up to rounding).
    ``neutral``: the Born charges are projected to Σ_i Z*_i = 0 by subtracting their mean over the
    graph's nodes, Z*_i − (1/N) Σ_j Z*_j. For a translation-invariant model on a plain graph the
    sum vanishes anyway (up to rounding), since U(x + t, E) = U(x, E); the projection makes it
    exact, e.g. for masked or padded graphs or models that are not translation invariant.
    """
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2 field derivatives, not {order!r}")
    levels = _derivatives(model, graph, as_field(field, jnp.asarray(graph.positions).dtype), order)
    u, de_dx, de_de = levels[0]
    out = FieldResponse(u, -de_dx, -de_de)
    if order >= 1:
        dp_dx, alpha = (-d for d in levels[1])
        z = jnp.swapaxes(dp_dx, 1, 2)
        z = z - z.mean(axis=0) if neutral else z
        out = out._replace(polarizability=0.5 * (alpha + alpha.T), born_charges=z, dipole_derivatives=dp_dx)
    if order == 2:
        da_dx = -levels[2][0]
        out = out._replace(polarizability_derivatives=0.5 * (da_dx + jnp.swapaxes(da_dx, 2, 3)))
    return out


def dielectric_tensor(polarizability, volume: float) -> np.ndarray:
    """ε∞ = 1 + α/(ε₀V), (3, 3), of a crystal whose cell of ``volume`` Å³ has the clamped-ion
    polarizability ``polarizability`` (3, 3) e·Å²/V (ε₀ = ``units.VACUUM_PERMITTIVITY`` e/(V·Å); in
    Gaussian units the familiar 1 + 4πα/V with α in Å³)."""
    alpha = np.asarray(polarizability, dtype=float)
    if alpha.shape != (3, 3) or not volume > 0:
        raise ValueError(f"need a (3, 3) polarizability and a positive cell volume, got {alpha.shape} and {volume!r}")
    return np.eye(3) + alpha / (VACUUM_PERMITTIVITY * volume)


def cell_polarizability(epsilon, volume: float) -> np.ndarray:
    """α = (ε∞ − 1)·ε₀V in e·Å²/V, (3, 3): the polarizability of a cell of ``volume`` Å³ of a
    crystal with the dielectric tensor ``epsilon`` (3, 3); the inverse of :func:`dielectric_tensor`."""
    eps = np.asarray(epsilon, dtype=float)
    if eps.shape != (3, 3) or not volume > 0:
        raise ValueError(f"need a (3, 3) dielectric tensor and a positive cell volume, got {eps.shape} and {volume!r}")
    return (eps - np.eye(3)) * VACUUM_PERMITTIVITY * volume


class CrystalResponse(NamedTuple):
    """The zero-field dielectric response of a crystal's cell (numpy float64; units as
    :class:`FieldResponse`): Born charges made neutral, ε∞ from the polarizability per volume."""

    born_charges: np.ndarray  # (N, 3, 3) e, [i, α (field), β (displacement)], Σ_i Z*_i = 0
    epsilon: np.ndarray  # (3, 3) ε∞, clamped ions
    polarizability: np.ndarray  # (3, 3) e·Å²/V, per cell
    dipole_derivatives: np.ndarray  # (N, 3, 3) e, [i, β, α]: the neutral Z* with its last axes swapped
    polarizability_derivatives: np.ndarray | None  # (N, 3, 3, 3) e·Å/V, [i, β, α, γ] (order 2), else None


def crystal_response(model, atoms, order: int = 2) -> CrystalResponse:
    """The zero-field response of a periodic crystal (``atoms``, Å) to a uniform field, from
    :func:`field_response` on its periodic graph: displacing atom i moves all its periodic images,
    so Z* and dP/dx are the q = 0 (Born) derivatives and dα/dx (``order`` 2) the Raman derivatives
    of the cell. The charges are projected to Σ_i Z*_i = 0 (``neutral``); ε∞ = 1 + α/(ε₀V).

    ValueError when the model has no field (``field_order`` < 1) or ``atoms`` is not periodic in 3D."""
    if getattr(model, "field_order", 0) < 1:
        raise ValueError(f"the {getattr(model, 'model_name', type(model).__name__)} model has no electric field: Born "
                         "charges and ε∞ need a field model (e.g. FieldNequIP with field_order ≥ 1)")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 (Z*, ε∞) or 2 (also dα/dx), not {order!r}")
    if not all(atoms.pbc):
        raise ValueError("crystal_response needs a crystal periodic in all three directions")
    r = field_response(model, periodic_graph(atoms, model.cutoff, model.species), None, order=order, neutral=True)
    born = np.asarray(r.born_charges, dtype=float)
    alpha = np.asarray(r.polarizability, dtype=float)
    da_dx = None if r.polarizability_derivatives is None else np.asarray(r.polarizability_derivatives, dtype=float)
    return CrystalResponse(born, dielectric_tensor(alpha, atoms.get_volume()), alpha, np.swapaxes(born, 1, 2), da_dx)


def dipole(model, graph: Graph, field=None) -> jnp.ndarray:
    """P = −∂U/∂E, (3,) e·Å (per cell for a crystal), at ``field`` ((3,) V/Å)."""
    return field_response(model, graph, field, order=0).dipole


def polarizability(model, graph: Graph, field=None) -> jnp.ndarray:
    """α = −∂²U/∂E², (3, 3) e·Å²/V, symmetric, at ``field`` ((3,) V/Å)."""
    return field_response(model, graph, field, order=1).polarizability


def born_charges(model, graph: Graph, field=None, neutral: bool = False) -> jnp.ndarray:
    """Z*_{i,αβ} = −∂²U/∂E_α∂x_{iβ}, (N, 3, 3) in e, at ``field`` ((3,) V/Å); ``neutral``: projected
    to Σ_i Z*_i = 0 (see :func:`field_response`)."""
    return field_response(model, graph, field, order=1, neutral=neutral).born_charges


class _InField(NamedTuple):
    """A field model seen as a plain energy model at fixed per-node fields (N, 3) V/Å, for the
    derivatives in ``phonax_fast.derivatives`` (which call ``apply(params, graph)``)."""

    model: object
    node_field: jnp.ndarray

    def apply(self, params, graph: Graph) -> jnp.ndarray:
        return self.model.apply(params, graph, self.node_field)


def batch_field_derivatives(model, params, graph: Graph, node_structure, n_structures: int, fields, tangents,
                            order: int = 1):
    """Everything training predicts on a batch of structures, each in its own uniform field.

    Args:
        model: a field model (``apply(params, graph, field)`` with per-node fields, e.g.
            :class:`phonax_fast.models.FieldNequIP`); ``params`` its weights.
        graph, node_structure, n_structures, tangents: as ``derivatives.batch_derivatives``.
        fields: (n_structures, 3) V/Å, the field of each structure.
        order: 0 for energies, forces, stress and dipoles only (one reverse pass); 1 also for
            polarizabilities and Born charges (a forward-mode derivative of that pass).

    Returns:
        (energies (G,) eV, ∂U/∂x (N, 3) eV/Å, ∂U/∂ε (G, 3, 3) eV, H v (K, N, 3) eV/Å² as
        ``batch_derivatives``, dipoles (G, 3) e·Å, polarizabilities (G, 3, 3) e·Å²/V and Born
        charges (N, 3, 3) e [i, α (field), β (displacement)], or None for both at order 0), each
        structure's at its own field.

    The field responses are a forward-mode derivative (3 tangents) of the gradient with respect to
    positions and fields, the tangent being the same field change δ for every structure:
    structures do not interact, so ∂P_s/∂δ = ∂P_s/∂E_s.
    """
    if order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, not {order!r}")
    x = graph.positions
    zero = jnp.zeros((n_structures, 3, 3), x.dtype)

    def gradients(delta):
        def total(positions, strain, structure_fields):
            strained = strain_graph(graph._replace(positions=positions), strain, node_structure)
            bound = _InField(model, structure_fields[node_structure])
            e = structure_energies(bound, params, strained, node_structure, n_structures)
            return e.sum(), e

        (_, e), (de_dx, de_deps, de_dfield) = jax.value_and_grad(total, argnums=(0, 1, 2), has_aux=True)(
            x, zero, fields + delta)
        return (-de_dfield, -de_dx), (e, de_dx, de_deps, -de_dfield)

    delta = jnp.zeros(3, x.dtype)
    if order == 0:
        _, (e, de_dx, de_deps, dipoles) = gradients(delta)
        alpha = born = None
    else:
        (alpha, dforces), (e, de_dx, de_deps, dipoles) = jax.jacfwd(gradients, has_aux=True)(delta)
        alpha, born = 0.5 * (alpha + jnp.swapaxes(alpha, 1, 2)), jnp.swapaxes(dforces, 1, 2)
    if tangents.shape[0]:
        bound = _InField(model, fields[node_structure])
        hvp = batch_derivatives(bound, params, graph, node_structure, n_structures, tangents)[3]
    else:
        hvp = tangents
    return e, de_dx, de_deps, hvp, dipoles, alpha, born

