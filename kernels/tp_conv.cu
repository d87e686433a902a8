// CUDA slot kernels of the tensor-product convolution (contracts in core/tp_conv.h).
//
// Every output element has one owner, so there are no atomics and sums have a fixed order:
//   z, x: one block per (output row, batch element), one thread per output column at a time; the
//         row's edges are staged in shared memory in CSR order and each column walks the
//         Clebsch-Gordan entries of its path grouped by its own index (cg_ptr); on the
//         shared-operand path (only w batched, shared_operand_path in core/tp_conv.h) a block
//         takes up to kMaxChunk elements and contracts once for all (add_weighted);
//   y, w: one warp per (edge, batch element), channels across the lanes (y: a warp reduction);
//         on the shared-operand path (one batched operand) a warp takes up to kMaxChunk elements,
//         contracting once (slot w: weight_shared_channel; slot y: add_weighted).
// Blocks (warps) of one row (edge) and consecutive batch elements are numbered next to each other,
// so a block of HVP tangents reads the shared primal rows while they are still in L2.
#include "tp_conv_cuda.h"

#include <algorithm>
#include <cstdint>

// Two hooks, so that tests/ops/cuda_emulation can run these kernels on the CPU: the launch and the
// block's dynamic shared memory.
#ifndef PHONAX_LAUNCH
#define PHONAX_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#endif
#ifndef PHONAX_DYNAMIC_SHARED
#define PHONAX_DYNAMIC_SHARED(name) extern __shared__ unsigned char name[]
#endif

