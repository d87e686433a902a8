"""The q-grid engine across JAX processes (``jax.distributed``) gives the single-process results.

Two local processes on CPU (2 simulated devices each, so 4 global devices), connected through
``jax.distributed.initialize`` on a free localhost port; their cross-process collectives run over
gloo, jax's default CPU collectives. Each process computes DOS, projected DOS, thermal properties
and the mesh frequencies of phonopy's DFT NaCl with both eigen-solvers; the test compares what
every process gets with a run in this (single) process, and checks that the processes split
the q-points between them instead of each computing all of them.
"""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
from phonax_fast.qgrid import MeshSolver, make_mesh, mesh_dos, mesh_frequencies, mesh_projected_dos, mesh_thermal_properties

N_PROCESSES = 2
SOLVERS = ("jax", "host")
TIMEOUT = 120  # s; a process that dies leaves the others waiting in a collective

WORKER = textwrap.dedent(
    """
    import sys
    import jax

    port, process_id, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    jax.distributed.initialize(f"localhost:{port}", num_processes=%d, process_id=process_id,
                               initialization_timeout=60)

    import numpy as np
    import reference_data
    from test_qgrid_distributed import compute

    fcs = reference_data.load_nacl()
    np.savez(path, process_count=jax.process_count(), n_devices=len(jax.devices()),
             n_local_devices=jax.local_device_count(), **compute(fcs))
    """
    % N_PROCESSES
)


def compute(phonon) -> dict:
    """Everything the engine makes from a phonopy object, with both eigen-solvers, as a flat dict.

    ``rows_<solver>``: the q-point indices of a 9³ mesh that this process's ``iter_chunks`` yielded.
    """
    fcs = force_constants_from_phonopy(phonon)
    out = {}
    for solver in SOLVERS:
        options = dict(eigensolver=solver, chunk_size=3, progress=None)
        out[f"tetrahedron_{solver}"] = mesh_dos(fcs, 9, **options)[1]
        out[f"gaussian_{solver}"] = mesh_dos(fcs, 9, method="gaussian", **options)[1]
        thermal = mesh_thermal_properties(fcs, 9, [100, 300], **options)
        out[f"thermal_{solver}"] = np.array([thermal[k] for k in ("free_energy", "entropy", "heat_capacity")])
        out[f"zero_point_{solver}"] = np.array(thermal["zero_point_energy"])
        out[f"pdos_{solver}"] = mesh_projected_dos(fcs, 4, projection="element", **options)[1]
        out[f"frequencies_{solver}"] = mesh_frequencies(fcs, 9, **options).frequencies
        qpoints = make_mesh(fcs, 9).qpoints
        chunks = MeshSolver(fcs, **options).iter_chunks(qpoints)
        out[f"rows_{solver}"] = np.concatenate([np.arange(len(qpoints))[rows] for rows, _, _ in chunks])
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, phonopy_nacl):
    """(single-process results, [results of each of the processes of a distributed run])."""
    d = tmp_path_factory.mktemp("distributed")
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    here = Path(__file__).resolve()
    env["PYTHONPATH"] = os.pathsep.join([str(here.parent), str(here.parents[1]), str(here.parents[2]), env.get("PYTHONPATH", "")])
    port = _free_port()
    paths = [d / f"process{k}.npz" for k in range(N_PROCESSES)]
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(port), str(k), str(path)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for k, path in enumerate(paths)
    ]
    single = compute(phonopy_nacl)  # meanwhile, in this process
    logs = []
    try:
        for worker in workers:
            logs.append(worker.communicate(timeout=TIMEOUT)[0])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for k, worker in enumerate(workers):
        assert worker.returncode == 0, f"process {k} failed:\n" + "\n".join(log[-3000:] for log in logs)
    return single, [dict(np.load(path)) for path in paths]


def test_processes_see_each_others_devices(runs):
    _, processes = runs
    for p in processes:
        assert int(p["process_count"]) == N_PROCESSES
        assert int(p["n_local_devices"]) == 2 and int(p["n_devices"]) == 2 * N_PROCESSES


@pytest.mark.parametrize("solver", SOLVERS)
def test_processes_split_the_q_points(runs, solver):
    single, processes = runs
    shares = [p[f"rows_{solver}"] for p in processes]
    assert all(len(share) > 0 for share in shares)
    np.testing.assert_array_equal(np.sort(np.concatenate(shares)), single[f"rows_{solver}"])


@pytest.mark.parametrize("quantity", ["tetrahedron", "gaussian", "thermal", "zero_point", "pdos", "frequencies"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_every_process_gets_the_single_process_result(runs, quantity, solver):
    single, processes = runs
    a = single[f"{quantity}_{solver}"]
    for p in processes:
        np.testing.assert_allclose(p[f"{quantity}_{solver}"], a, rtol=1e-12, atol=1e-12 * np.abs(a).max())
