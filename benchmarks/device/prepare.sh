#!/usr/bin/env bash
# Run HERE (the machine with package registries) before a lent-GPU session: fills .whl/ (git-ignored,
# carried to the device) with the Python 3.12 wheels the device image lacks, the q-grid
# benchmark's input (phonopy's DFT Si force constants) as .whl/si.npz and phonopy's sdist (test data).
#
#   bash benchmarks/device/prepare.sh            # then, with the device tool:
#   run(command="bash benchmarks/device/checks.sh", carry=[".whl"], timeout_s=560)  # steps capped at 120+90+150+70 s after the build
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
# What the device image (jax 0.11 with CUDA 13, numpy, scipy, nanobind, scikit-build-core, cmake,
# pytest, ... see the device tool's KINDS.md) does not hold; cuequivariance for the comparison row.
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d .whl \
  e3nn-jax==0.21.0 phonopy==4.10.0 phonors==0.8.0 symfc==1.8.0 spglib==2.8.0 ase==3.29.0 seekpath==2.2.2 \
  cuequivariance==0.13.0 cuequivariance-jax==0.13.0 cuequivariance-ops-jax-cu13==0.13.0 \
  cuequivariance-ops-cu13==0.13.0 platformdirs
python3 -m benchmarks.bench_qgrid_gpu --save .whl/si.npz  # phonopy's Si through studies/phonopy_sdist.py
# phonopy's source distribution: the DFT test data of the q-grid tests (PHONAX_TEST_DATA there)
python3 -m pip download -q --no-deps --no-binary phonopy phonopy==4.10.0 -d .whl/phonopy_data
rm -rf .whl/phonopy_data/*/  # an extracted copy would not fit in what a device call carries (64 MiB)
du -sh .whl
