"""The q-grid engine gives the same results on 1 and on 4 (simulated CPU) JAX devices."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    import jax
    import numpy as np
    import reference_data
    from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
    from phonax_fast.qgrid import mesh_dos, mesh_projected_dos, mesh_thermal_properties

    fcs = force_constants_from_phonopy(reference_data.load_nacl())
    out = {}
    for solver in ("jax", "host"):
        options = dict(eigensolver=solver, chunk_size=3, progress=None)
        out[f"tetrahedron_{solver}"] = mesh_dos(fcs, 9, **options)[1]
        out[f"gaussian_{solver}"] = mesh_dos(fcs, 9, method="gaussian", **options)[1]
        thermal = mesh_thermal_properties(fcs, 9, [100, 300], **options)
        out[f"thermal_{solver}"] = np.array([thermal[k] for k in ("free_energy", "entropy", "heat_capacity")])
        out[f"pdos_{solver}"] = mesh_projected_dos(fcs, 4, **options)[1]
    np.savez(sys.argv[1], n_devices=len(jax.devices()), **out)
    """
)


def _run(n_devices: int, path: Path) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n_devices}", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=env, check=True)
    return dict(np.load(path))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("devices")
    return _run(1, d / "one.npz"), _run(4, d / "four.npz")


def test_four_devices_are_used(runs):
    one, four = runs
    assert int(one["n_devices"]) == 1 and int(four["n_devices"]) == 4


@pytest.mark.parametrize("quantity", ["tetrahedron", "gaussian", "thermal", "pdos"])
@pytest.mark.parametrize("solver", ["jax", "host"])
def test_one_and_four_devices_agree(runs, quantity, solver):
    one, four = runs
    a, b = one[f"{quantity}_{solver}"], four[f"{quantity}_{solver}"]
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12 * np.abs(a).max())
