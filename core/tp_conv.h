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

namespace phonax {

enum class Slot : int { x = 0, y = 1, w = 2, z = 3 };

// Columns of one row of the path table (int32 [n_paths, kPathCols]).
enum PathCol : int {
  kXOff = 0,   // first column of the path's x block
  kYOff,       // first column of its Y block
  kOOff,       // first column of its output (z) block
  kWOff,       // first column of its weights
  kMul,        // channels u
  kD1,         // dimension of the x irrep
  kD2,         // dimension of the Y irrep
  kD3,         // dimension of the output irrep
  kCgOff,      // first Clebsch-Gordan entry of the path
  kCgLen,      // number of Clebsch-Gordan entries
  kPathCols
};

// Entries per path and index value in cg_ptr (irrep dimensions up to 7, l <= 3).
constexpr int kMaxDim = 7;

// The path table: which blocks each path couples and its Clebsch-Gordan entries. The non-zero
// entries come in three copies g = 0, 1, 2; copy g lists each path's entries (at
// [cg_off, cg_off + cg_len) of the path row) sorted by index g (i, j, k), and
// cg_ptr[(g * n_paths + p) * (kMaxDim + 2) + v] is where the entries of path p with index g equal
// to v start (v = kMaxDim + 1: the path's end). The CPU kernels read copy 0 only.
template <typename T>
struct PathTable {
  const int32_t* paths;   // [n_paths, kPathCols]
  int64_t n_paths;
  const int32_t* cg_ijk;  // [3, nnz, 3] (i, j, k) of the non-zero entries
  const T* cg_val;        // [3, nnz]
  const int32_t* cg_ptr;  // [3, n_paths, kMaxDim + 2]
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
  int64_t n_edges;
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

// Largest d1 * d3 of the path table (scratch size per batch element).
int64_t max_block(const int32_t* paths, int64_t n_paths);

}  // namespace phonax
