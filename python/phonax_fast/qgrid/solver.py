"""Phonon frequencies and eigenvectors on chunks of q-points, sharded over JAX devices and processes.

For a chunk of q-points the dynamical matrices are one matrix product (``bloch_sum``),
``D[q] = (cos 2πq·T + i sin 2πq·T)[q, l] @ Φ̃[l, 3N·3N]``
with ``Φ̃_l = Φ(T_l) / √(m_i m_j)``. The atomic-position phases of ``ForceConstants.dynamical_matrices``
are left out: they are a diagonal unitary similarity, so they change neither eigenvalues nor
|eigenvector|², which is all that DOS, projected DOS and thermal properties use.

Three eigen-solvers (``MeshSolver(eigensolver=...)``), equal to round-off:

- ``"jax"``: D(q) (or its real form) and ``jnp.linalg.eigh`` in one jitted function, the chunk split over
  ``jax.devices()`` (``jax.sharding``), Φ̃ replicated; chunk k+1 is dispatched before chunk k
  is read back. The path for GPUs and several devices.
- ``"host"``: numpy builds D(q) and phonopy's batched CPU kernel (``diagonalize_dynamical_matrices``,
  values-only when no eigenvectors are needed) diagonalises it: no compilation, and on CPU several
  times faster than LAPACK ``heevd`` with eigenvectors, which is what ``jnp.linalg.eigh`` runs there.
- ``"cupy"`` (the ``gpu`` extra): the host path's steps with cupy on one GPU per process (its first
  JAX GPU, else cupy's current device); cupy diagonalises stacks of matrices with cuSOLVER's batched
  Jacobi solver, whose failures are raised here, not ignored (cupy's default). Chunks run one after
  another. Never picked by ``"auto"`` until a GPU measurement shows it faster than ``"jax"`` there
  (``benchmarks/bench_qgrid_gpu.py`` times both).

``"auto"`` picks ``"host"`` when the devices are CPUs and ``"jax"`` otherwise.

Crystals with an inversion centre (checked on the force constants, ``inversion.InversionForm``)
are solved in the real symmetric form of D(q) on either path: half the Bloch sum and a real
eigen-solve that costs a fraction of the Hermitian one (on the CPU, per 480×480 matrix: NumPy
7.3 ms real vs phonopy's kernel 12.4 ms complex on two cores; ``jnp.linalg.eigvalsh`` 19 ms real
vs 49 ms complex). On the host path the chunk is split over all cores (NumPy releases the GIL;
one BLAS thread per worker thread).

Several processes (``jax.distributed.initialize``; ``jax.devices()`` then lists the devices of all
of them): every process runs the same calls. Each chunk is cut into equal parts, one per device
(``"jax"``: a global array sharded over all devices) or one per process (``"host"``), and each
process reads back and yields only the rows of its own parts (``MeshSolver.iter_chunks``). Sums
over q are combined with ``MeshSolver.sum_over_processes`` (jax's ``multihost_utils``; on CPUs
its collectives run over gloo), so every process ends with the same results.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from threadpoolctl import ThreadpoolController

from ..harmonic.force_constants import CHECK_QPOINTS, ForceConstants, bloch_sum, hermitian_part, is_hermitian
from ..progress import progress_bar
from ..resources import free_memory
from ..units import eigenvalues_to_thz
from .inversion import InversionForm

_CHUNK_BYTES = 256 * 2**20  # per device: what one chunk of q-points may take, at most


def default_chunk_size(n_modes: int, devices, n_freq: int = 256) -> int:
    """q-points per device per chunk, so that a chunk takes at most min(free/8, 256 MiB) per device.

    A q-point costs its dynamical matrix, eigen-solver workspace and eigenvectors
    (~6 complex (3N)² arrays) and, in the DOS steps, two (n_freq, 3N) float arrays.

    Args:
        n_modes: 3N, size of a dynamical matrix.
        devices: the JAX devices the chunk is split over; only this process's own ones are
            looked at (simulated CPU devices share the host RAM).
        n_freq: frequency points the DOS steps sample per mode.
    """
    local = [d for d in devices if d.process_index == jax.process_index()]
    free = min(free_memory(d) for d in local)
    if local[0].platform == "cpu":
        free //= len(local)
    return _chunk_for(free, n_modes, n_freq)


def _chunk_for(free: int, n_modes: int, n_freq: int = 256) -> int:
    """q-points per chunk for ``free`` bytes on the device (see ``default_chunk_size``)."""
    per_q = 6 * 16 * n_modes**2 + 2 * 8 * n_modes * n_freq
    return max(1, min(free // 8, _CHUNK_BYTES) // per_q)


def _import_cupy():
    """The modules cupy and cupyx, if they import and see a CUDA device; else a ValueError that says why."""
    try:
        cp, cupyx = importlib.import_module("cupy"), importlib.import_module("cupyx")
        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device")
    except Exception as err:  # ImportError, or cupy's CUDA runtime errors without a GPU
        raise ValueError(
            f"eigensolver='cupy' needs cupy and a CUDA GPU (pip install 'phonax_fast[gpu]'): {err}") from err
    return cp, cupyx


class _CupyGPU:
    """The ``"cupy"`` path's device work on this process's GPU: its first JAX GPU among ``devices``,
    else cupy's current device. Solves raise cuSOLVER's failures instead of returning unconverged
    eigenpairs."""

    def __init__(self, devices):
        self.cp, self.cupyx = _import_cupy()
        local = [d for d in devices if d.process_index == jax.process_index()]
        self.device = self.cp.cuda.Device(local[0].local_hardware_id if local[0].platform == "gpu" else None)

    def free_bytes(self) -> int:
        with self.device:
            return int(self.cp.cuda.runtime.memGetInfo()[0])

    def upload(self, x):
        with self.device:
            return self.cp.asarray(x)

    def solve(self, q, with_vectors: bool, form=None, phi=None, translations=None, hermitise: bool = False,
              nac=None, inverse_masses=None):
        """(eigenvalues, eigenvectors or None) on the GPU, from the real ``form`` (arrays on the GPU)
        if given, else from the Bloch sum of ``phi``, ``translations`` (on the GPU) with the
        non-analytic term of ``nac`` if given, hermitised if asked."""
        cp = self.cp
        with self.device, self.cupyx.errstate(linalg="raise"):
            q = cp.asarray(q)
            if form is not None:
                return form.eigh(cp, q, with_vectors)
            d = _dynamical_matrices(cp, q, phi, translations, nac, inverse_masses)
            d = hermitian_part(d) if hermitise else d
            return tuple(cp.linalg.eigh(d)) if with_vectors else (cp.linalg.eigvalsh(d), None)

    def download(self, out, with_vectors: bool):
        with self.device:
            return self.cp.asnumpy(out[0]), (self.cp.asnumpy(out[1]) if with_vectors else None)


def _global_array(x: np.ndarray, sharding) -> jax.Array:
    """``x`` (the same on every process) laid out with ``sharding``, which may span several processes."""
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def _own_rows(array: jax.Array) -> np.ndarray:
    """The rows of a q-sharded array that live on this process's devices, in order, as numpy."""
    shards = sorted(array.addressable_shards, key=lambda shard: shard.index[0].start or 0)
    return np.concatenate([np.asarray(shard.data) for shard in shards])