namespace phonax::cuda {
namespace {

constexpr int kScatterThreads = 256;       // threads per block of the scatter kernels
constexpr int64_t kSmemBudget = 96 * 1024;  // shared memory per scatter block (bytes)
constexpr int kMaxTile = 32;               // most edges staged at a time
constexpr int kMinTile = 4;                // fewest, when batch elements share a block
constexpr int kMaxChunk = 8;               // most batch elements per block (warp) sharing operands
constexpr int kEdgeThreads = 128;  // 4 warps per block of the per-edge kernels

template <typename T>
__device__ inline const T* row_of(const Dense<T>& d, int64_t b, int64_t r) {
  return d.data + (d.batch_stride != 0 ? b * d.batch_stride : 0) + r * d.width;
}

// Entries [begin, end) of path p in copy g whose index g equals v.
template <typename T>
__device__ inline int2 entries(const PathTable<T>& t, int g, int p, int v) {
  const int32_t* row = t.cg_ptr + (g * t.n_paths + p) * kCgPtrCols;
  return make_int2(row[v], row[v + 1]);
}

// acc[bb] += w_{b0 + bb}[e, w_col] * part for the chunk's nb <= N batch elements from b0. On the
// shared-operand paths where w carries the batch (scatter slots, slot y) `part` is the contraction
// of the shared operands, done once for the whole chunk; with N = 1 it is the plain last step.
template <int N, typename T>
__device__ inline void add_weighted(const Dense<T>& w, int64_t b0, int nb, int64_t e, int w_col,
                                    T part, T* acc) {
#pragma unroll
  for (int bb = 0; bb < N; ++bb)
    if (bb < nb) acc[bb] += row_of(w, b0 + bb, e)[w_col] * part;
}

// Scatter slots: one block per (output row, chunk of batch elements), threads across the row's
// columns. The row's edges are walked in CSR order in tiles whose operand rows (the gathered node
// row, the harmonics and, unless shared, the weights) are first copied into shared memory by the
// whole block (coalesced, many loads in flight); each column's sums live in shared memory and have
// one owner thread.
// z: out[b, r, (p, u, k)] = sum_e w[e, u] sum_{i,j} C_ijk x[s_e, u, i] Y[e, j]
// x: out[b, s, (a, u, i)] = sum_e sum_{p reads a} w[e, u] sum_{j,k} C_ijk Y[e, j] z[r_e, u, k]
// kSharedW: only w carries the batch (HVP tangents entering through the weights), so the node row
// and Y are staged once per edge for the block's whole chunk, each contraction is done once, and
// every batch element of the chunk adds it scaled by its own w. Otherwise a chunk is one element.
template <typename T, bool kForward, bool kSharedW>
__global__ void scatter_kernel(PathTable<T> t, Graph g, Operands<T> in, Output<T> out, int tile,
                               int chunk) {
  PHONAX_DYNAMIC_SHARED(smem);
  const Dense<T>& node = kForward ? in.x : in.z;  // operand gathered from the other end
  const int node_w = node.width, y_w = in.y.width, w_w = kSharedW ? 0 : in.w.width;
  const int row_w = node_w + y_w + w_w;  // staged values per edge
  const int64_t n_chunks = (out.batch + chunk - 1) / chunk;
  const int64_t row = blockIdx.x / n_chunks, b0 = blockIdx.x % n_chunks * chunk;
  const int nb = out.batch - b0 < chunk ? static_cast<int>(out.batch - b0) : chunk;
  T* s_acc = reinterpret_cast<T*>(smem);  // [chunk, out.width]
  T* s_rows = s_acc + chunk * out.width;   // [tile, row_w]
  int* s_edge = reinterpret_cast<int*>(s_rows + tile * row_w);  // edge, or -1 if out of range

  const int32_t* perm = kForward ? g.perm_r : g.perm_s;
  const int32_t* ptr = kForward ? g.ptr_r : g.ptr_s;
  const int32_t* other = kForward ? g.senders : g.receivers;
  const int64_t n_other = kForward ? g.n_x : g.n_z;
  const int group = kForward ? 2 : 0;  // CG copy sorted by k (z) or by i (x)
  const int32_t* ijk = t.cg_ijk + group * t.nnz * 3;
  const T* val = t.cg_val + group * t.nnz;
  constexpr int kAcc = kSharedW ? kMaxChunk : 1;

  for (int n = threadIdx.x; n < nb * out.width; n += blockDim.x) s_acc[n] = 0;
  for (int q0 = ptr[row]; q0 < ptr[row + 1]; q0 += tile) {
    const int count = min(tile, ptr[row + 1] - q0);
    __syncthreads();
    for (int idx = threadIdx.x; idx < count * row_w; idx += blockDim.x) {
      const int m = idx / row_w, col = idx % row_w;
      const int e = perm[q0 + m];
      const int o = other[e];
      const bool ok = o >= 0 && o < n_other;
      T v = 0;
      if (col < node_w)
        v = ok ? row_of(node, b0, o)[col] : T(0);
      else if (col < node_w + y_w)
        v = row_of(in.y, b0, e)[col - node_w];
      else
        v = row_of(in.w, b0, e)[col - node_w - y_w];
      s_rows[idx] = v;
      if (col == 0) s_edge[m] = ok ? e : -1;
    }
    __syncthreads();
    for (int c = threadIdx.x; c < out.width; c += blockDim.x) {
      T acc[kAcc];
#pragma unroll
      for (int bb = 0; bb < kAcc; ++bb) acc[bb] = bb < nb ? s_acc[bb * out.width + c] : T(0);
      for (int p = 0; p < t.n_paths; ++p) {
        const PathRow P = load_path(t.paths, p);
        const int off = kForward ? P.o_off : P.x_off, d = kForward ? P.d3 : P.d1;
        if (c < off || c >= off + P.mul * d) continue;
        const int u = (c - off) / d;
        const int2 range = entries(t, group, p, (c - off) % d);
        for (int m = 0; m < count; ++m) {
          const int e = s_edge[m];
          if (e < 0) continue;
          const T* nrow = s_rows + m * row_w;
          const T* y = nrow + node_w + P.y_off;
          T part = 0;
          if (kForward) {
            const T* x = nrow + P.x_off + u * P.d1;
            for (int n = range.x; n < range.y; ++n) part += val[n] * x[ijk[3 * n]] * y[ijk[3 * n + 1]];
          } else {
            const T* z = nrow + P.o_off + u * P.d3;
            for (int n = range.x; n < range.y; ++n) part += val[n] * y[ijk[3 * n + 1]] * z[ijk[3 * n + 2]];
          }
          if constexpr (kSharedW)
            add_weighted<kMaxChunk>(in.w, b0, nb, e, P.w_off + u, part, acc);
          else
            acc[0] += nrow[node_w + y_w + P.w_off + u] * part;
        }
        if (kForward) break;  // an output column belongs to one path
      }
#pragma unroll
      for (int bb = 0; bb < kAcc; ++bb)
        if (bb < nb) s_acc[bb * out.width + c] = acc[bb];
    }
  }
  __syncthreads();
  for (int n = threadIdx.x; n < nb * out.width; n += blockDim.x)
    out.data[((b0 + n / out.width) * out.rows + row) * out.width + n % out.width] = s_acc[n];
}

template <typename T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Slot w, one channel u of path P for one batch element: sum_{ijk} C_ijk x[u, i] Y[j] z[u, k]
// over the path's entries (ijk, val: any CG copy; the kernel passes copy 0).
template <typename T>
__device__ inline T weight_channel(const int32_t* ijk, const T* val, const PathRow& P, const T* x,
                                   const T* y, const T* z) {
  T acc = 0;
  for (int n = P.cg_off; n < P.cg_off + P.cg_len; ++n) {
    const int32_t* c = ijk + 3 * n;
    acc += val[n] * x[c[0]] * y[c[1]] * z[c[2]];
  }
  return acc;
}

// Slot y, one channel: sum_{(i, k) in range} C_ijk x[u, i] z[u, k] over the entries of one j.
template <typename T>
__device__ inline T harmonic_channel(const int32_t* ijk, const T* val, int2 range, const T* x,
                                     const T* z) {
  T h = 0;
  for (int n = range.x; n < range.y; ++n) h += val[n] * x[ijk[3 * n]] * z[ijk[3 * n + 2]];
  return h;
}

// Which operand carries the batch on the shared-operand path of slot w: 0 = x, 1 = Y, 2 = z
// (also the CG copy sorted by that operand's index).
template <typename T>
__device__ inline int weight_batched_operand(const Operands<T>& in) {
  return in.x.batch_stride != 0 ? 0 : in.y.batch_stride != 0 ? 1 : 2;
}

// Slot w on the shared-operand path, one channel u of path p for the chunk's nb batch elements
// from b0: the entries are grouped by the index q of the batched operand (ijk, val: the CG copy
// `batched`), the two shared factors among x, Y, z (rows of batch element b0, the same for all)
// are contracted once per q, and acc[bb] += a_bb[q] * v[q] with each element's own batched row a.
template <typename T>
__device__ inline void weight_shared_channel(const PathTable<T>& t, const int32_t* ijk,
                                             const T* val, const Operands<T>& in,
                                             const PathRow& P, int p, int batched, int u,
                                             const T* x, const T* y, const T* z, int64_t b0,
                                             int nb, int s, int64_t e, int r, T* acc) {
  const int dim = batched == 0 ? P.d1 : batched == 1 ? P.d2 : P.d3;
  for (int q = 0; q < dim; ++q) {
    const int2 range = entries(t, batched, p, q);
    T v = 0;  // the entries whose batched index is q, times the two shared factors
    for (int n = range.x; n < range.y; ++n) {
      const int32_t* c = ijk + 3 * n;
      v += val[n] * (batched == 0   ? y[c[1]] * z[c[2]]
                     : batched == 1 ? x[c[0]] * z[c[2]]
                                    : x[c[0]] * y[c[1]]);
    }
#pragma unroll
    for (int bb = 0; bb < kMaxChunk; ++bb) {
      if (bb >= nb) continue;
      const T a = batched == 0   ? row_of(in.x, b0 + bb, s)[P.x_off + u * P.d1 + q]
                  : batched == 1 ? row_of(in.y, b0 + bb, e)[P.y_off + q]
                                 : row_of(in.z, b0 + bb, r)[P.o_off + u * P.d3 + q];
      acc[bb] += a * v;
    }
  }
}

// Per-edge slots: one warp per (edge, chunk of batch elements), channels u across the lanes.
// w: out[b, e, (p, u)] = sum_{ijk} C_ijk x[s, u, i] Y[e, j] z[r, u, k]
// y: out[b, e, j]      = sum_p sum_{ik} C_ijk sum_u w[e, u] x[s, u, i] z[r, u, k]
// kShared: exactly one operand carries the batch (slot w: one of x, Y, z; slot y: w), so the two
// shared ones are contracted once per (path, channel, index of the batched operand) and each
// batch element of the warp's chunk only multiplies by its own values. Otherwise a chunk is one
// element.
template <typename T, bool kShared>
__global__ void edge_kernel(Slot slot, PathTable<T> t, Graph g, Operands<T> in, Output<T> out,
                            int chunk) {
  constexpr int kAcc = kShared ? kMaxChunk : 1;
  const int lane = threadIdx.x % 32;
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  const int64_t n_chunks = (out.batch + chunk - 1) / chunk;
  if (warp >= n_chunks * out.rows) return;
  const int64_t e = warp / n_chunks, b0 = warp % n_chunks * chunk;
  const int nb = out.batch - b0 < chunk ? static_cast<int>(out.batch - b0) : chunk;
  auto out_row = [&](int bb) { return out.data + ((b0 + bb) * out.rows + e) * out.width; };
  const int s = g.senders[e], r = g.receivers[e];
  if (s < 0 || s >= g.n_x || r < 0 || r >= g.n_z) {
    for (int bb = 0; bb < nb; ++bb)
      for (int c = lane; c < out.width; c += 32) out_row(bb)[c] = 0;
    return;
  }
  const T* x_row = row_of(in.x, b0, s);  // shared rows ignore the batch element
  const T* z_row = row_of(in.z, b0, r);
  if (slot == Slot::w) {
    const T* y_row = row_of(in.y, b0, e);
    const int batched = kShared ? weight_batched_operand(in) : 0;
    const int32_t* ijk = t.cg_ijk + batched * t.nnz * 3;  // sorted by the batched operand's index
    const T* val = t.cg_val + batched * t.nnz;
    for (int p = 0; p < t.n_paths; ++p) {
      const PathRow P = load_path(t.paths, p);
      for (int u = lane; u < P.mul; u += 32) {
        const T* x = x_row + P.x_off + u * P.d1;
        const T* y = y_row + P.y_off;
        const T* z = z_row + P.o_off + u * P.d3;
        T acc[kAcc] = {};
        if constexpr (kShared)
          weight_shared_channel(t, ijk, val, in, P, p, batched, u, x, y, z, b0, nb, s, e, r, acc);
        else
          acc[0] = weight_channel(ijk, val, P, x, y, z);
#pragma unroll
        for (int bb = 0; bb < kAcc; ++bb)
          if (bb < nb) out_row(bb)[P.w_off + u] = acc[bb];
      }
    }
    return;
  }
  const int32_t* ijk = t.cg_ijk + t.nnz * 3;  // copy sorted by j
  const T* val = t.cg_val + t.nnz;
  for (int c = 0; c < out.width; ++c) {
    T acc[kAcc] = {};
    for (int p = 0; p < t.n_paths; ++p) {
      const PathRow P = load_path(t.paths, p);
      if (c < P.y_off || c >= P.y_off + P.d2) continue;
      const int2 range = entries(t, 1, p, c - P.y_off);
      for (int u = lane; u < P.mul; u += 32) {
        const T* x = x_row + P.x_off + u * P.d1;
        const T* z = z_row + P.o_off + u * P.d3;
        add_weighted<kAcc>(in.w, b0, nb, e, P.w_off + u, harmonic_channel(ijk, val, range, x, z),
                           acc);
      }
    }
#pragma unroll
    for (int bb = 0; bb < kAcc; ++bb) {
      if (bb >= nb) continue;  // the same for the whole warp
      const T sum = warp_sum(acc[bb]);
      if (lane == 0) out_row(bb)[c] = sum;
    }
  }
}

// Scatter slots z, x: chunk and tile sizes, then the launch.
template <typename T>
cudaError_t launch_scatter(cudaStream_t stream, Slot slot, const PathTable<T>& table,
                           const Graph& graph, const Operands<T>& in, const Output<T>& out) {
  const Dense<T>& node = slot == Slot::z ? in.x : in.z;
  const bool shared_w = shared_operand_path(slot, in);
  // Batch elements per block and edges per tile: as many staged operand rows as fit next to the
  // column sums, trading chunk for tile until a tile holds kMinTile edges.
  const int64_t row_bytes =
      (node.width + in.y.width + (shared_w ? 0 : in.w.width)) * sizeof(T) + sizeof(int);
  const int64_t acc_bytes = out.width * sizeof(T);
  auto tile_for = [&](int64_t chunk) {
    return std::min<int64_t>(kMaxTile, (kSmemBudget - chunk * acc_bytes) / row_bytes);
  };
  int64_t chunk = shared_w ? std::min<int64_t>(kMaxChunk, out.batch) : 1;
  while (chunk > 1 && tile_for(chunk) < kMinTile) --chunk;
  const int64_t tile = tile_for(chunk);
  if (tile < 1) return cudaErrorInvalidValue;  // rows too wide for shared memory
  const int smem = static_cast<int>(chunk * acc_bytes + tile * row_bytes);
  const dim3 grid(static_cast<unsigned>(out.rows * ((out.batch + chunk - 1) / chunk)));
  auto kernel = slot == Slot::z ? (shared_w ? scatter_kernel<T, true, true> : scatter_kernel<T, true, false>)
                                : (shared_w ? scatter_kernel<T, false, true> : scatter_kernel<T, false, false>);
  if (cudaError_t err =
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem))
    return err;
  PHONAX_LAUNCH(kernel, grid, kScatterThreads, smem, stream)(
      table, graph, in, out, static_cast<int>(tile), static_cast<int>(chunk));
  return cudaSuccess;
}

// Per-edge slots y, w: chunk size, then the launch.
template <typename T>
cudaError_t launch_edge(cudaStream_t stream, Slot slot, const PathTable<T>& table,
                        const Graph& graph, const Operands<T>& in, const Output<T>& out) {
  const bool shared = shared_operand_path(slot, in);
  const int64_t chunk = shared ? std::min<int64_t>(kMaxChunk, out.batch) : 1;
  const int64_t warps = out.rows * ((out.batch + chunk - 1) / chunk);
  const int64_t blocks = (warps * 32 + kEdgeThreads - 1) / kEdgeThreads;
  auto kernel = shared ? edge_kernel<T, true> : edge_kernel<T, false>;
  PHONAX_LAUNCH(kernel, static_cast<unsigned>(blocks), kEdgeThreads, 0, stream)(
      slot, table, graph, in, out, static_cast<int>(chunk));
  return cudaSuccess;
}

}  // namespace

template <typename T>
cudaError_t tp_conv(cudaStream_t stream, Slot slot, const PathTable<T>& table, const Graph& graph,
                    const Operands<T>& in, const Output<T>& out) {
  if (out.batch * out.rows * out.width == 0) return cudaSuccess;
  if (out.batch * out.rows > INT32_MAX) return cudaErrorInvalidConfiguration;  // blocks or warps
  const cudaError_t err = slot == Slot::z || slot == Slot::x
                              ? launch_scatter(stream, slot, table, graph, in, out)
                              : launch_edge(stream, slot, table, graph, in, out);
  if (err != cudaSuccess) return err;
  return cudaGetLastError();
}

template cudaError_t tp_conv<float>(cudaStream_t, Slot, const PathTable<float>&, const Graph&,
                                    const Operands<float>&, const Output<float>&);
template cudaError_t tp_conv<double>(cudaStream_t, Slot, const PathTable<double>&, const Graph&,
                                     const Operands<double>&, const Output<double>&);

}  // namespace phonax::cuda
