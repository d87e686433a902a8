// Slot kernels of the tensor-product convolution, written as one 4-linear form
//
//   T(x, Y, w, z) = sum_e sum_p sum_{u,i,j,k} C^p_{ijk} w[e, w_p + u] x[s_e, x_p + u d1 + i]
//                                              Y[e, y_p + j] z[r_e, o_p + u d3 + k]
//
// Each slot kernel returns the gradient of T with respect to one operand given the other three:
//   Slot::z  out[r, :]  scatter-sum into receivers (the forward message passing),
//   Slot::x  out[s, :]  scatter-sum into senders   (the transpose with respect to x),
//   Slot::y  out[e, :]  per edge,
//   Slot::w  out[e, :]  per edge.
// Scatters walk edges grouped by the scattered row (CSR: perm + ptr), so every output row is
// owned by one worker: no atomics and a fixed summation order (deterministic).
// Any dense operand may carry a leading batch dimension; unbatched ones are read once per edge
// for the whole batch. C++17, no XLA, no Python.
#pragma once

#include <cstdint>

#include "tp_path.h"

namespace phonax {

// The four operands, in the order of the handler's dense operands and of its attribute "slot".
enum class Slot : int { x = 0, y = 1, w = 2, z = 3 };

// Slot names as path_table_layout() exports them, indexed by Slot.
constexpr const char* kSlotNames[4] = {"x", "y", "w", "z"};

// The path table: which blocks each path couples (rows laid out as in tp_path.h) and its
// Clebsch-Gordan entries. The non-zero entries come in kCgCopies = 3 copies g = 0, 1, 2; copy g
// lists each path's entries (at [cg_off, cg_off + cg_len) of the path row) sorted by index g
// (i, j, k), and cg_ptr[(g * n_paths + p) * kCgPtrCols + v] is where the entries of path p with
// index g equal to v start (v = kMaxDim + 1: the path's end). The CPU kernels read copy 0 only.
template <typename T>
struct PathTable {
  const int32_t* paths;   // [n_paths, kPathCols]
  int64_t n_paths;
  const int32_t* cg_ijk;  // [3, nnz, 3] (i, j, k) of the non-zero entries
  const T* cg_val;        // [3, nnz]
  const int32_t* cg_ptr;  // [3, n_paths, kCgPtrCols]
  int64_t nnz;
};

// The edge list with both CSR groupings (all int32).
struct Graph {
  const int32_t* senders;    // [E]
  const int32_t* receivers;  // [E]
  const int32_t* perm_r;     // [E] edges ordered by receiver
  const int32_t* ptr_r;      // [n_z + 1] row starts into perm_r
  const int32_t* perm_s;     // [E] edges ordered by sender
  const int32_t* ptr_s;      // [n_x + 1] row starts into perm_s
  int64_t n_x;               // rows of x
  int64_t n_z;               // rows of z
};

// A dense operand [batch?, rows, width]; batch_stride is 0 when it has no batch dimension.
template <typename T>
struct Dense {
  const T* data;
  int64_t width;
  int64_t batch_stride;
  const T* row(int64_t b, int64_t r) const { return data + b * batch_stride + r * width; }
  bool batched() const { return batch_stride != 0; }
};

// The three inputs of a slot kernel, named by the slot they fill (the output's slot is unused).
template <typename T>
struct Operands {
  Dense<T> x, y, w, z;
};

// Whether a call takes the batched "shared-operand" fast path of the CPU and CUDA kernels:
// exactly one input carries the batch (a block of HVP tangents) and, except in slot w, that input
// is w. The two shared inputs are then contracted once per edge and path for the whole batch, and
// each batch element only pays for the last, linear step. The view of the output's slot is ignored.
template <typename T>
bool shared_operand_path(Slot slot, const Operands<T>& in) {
  const Dense<T>* by_slot[4] = {&in.x, &in.y, &in.w, &in.z};
  int n_batched = 0;
  for (int s = 0; s < 4; ++s) n_batched += s != static_cast<int>(slot) && by_slot[s]->batched();
  return n_batched == 1 && (slot == Slot::w || in.w.batched());
}

// The output [batch, rows, width] (batch = 1 without a batch dimension).
template <typename T>
struct Output {
  T* data;
  int64_t batch;
  int64_t rows;
  int64_t width;
};

// Computes output rows [row_begin, row_end) of slot `slot`; every element of those rows is
// written. Rows are receivers (z), senders (x) or edges (y, w).
template <typename T>
void tp_conv_rows(Slot slot, const PathTable<T>& table, const Graph& graph,
                  const Operands<T>& in, const Output<T>& out, int64_t row_begin,
                  int64_t row_end);

}  // namespace phonax