def _dynamical_matrices(xp, q, phi, translations, nac=None, inverse_masses=None):
    """D'(q) (``bloch_sum``, no position phases), with the mass-weighted non-analytic term of
    ``nac`` (``harmonic.nac``; ``inverse_masses``: (3N, 3N) 1/√(m_i m_j)) when given."""
    d = bloch_sum(xp, q, phi, translations)
    return d if nac is None else d + nac.term(xp, q) * inverse_masses


@partial(jax.jit, static_argnames="with_vectors")
def _hermitian_eigh(q, phi, translations, nac, inverse_masses, with_vectors: bool):
    """(eigenvalues, eigenvectors or None) of the Hermitian D'(q) on JAX devices."""
    d = _dynamical_matrices(jnp, q, phi, translations, nac, inverse_masses)
    return tuple(jnp.linalg.eigh(d)) if with_vectors else (jnp.linalg.eigvalsh(d), None)


@partial(jax.jit, static_argnames="with_vectors")
def _real_form_eigh(form: InversionForm, q, with_vectors: bool):
    """(eigenvalues, eigenvectors of D'(q) or None) through the real form, on JAX devices; ``form``
    with its arrays on the devices (compiled once per crystal's structure of pairs and shapes)."""
    return form.eigh(jnp, q, with_vectors)


