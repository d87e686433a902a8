// The path table's layout: one row per path of the tensor product, read by the CPU kernels
// (core/tp_conv.cc), the CUDA kernels (kernels/tp_conv.cu) and written by the Python package
// (python/phonax_fast/ops/tp_paths.py), which reads this layout from phonax_fast._core
// (path_table_layout(), bindings/module.cc). Plain C++17; host and device code with nvcc.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define PHONAX_HOST_DEVICE __host__ __device__
#else
#define PHONAX_HOST_DEVICE
#endif

namespace phonax {

// Columns of one row of the path table (int32 [n_paths, kPathCols]).
enum PathCol : int {
  kXOff = 0,  // first column of the path's x block
  kYOff,      // first column of its Y block
  kOOff,      // first column of its output (z) block
  kWOff,      // first column of its weights
  kMul,       // channels u
  kD1,        // dimension of the x irrep
  kD2,        // dimension of the Y irrep
  kD3,        // dimension of the output irrep
  kCgOff,     // first Clebsch-Gordan entry of the path
  kCgLen,     // number of Clebsch-Gordan entries
  kPathCols
};

// Largest irrep dimension of the kernels (l <= kMaxL).
constexpr int kMaxL = 3;
constexpr int kMaxDim = 2 * kMaxL + 1;
// Entries per path and index value in cg_ptr: the starts of index values 0 .. kMaxDim, then the
// path's end.
constexpr int kCgPtrCols = kMaxDim + 2;
// Copies of the Clebsch-Gordan entries: copy g sorted by index g of (i, j, k).
constexpr int kCgCopies = 3;

// One row of the path table, its members in column order (checked below).
struct PathRow {
  int32_t x_off, y_off, o_off, w_off, mul, d1, d2, d3, cg_off, cg_len;
};

static_assert(sizeof(PathRow) == kPathCols * sizeof(int32_t), "PathRow is one table row");
static_assert(offsetof(PathRow, x_off) == kXOff * sizeof(int32_t) &&
                  offsetof(PathRow, y_off) == kYOff * sizeof(int32_t) &&
                  offsetof(PathRow, o_off) == kOOff * sizeof(int32_t) &&
                  offsetof(PathRow, w_off) == kWOff * sizeof(int32_t) &&
                  offsetof(PathRow, mul) == kMul * sizeof(int32_t) &&
                  offsetof(PathRow, d1) == kD1 * sizeof(int32_t) &&
                  offsetof(PathRow, d2) == kD2 * sizeof(int32_t) &&
                  offsetof(PathRow, d3) == kD3 * sizeof(int32_t) &&
                  offsetof(PathRow, cg_off) == kCgOff * sizeof(int32_t) &&
                  offsetof(PathRow, cg_len) == kCgLen * sizeof(int32_t),
              "PathRow members must follow PathCol");

// Row p of the table paths [n_paths, kPathCols] (Index: int64_t on the host, int on the device,
// which keeps the device's index arithmetic 32-bit).
template <typename Index>
PHONAX_HOST_DEVICE inline PathRow load_path(const int32_t* paths, Index p) {
  const int32_t* q = paths + p * kPathCols;
  return {q[kXOff], q[kYOff], q[kOOff], q[kWOff], q[kMul],
          q[kD1],   q[kD2],   q[kD3],   q[kCgOff], q[kCgLen]};
}

// The column names that path_table_layout() exports, the names of PathRow's members.
struct PathColName {
  const char* name;
  PathCol col;
};
constexpr PathColName kPathColNames[kPathCols] = {
    {"x_off", kXOff}, {"y_off", kYOff}, {"o_off", kOOff}, {"w_off", kWOff},   {"mul", kMul},
    {"d1", kD1},      {"d2", kD2},      {"d3", kD3},      {"cg_off", kCgOff}, {"cg_len", kCgLen}};

}  // namespace phonax
