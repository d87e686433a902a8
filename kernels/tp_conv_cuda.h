// CUDA slot kernels of the tensor-product convolution: the contracts of core/tp_conv.h with
// device pointers in the same views.
#pragma once

#include <cuda_runtime_api.h>

#include "tp_conv.h"

namespace phonax::cuda {

// Launches the kernel of `slot` on `stream`; every output element is written. Returns the launch
// error, if any.
template <typename T>
cudaError_t tp_conv(cudaStream_t stream, Slot slot, const PathTable<T>& table, const Graph& graph,
                    const Operands<T>& in, const Output<T>& out);

}  // namespace phonax::cuda