_BLAS = None  # threadpoolctl's controller, made on first use


def _on_all_cores(solve, q: np.ndarray, with_vectors: bool):
    """``solve(q_part) → (values, vectors or None)`` over parts of ``q`` in threads, one per core,
    with one BLAS thread each; the parts' results concatenated."""
    global _BLAS
    _BLAS = _BLAS or ThreadpoolController()
    n_threads = max(1, min(len(os.sched_getaffinity(0)), len(q)))
    with _BLAS.limit(limits=1, user_api="blas"), ThreadPoolExecutor(n_threads) as pool:
        parts = list(pool.map(solve, np.array_split(q, n_threads)))
    values = np.concatenate([v for v, _ in parts])
    return values, (np.concatenate([w for _, w in parts]) if with_vectors else None)


class MeshSolver:
    """Frequencies (THz) and eigenvectors of the dynamical matrices of ``fcs`` at many q-points.

    Args:
        fcs: compact force constants.
        eigensolver: ``"jax"``, ``"host"``, ``"cupy"`` or ``"auto"`` (see the module docstring).
        chunk_size: q-points per device per chunk; default from free memory (``default_chunk_size``),
            the smallest over the processes.
        devices: JAX devices to shard chunks over (``"jax"``); default ``jax.devices()``, which spans
            all processes of a ``jax.distributed`` run. Either this process's devices only (each
            process then computes everything itself) or devices of every process.
        progress: show a tqdm bar (see ``phonax_fast.progress``) with this description, or None;
            in a run of several processes only process 0 shows it.
        real_form: solve the real symmetric form of D(q) when the crystal has an inversion
            centre that the force constants obey (``inversion.InversionForm``); the same results
            to round-off. Not used with a non-analytic correction (``fcs.nac``), whose term is
            added to the complex D(q) on every path (at Γ itself it adds nothing, as phonopy's mesh).
    """

    def __init__(self, fcs: ForceConstants, eigensolver="auto", chunk_size=None, devices=None, progress="q-points",
                 real_form=True):
        # a process's devices are neighbours in the mesh, so that its rows of a chunk are contiguous
        self.devices = sorted(devices if devices is not None else jax.devices(), key=lambda d: (d.process_index, d.id))
        processes = {d.process_index for d in self.devices}
        if processes not in ({jax.process_index()}, set(range(jax.process_count()))):
            raise ValueError(
                f"devices belong to processes {sorted(processes)}; give this process's own devices "
                f"(process {jax.process_index()}) or devices of all {jax.process_count()} processes"
            )
        self.n_processes = len(processes)
        if eigensolver == "auto":
            eigensolver = "host" if self.devices[0].platform == "cpu" else "jax"
        if eigensolver not in ("jax", "host", "cupy"):
            raise ValueError(f"eigensolver must be 'auto', 'jax', 'host' or 'cupy'; got {eigensolver!r}")
        self.eigensolver = eigensolver
        self.n_modes = 3 * fcs.n_atoms
        self._gpu = _CupyGPU(self.devices) if eigensolver == "cupy" else None
        if self._gpu is not None:
            chunk = chunk_size or _chunk_for(self._gpu.free_bytes(), self.n_modes)
        else:
            chunk = chunk_size or default_chunk_size(self.n_modes, self.devices)
        self.chunk_per_device = int(self._over_processes(np.array([chunk]), np.min)[0])  # same chunks everywhere
        self.progress = progress if jax.process_index() == 0 else None
        self.form = InversionForm.build(fcs) if real_form and fcs.nac is None else None
        self._nac, self._inverse_masses = fcs.nac, None
        if fcs.nac is not None:
            inv = 1.0 / np.repeat(np.sqrt(np.asarray(fcs.masses, float)), 3)
            self._inverse_masses = np.outer(inv, inv)
        if self.form is None:  # (N_L, 9N²) and (N_L, 3); the real form holds its own rows
            self._phi, self._translations = fcs.mass_weighted(), np.asarray(fcs.translations, float)
        if self.form is None and eigensolver != "jax":
            # phonopy's kernel and cupy read one triangle of D(q): hand them (D + D†)/2 when the force
            # constants need it, as jnp.linalg.eigh (symmetrize_input) and ForceConstants.frequencies do
            self._hermitise = not is_hermitian(fcs.dynamical_matrices(CHECK_QPOINTS, hermitise=False))
        if self._gpu is not None:  # the arrays D(q) is built from, on the GPU
            if self.form is None:
                self._phi, self._translations = self._gpu.upload(self._phi), self._gpu.upload(self._translations)
                if self._nac is not None:
                    self._nac = jax.tree.map(self._gpu.upload, self._nac)
                    self._inverse_masses = self._gpu.upload(self._inverse_masses)
            else:
                self._device_form = jax.tree.map(self._gpu.upload, self.form)  # a pytree: arrays only
        if eigensolver == "jax":  # Φ̃ (or the real form's arrays) replicated on every device
            mesh = Mesh(np.array(self.devices), ("q",))
            self._q_sharding = NamedSharding(mesh, PartitionSpec("q"))
            replicated = NamedSharding(mesh, PartitionSpec())
            if self.form is None:
                self._phi = _global_array(self._phi, replicated)
                self._translations = _global_array(self._translations, replicated)
                if self._nac is not None:
                    self._nac = jax.tree.map(lambda x: _global_array(np.asarray(x), replicated), self._nac)
                    self._inverse_masses = _global_array(self._inverse_masses, replicated)
            else:
                self._device_form = jax.tree.map(lambda x: _global_array(np.asarray(x), replicated), self.form)

    def sum_over_processes(self, x: np.ndarray) -> np.ndarray:
        """Σ over the processes of the solver's devices of the equally shaped arrays ``x`` that each
        of them passes (every process gets the sum); ``x`` itself when the solver runs in one process."""
        return self._over_processes(x, np.sum)

    def _over_processes(self, x: np.ndarray, reduce) -> np.ndarray:
        if self.n_processes == 1:
            return np.asarray(x)
        return reduce(multihost_utils.process_allgather(np.asarray(x)), axis=0)

    def _own_parts(self) -> tuple[int, int]:
        """[first, last) of the equal parts of a chunk (one per device, or per process on the host
        path) that this process computes."""
        if self.eigensolver != "jax":
            rank = jax.process_index() if self.n_processes > 1 else 0
            return rank, rank + 1
        own = [k for k, d in enumerate(self.devices) if d.process_index == jax.process_index()]
        return own[0], own[-1] + 1

    def _dispatch(self, q: np.ndarray, with_vectors: bool):
        """Start the computation for q (n_c, 3): on the ``"jax"`` path a whole (padded) chunk as
        global arrays (async); on the host path this process's rows: D(q) built with numpy, or with
        a real form the rows solved here (eigenvalues, eigenvectors or None); on the ``"cupy"`` path
        this process's rows, built and solved on its GPU."""
        if self.eigensolver == "cupy":
            if self.form is not None:
                return self._gpu.solve(q, with_vectors, form=self._device_form)
            return self._gpu.solve(q, with_vectors, phi=self._phi, translations=self._translations,
                                   hermitise=self._hermitise, nac=self._nac, inverse_masses=self._inverse_masses)
        if self.eigensolver == "host":
            if self.form is not None:  # solved here, on all cores
                return _on_all_cores(partial(self.form.eigh, np, with_vectors=with_vectors), q, with_vectors)
            d = _dynamical_matrices(np, q, self._phi, self._translations, self._nac, self._inverse_masses)
            return (hermitian_part(d) if self._hermitise else d,)
        q = _global_array(q, self._q_sharding)
        if self.form is not None:
            return _real_form_eigh(self._device_form, q, with_vectors=with_vectors)
        return _hermitian_eigh(q, self._phi, self._translations, self._nac, self._inverse_masses,
                               with_vectors=with_vectors)

    def _finish(self, out, q: np.ndarray, with_vectors: bool):
        """Eigenvalues (n_c, 3N) eV/(Å²·amu) and eigenvectors (n_c, 3N, 3N) of D'(q) or None of this
        process's rows ``q`` (n_c, 3) of a chunk (padding dropped), as numpy arrays."""
        if self.eigensolver == "jax":
            return _own_rows(out[0])[: len(q)], (_own_rows(out[1])[: len(q)] if with_vectors else None)
        if self.eigensolver == "cupy":
            return self._gpu.download(out, with_vectors)
        if self.form is not None:
            return out  # already solved
        from phonopy.harmonic.dynamical_matrix import diagonalize_dynamical_matrices

        return diagonalize_dynamical_matrices(out[0], with_eigenvectors=with_vectors)

    def iter_chunks(self, qpoints, with_vectors: bool = False) -> Iterator[tuple[slice, np.ndarray, np.ndarray | None]]:
        """Yield ``(rows, frequencies, eigenvectors)`` chunk by chunk, this process's rows of each.

        In one process the rows of all chunks cover ``qpoints``; in several, each process gets its
        own share of every chunk (together they cover ``qpoints`` once): add up per-process sums
        with ``sum_over_processes``. Every process must call this with the same arguments.

        Args:
            qpoints: (n_q, 3) reduced coordinates.
            with_vectors: also return eigenvectors (else None).

        Yields:
            rows: slice of ``qpoints`` covered; frequencies (n_c, 3N) THz, ascending, imaginary modes
            negative; eigenvectors (n_c, 3N, 3N) complex128, columns are modes (without the
            atomic-position phase factors, see the module docstring).
        """
        qpoints = np.asarray(qpoints, dtype=float).reshape(-1, 3)
        n_q = len(qpoints)
        if n_q == 0:
            return
        n_parts = len(self.devices) if self.eigensolver == "jax" else self.n_processes
        n_chunks = -(-n_q // (self.chunk_per_device * n_parts))
        per_part = -(-n_q // (n_chunks * n_parts))  # balanced chunks: little padding
        chunk = per_part * n_parts
        first, last = self._own_parts()
        bar = progress_bar(n_q, self.progress, unit="q") if self.progress else None
        pending = None  # chunk k+1 is dispatched (JAX runs it asynchronously) before chunk k is finished
        for start in range(0, n_q, chunk):
            rows = slice(min(start + first * per_part, n_q), min(start + last * per_part, n_q))
            if self.eigensolver == "jax":  # every process takes part in every chunk; one compiled shape
                q = qpoints[start : start + chunk]
                out = self._dispatch(np.concatenate([q, np.zeros((chunk - len(q), 3))]), with_vectors)
            else:
                out = self._dispatch(qpoints[rows], with_vectors) if rows.stop > rows.start else None
            if pending is not None:
                yield from self._result(*pending, with_vectors, bar)
            pending = rows, qpoints[rows], out, min(chunk, n_q - start)
        if pending is not None:
            yield from self._result(*pending, with_vectors, bar)
        if bar is not None:
            bar.close()

    def _result(self, rows: slice, q: np.ndarray, out, n_chunk: int, with_vectors: bool, bar):
        """Yield (rows, frequencies THz, eigenvectors or None) of a finished chunk's own rows ``q``,
        padding dropped, unless there are none; ``n_chunk`` q-points of the chunk advance the bar."""
        if len(q):
            values, vectors = self._finish(out, q, with_vectors)
            yield rows, eigenvalues_to_thz(values), vectors
        if bar is not None:
            bar.update(n_chunk)

    def frequencies(self, qpoints) -> np.ndarray:
        """Frequencies (n_q, 3N) in THz at ``qpoints`` (n_q, 3) reduced; imaginary modes negative.
        Every process gets all of them."""
        qpoints = np.asarray(qpoints, dtype=float).reshape(-1, 3)
        out = np.zeros((len(qpoints), self.n_modes))
        for rows, freqs, _ in self.iter_chunks(qpoints):
            out[rows] = freqs
        return self.sum_over_processes(out)  # each row comes from one process, zeros from the others
