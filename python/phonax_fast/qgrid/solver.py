"""Phonon frequencies and eigenvectors on chunks of q-points, sharded over JAX devices.

For a chunk of q-points the dynamical matrices are one matrix product,
``D[q] = (cos 2πq·T + i sin 2πq·T)[q, l] @ Φ̃[l, 3N·3N]`` with ``Φ̃_l = Φ(T_l) / √(m_i m_j)``.
The atomic-position phases of ``ForceConstants.dynamical_matrices`` are left out: they are a
diagonal unitary similarity, so they change neither eigenvalues nor |eigenvector|², which is all
that DOS, projected DOS and thermal properties use.

Two eigen-solvers (``MeshSolver(eigensolver=...)``), equal to round-off:

- ``"jax"``: D(q) and ``jnp.linalg.eigh`` in one jitted function, the chunk split over
  ``jax.devices()`` (``jax.sharding``), Φ̃ replicated; chunk k+1 is dispatched before chunk k
  is read back. The path for GPUs and several devices.
- ``"host"``: numpy builds D(q) and phonopy's batched CPU kernel (``diagonalize_dynamical_matrices``,
  values-only when no eigenvectors are needed) diagonalises it: no compilation, and on CPU several
  times faster than LAPACK ``heevd`` with eigenvectors, which is what ``jnp.linalg.eigh`` runs there.

``"auto"`` picks ``"host"`` when the devices are CPUs and ``"jax"`` otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..phonons.force_constants import ForceConstants
from ..progress import progress_bar
from ..units import eigenvalues_to_thz

_CHUNK_BYTES = 256 * 2**20  # per device: what one chunk of q-points may take, at most


def _free_bytes(device) -> int:
    """Memory that can still be allocated on ``device`` (host RAM for CPU devices), bytes."""
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def default_chunk_size(n_modes: int, devices, n_freq: int = 256) -> int:
    """q-points per device per chunk, so that a chunk takes at most min(free/8, 256 MiB) per device.

    A q-point costs its dynamical matrix, eigen-solver workspace and eigenvectors
    (~6 complex (3N)² arrays) and, in the DOS steps, two (n_freq, 3N) float arrays.

    Args:
        n_modes: 3N, size of a dynamical matrix.
        devices: the JAX devices the chunk is split over (simulated CPU devices share the host RAM).
        n_freq: frequency points the DOS steps sample per mode.
    """
    free = min(_free_bytes(d) for d in devices)
    if devices[0].platform == "cpu":
        free //= len(devices)
    per_q = 6 * 16 * n_modes**2 + 2 * 8 * n_modes * n_freq
    return max(1, min(free // 8, _CHUNK_BYTES) // per_q)


def _dynamical_matrices(xp, q, phi, translations):
    """D(q) (n_c, 3N, 3N) complex128 for q (n_c, 3), Φ̃ (N_L, 9N²), T (N_L, 3); ``xp`` numpy or
    jax.numpy. Not hermitised (both eigen-solvers read one triangle)."""
    n = round(phi.shape[1] ** 0.5)
    arg = 2 * np.pi * q @ translations.T  # (n_c, N_L)
    return ((xp.cos(arg) @ phi) + 1j * (xp.sin(arg) @ phi)).reshape(-1, n, n)


@jax.jit
def _eigh(q, phi, translations):
    return jnp.linalg.eigh(_dynamical_matrices(jnp, q, phi, translations))


@jax.jit
def _eigvalsh(q, phi, translations):
    return jnp.linalg.eigvalsh(_dynamical_matrices(jnp, q, phi, translations))


class MeshSolver:
    """Frequencies (THz) and eigenvectors of the dynamical matrices of ``fcs`` at many q-points.

    Args:
        fcs: compact force constants.
        eigensolver: ``"jax"``, ``"host"`` or ``"auto"`` (see the module docstring).
        chunk_size: q-points per device per chunk; default from free memory (``default_chunk_size``).
        devices: JAX devices to shard chunks over (``"jax"``); default ``jax.devices()``.
        progress: show a tqdm bar (see ``phonax_fast.progress``) with this description, or None.
    """

    def __init__(self, fcs: ForceConstants, eigensolver="auto", chunk_size=None, devices=None, progress="q-points"):
        self.devices = list(devices if devices is not None else jax.devices())
        if eigensolver == "auto":
            eigensolver = "host" if self.devices[0].platform == "cpu" else "jax"
        if eigensolver not in ("jax", "host"):
            raise ValueError(f"eigensolver must be 'auto', 'jax' or 'host'; got {eigensolver!r}")
        self.eigensolver = eigensolver
        self.n_modes = 3 * fcs.n_atoms
        self.chunk_per_device = chunk_size or default_chunk_size(self.n_modes, self.devices)
        self.progress = progress
        mesh = Mesh(np.array(self.devices), ("q",))
        self._q_sharding = NamedSharding(mesh, PartitionSpec("q"))
        replicated = NamedSharding(mesh, PartitionSpec())
        inv_sqrt_m = np.repeat(1.0 / np.sqrt(fcs.masses), 3)
        phi = fcs.per_translation() * inv_sqrt_m[:, None] * inv_sqrt_m[None, :]
        self._host_phi = phi.reshape(len(phi), -1)  # (N_L, 9N²)
        self._host_translations = np.asarray(fcs.translations, float)
        if eigensolver == "jax":
            self._phi = jax.device_put(self._host_phi, replicated)
            self._translations = jax.device_put(self._host_translations, replicated)

    def _dispatch(self, q: np.ndarray, with_vectors: bool):
        """Start the computation for a chunk q (n_c, 3): JAX arrays (async) or, on the host path,
        the chunk's dynamical matrices built with numpy."""
        if self.eigensolver == "host":
            return (_dynamical_matrices(np, q, self._host_phi, self._host_translations),)
        args = (jax.device_put(q, self._q_sharding), self._phi, self._translations)
        return _eigh(*args) if with_vectors else (_eigvalsh(*args),)

    def _finish(self, out, n_c: int, with_vectors: bool):
        """Eigenvalues (n_c, 3N) eV/(Å²·amu) and eigenvectors (n_c, 3N, 3N) or None of the first
        n_c (unpadded) q-points of a chunk, as numpy arrays."""
        if self.eigensolver == "jax":
            return np.asarray(out[0])[:n_c], (np.asarray(out[1])[:n_c] if with_vectors else None)
        from phonopy.harmonic.dynamical_matrix import diagonalize_dynamical_matrices

        return diagonalize_dynamical_matrices(out[0][:n_c], with_eigenvectors=with_vectors)

    def iter_chunks(self, qpoints, with_vectors: bool = False) -> Iterator[tuple[slice, np.ndarray, np.ndarray | None]]:
        """Yield ``(rows, frequencies, eigenvectors)`` chunk by chunk.

        Args:
            qpoints: (n_q, 3) reduced coordinates.
            with_vectors: also return eigenvectors (else None).

        Yields:
            rows: slice of ``qpoints`` covered by the chunk; frequencies (n_c, 3N) THz, ascending,
            imaginary modes negative; eigenvectors (n_c, 3N, 3N) complex128, columns are modes
            (without the atomic-position phase factors, see the module docstring).
        """
        qpoints = np.asarray(qpoints, dtype=float).reshape(-1, 3)
        n_dev = len(self.devices) if self.eigensolver == "jax" else 1
        n_chunks = -(-len(qpoints) // (self.chunk_per_device * n_dev))
        chunk = -(-len(qpoints) // (n_chunks * n_dev)) * n_dev  # balanced chunks: little padding
        bar = progress_bar(len(qpoints), self.progress or "", unit="q") if self.progress else None
        pending = None  # chunk k+1 is dispatched (JAX runs it asynchronously) before chunk k is finished
        for start in range(0, len(qpoints), chunk):
            rows = slice(start, min(start + chunk, len(qpoints)))
            q = qpoints[rows]
            if self.eigensolver == "jax" and len(q) < chunk:  # one compiled shape for all chunks
                q = np.concatenate([q, np.zeros((chunk - len(q), 3))])
            launched = (rows, self._dispatch(q, with_vectors))
            if pending is not None:
                yield self._result(*pending, with_vectors, bar)
            pending = launched
        if pending is not None:
            yield self._result(*pending, with_vectors, bar)
        if bar is not None:
            bar.close()

    def _result(self, rows: slice, out, with_vectors: bool, bar):
        """(rows, frequencies THz, eigenvectors or None) of a finished chunk, padding dropped."""
        n_c = rows.stop - rows.start
        values, vectors = self._finish(out, n_c, with_vectors)
        if bar is not None:
            bar.update(n_c)
        return rows, eigenvalues_to_thz(values), vectors

    def frequencies(self, qpoints) -> np.ndarray:
        """Frequencies (n_q, 3N) in THz at ``qpoints`` (n_q, 3) reduced; imaginary modes negative."""
        qpoints = np.asarray(qpoints, dtype=float).reshape(-1, 3)
        out = np.empty((len(qpoints), self.n_modes))
        for rows, freqs, _ in self.iter_chunks(qpoints):
            out[rows] = freqs
        return out
