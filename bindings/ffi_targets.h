// FFI handler symbols exported by phonax_fast._core (defined with XLA_FFI_DEFINE_HANDLER_SYMBOL).
#pragma once

#include "xla/ffi/api/api.h"

// Tensor-product convolution slot kernels, target "phonax_tp_conv".
XLA_FFI_DECLARE_HANDLER_SYMBOL(PhonaxTpConvCpu);
#ifdef PHONAX_WITH_CUDA
XLA_FFI_DECLARE_HANDLER_SYMBOL(PhonaxTpConvCuda);
#endif
