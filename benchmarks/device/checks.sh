#!/usr/bin/env bash
# Run ON THE LENT GPU MACHINE (after benchmarks/device/prepare.sh here, with .whl carried): builds
# the CUDA kernels, runs the fused-kernel tests with JAX's default device the GPU (the marked GPU
# tests and every other test of those files then run the CUDA path), the q-grid tests (real form and
# Hermitian path on the GPU against the host), the fused-vs-e3nn benchmark
# (with achieved bandwidth and cuequivariance-jax) and the q-grid GPU scaling. Logs and JSON go to
# $OUT (the device tool brings them back); each step's failure is logged and the next step runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
OUT=${OUT:-out/device}
mkdir -p "$OUT"
if ! python3 -c "import e3nn_jax, phonopy, ase, spglib, seekpath" 2>/dev/null; then  # the bare device image
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 1; }
fi
export PYTHONPATH=/tmp/pf:/tmp/site
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$OUT/gpu.csv" 2>&1
start=$(date +%s)
PHONAX_CUDA=ON CMAKE_BUILD_PARALLEL_LEVEL=16 python3 -m pip install -q --no-build-isolation --no-deps --no-index \
  --target /tmp/pf . > "$OUT/build.log" 2>&1 || { echo "build failed"; tail -40 "$OUT/build.log"; exit 1; }
echo "build: $(( $(date +%s) - start )) s"
python3 -c "import jax, phonax_fast._native as n; print(jax.devices(), n.build_info())" 2>&1 | tee "$OUT/info.txt"
timeout 120 python3 -m pytest -q -p no:cacheprovider --noconftest tests/ops/test_fused_tp.py tests/models/test_fused_model.py \
  tests/test_native.py 2>&1 | tee "$OUT/tests.log" | tail -15
# the q-grid engine's real form and Hermitian path on the GPU (eigensolvers "jax" and "cupy") against the host path
mkdir -p /tmp/phonopy_data && cp .whl/phonopy_data/*.tar.gz /tmp/phonopy_data/  # extracted there, not here
PHONAX_TEST_DATA=/tmp/phonopy_data timeout 90 python3 -m pytest -q -p no:cacheprovider \
  tests/qgrid/test_qgrid_inversion.py tests/qgrid/test_qgrid_inputs.py tests/qgrid/test_qgrid_cupy.py 2>&1 | tee "$OUT/qgrid_tests.log" | tail -8
timeout 150 python3 benchmarks/bench_fused.py --atoms 64 216 --channels 32 64 --repeats 3 --hvp-blocks 4 2>&1 \
  | tee "$OUT/bench_fused.log" | tail -30
timeout 70 python3 benchmarks/bench_qgrid_gpu.py .whl/si.npz "$OUT/qgrid_gpu.json" 50 2>&1 \
  | tee "$OUT/bench_qgrid_gpu.log" | tail -15
echo "total: $(( $(date +%s) - start )) s"
