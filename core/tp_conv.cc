// CPU slot kernels of the tensor-product convolution (see tp_conv.h).
//
// Per edge e and path p the Clebsch-Gordan block is first contracted with the edge harmonics,
// M[i, k] = sum_j C_{ijk} Y[e, y_p + j] (d1 x d3, at most 7 x 7), which every channel u and
// every batch element then reuses:
//   z: out[r, u, k] += w[e, u] sum_i x[s, u, i] M[i, k]
//   x: out[s, u, i] += w[e, u] sum_k M[i, k] z[r, u, k]
//   w: out[e, u]     = sum_{i,k} x[s, u, i] M[i, k] z[r, u, k]
//   y: out[e, j]    += sum_{ijk} C_{ijk} G[i, k],  G[i, k] = sum_u w[e, u] x[s, u, i] z[r, u, k]
// The batch is walked in tiles so that the rows a tile touches stay in cache.
//
// In a block of Hessian-vector products every batched call has exactly one batched operand (the
// tangent); the others are primal values shared by the whole batch. When that operand enters
// linearly after a contraction of the two shared ones, the contraction is done once per edge and
// path and each batch element only pays for the last, cheapest step (shared_operand_path in
// tp_conv.h decides; one function per slot family below):
//   scatter_shared,  z, x slots, batched w:    base[u, :] from x M (or M z) once,
//                                              out_b[u, :] += w_b[u] base[u, :]
//   weight_shared,   w slot, batched x | z | Y: out_b[u] = <x_b[u, :], M z[u, :]>
//                                              | <x[u, :] M, z_b[u, :]> | sum_j Y_b[j] H[j, u]
//   harmonic_shared, y slot, batched w:        out_b[j] += sum_u w_b[u] H[j, u]
// with H[j, u] = sum_{ik} C_{ijk} x[u, i] z[u, k].
#include "tp_conv.h"

#include <algorithm>
#include <type_traits>
#include <vector>

namespace phonax {
namespace {

constexpr int64_t kBatchTile = 16;

// Per-worker scratch: contracted blocks M of a batch tile, and one shared per-path contraction
// (base[u, :] or H[j, u], at most mul * kMaxDim values).
template <typename T>
struct Scratch {
  std::vector<T> blocks, base;
};

// M[i * d3 + k] = sum_j C_{ijk} y[j].
template <typename T>
void contract_y(const PathTable<T>& t, const PathRow& p, const T* y, T* m) {
  std::fill(m, m + p.d1 * p.d3, T(0));
  for (int32_t n = p.cg_off; n < p.cg_off + p.cg_len; ++n) {
    const int32_t* ijk = t.cg_ijk + 3 * n;
    m[ijk[0] * p.d3 + ijk[2]] += t.cg_val[n] * y[ijk[1]];
  }
}

// Contracted blocks M for batch elements [b0, b1) (one shared block when Y has no batch).
template <typename T>
const T* blocks_for_tile(const PathTable<T>& t, const PathRow& p, const Dense<T>& y,
                         int64_t e, int64_t b0, int64_t b1, std::vector<T>& scratch) {
  const int64_t size = p.d1 * p.d3;
  const int64_t count = y.batched() ? b1 - b0 : 1;
  if (static_cast<int64_t>(scratch.size()) < count * size) scratch.resize(count * size);
  for (int64_t c = 0; c < count; ++c)
    contract_y(t, p, y.row(y.batched() ? b0 + c : 0, e) + p.y_off, scratch.data() + c * size);
  return scratch.data();
}

// Per-path inner loops over the channels with the irrep dimensions D1 (x) and D3 (output) known
// at compile time (1, 3, 5 or 7), so that the small loops unroll and stay in registers.
// m is the contracted block M[i * D3 + k].
struct Blocks {
  // o[u, k] += w[u] sum_i x[u, i] M[i, k]
  template <typename T, int D1, int D3>
  static void forward(const T* m, const T* x, const T* w, T* o, int mul) {
    for (int u = 0; u < mul; ++u, x += D1, o += D3) {
      T acc[D3] = {};
      for (int i = 0; i < D1; ++i)
        for (int k = 0; k < D3; ++k) acc[k] += x[i] * m[i * D3 + k];
      for (int k = 0; k < D3; ++k) o[k] += w[u] * acc[k];
    }
  }
  // o[u, i] += w[u] sum_k M[i, k] z[u, k]
  template <typename T, int D1, int D3>
  static void backward_x(const T* m, const T* z, const T* w, T* o, int mul) {
    for (int u = 0; u < mul; ++u, z += D3, o += D1)
      for (int i = 0; i < D1; ++i) {
        T acc = 0;
        for (int k = 0; k < D3; ++k) acc += m[i * D3 + k] * z[k];
        o[i] += w[u] * acc;
      }
  }
  // o[u] = sum_{i,k} x[u, i] M[i, k] z[u, k]
  template <typename T, int D1, int D3>
  static void weight(const T* m, const T* x, const T* z, T* o, int mul) {
    for (int u = 0; u < mul; ++u, x += D1, z += D3) {
      T acc = 0;
      for (int i = 0; i < D1; ++i) {
        T mz = 0;
        for (int k = 0; k < D3; ++k) mz += m[i * D3 + k] * z[k];
        acc += x[i] * mz;
      }
      o[u] = acc;
    }
  }
  // gram[i, k] = sum_u w[u] x[u, i] z[u, k]
  template <typename T, int D1, int D3>
  static void gram(const T* x, const T* z, const T* w, T* g, int mul) {
    T acc[D1 * D3] = {};
    for (int u = 0; u < mul; ++u, x += D1, z += D3)
      for (int i = 0; i < D1; ++i) {
        const T wx = w[u] * x[i];
        for (int k = 0; k < D3; ++k) acc[i * D3 + k] += wx * z[k];
      }
    for (int n = 0; n < D1 * D3; ++n) g[n] = acc[n];
  }
  // base[u, k] = sum_i x[u, i] M[i, k]
  template <typename T, int D1, int D3>
  static void contract_x(const T* m, const T* x, T* base, int mul) {
    for (int u = 0; u < mul; ++u, x += D1, base += D3) {
      T acc[D3] = {};
      for (int i = 0; i < D1; ++i)
        for (int k = 0; k < D3; ++k) acc[k] += x[i] * m[i * D3 + k];
      for (int k = 0; k < D3; ++k) base[k] = acc[k];
    }
  }
  // base[u, i] = sum_k M[i, k] z[u, k]
  template <typename T, int D1, int D3>
  static void contract_z(const T* m, const T* z, T* base, int mul) {
    for (int u = 0; u < mul; ++u, z += D3, base += D1)
      for (int i = 0; i < D1; ++i) {
        T acc = 0;
        for (int k = 0; k < D3; ++k) acc += m[i * D3 + k] * z[k];
        base[i] = acc;
      }
  }
};

// o[u, :] += w[u] base[u, :] over D values per channel.
template <typename T, int D>
void scale_add(const T* base, const T* w, T* o, int mul) {
  for (int u = 0; u < mul; ++u, base += D, o += D)
    for (int d = 0; d < D; ++d) o[d] += w[u] * base[d];
}

// o[u] = sum_d a[u, d] b[u, d] over D values per channel.
template <typename T, int D>
void row_dots(const T* a, const T* b, T* o, int mul) {
  for (int u = 0; u < mul; ++u, a += D, b += D) {
    T acc = 0;
    for (int d = 0; d < D; ++d) acc += a[d] * b[d];
    o[u] = acc;
  }
}

// h[j * mul + u] = sum_{ijk} C_{ijk} x[u, i] z[u, k] for one path (x, z at the path's blocks).
template <typename T>
void edge_harmonic_weights(const PathTable<T>& t, const PathRow& p, const T* x, const T* z, T* h) {
  std::fill(h, h + p.d2 * p.mul, T(0));
  for (int32_t n = p.cg_off; n < p.cg_off + p.cg_len; ++n) {
    const int32_t* ijk = t.cg_ijk + 3 * n;
    const T c = t.cg_val[n];
    T* hj = h + ijk[1] * p.mul;
    for (int u = 0; u < p.mul; ++u) hj[u] += c * x[u * p.d1 + ijk[0]] * z[u * p.d3 + ijk[2]];
  }
}

template <int N>
using Dim = std::integral_constant<int, N>;

// Calls f(Dim<d1>, Dim<d3>) for irrep dimensions d1, d3 in {1, 3, 5, 7}.
template <typename F>
void with_dims(int d1, int d3, F&& f) {
  auto second = [&](auto D1) {
    switch (d3) {
      case 1: f(D1, Dim<1>{}); break;
      case 3: f(D1, Dim<3>{}); break;
      case 5: f(D1, Dim<5>{}); break;
      default: f(D1, Dim<7>{}); break;
    }
  };
  switch (d1) {
    case 1: second(Dim<1>{}); break;
    case 3: second(Dim<3>{}); break;
    case 5: second(Dim<5>{}); break;
    default: second(Dim<7>{}); break;
  }
}

// Calls f(Dim<d>) for an irrep dimension d in {1, 3, 5, 7}.
template <typename F>
void with_dim(int d, F&& f) {
  with_dims(d, 1, [&](auto D, auto) { f(D); });
}

template <typename T>
T* out_row(const Output<T>& out, int64_t b, int64_t r) {
  return out.data + (b * out.rows + r) * out.width;
}

template <typename T>
void zero_rows(const Output<T>& out, int64_t r, int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; ++b) std::fill_n(out_row(out, b, r), out.width, T(0));
}

// Scatter slots z, x on the shared-operand path (only w batched): the shared node row a (x of the
// sender for z, z of the receiver for x) is contracted with the block M once, and every batch
// element b in [b0, b1) adds it scaled by its own weights w_b of edge e.
template <typename T>
void scatter_shared(bool fwd, const PathRow& p, const Dense<T>& w, const Output<T>& out,
                    int64_t e, int64_t row, const T* m, const T* a, int64_t b0, int64_t b1,
                    Scratch<T>& scratch) {
  T* base = scratch.base.data();
  with_dims(p.d1, p.d3, [&](auto D1, auto D3) {
    if (fwd)
      Blocks::contract_x<T, D1, D3>(m, a + p.x_off, base, p.mul);
    else
      Blocks::contract_z<T, D1, D3>(m, a + p.o_off, base, p.mul);
  });
  with_dim(fwd ? p.d3 : p.d1, [&](auto D) {
    for (int64_t b = b0; b < b1; ++b)
      scale_add<T, D>(base, w.row(b, e) + p.w_off, out_row(out, b, row) + (fwd ? p.o_off : p.x_off),
                      p.mul);
  });
}

// Scatter slots: the row is a receiver (z) or a sender (x).
template <typename T>
void scatter_row(Slot slot, const PathTable<T>& t, const Graph& g, const Operands<T>& in,
                 const Output<T>& out, int64_t row, Scratch<T>& scratch) {
  const bool fwd = slot == Slot::z;
  const int32_t* perm = fwd ? g.perm_r : g.perm_s;
  const int32_t* ptr = fwd ? g.ptr_r : g.ptr_s;
  const int32_t* other = fwd ? g.senders : g.receivers;
  const int64_t n_other = fwd ? g.n_x : g.n_z;
  const Dense<T>& src = fwd ? in.x : in.z;  // the node operand gathered from the other end
  const bool shared = shared_operand_path(slot, in);
  for (int64_t b0 = 0; b0 < out.batch; b0 += kBatchTile) {
    const int64_t b1 = std::min(out.batch, b0 + kBatchTile);
    zero_rows(out, row, b0, b1);
    for (int32_t q = ptr[row]; q < ptr[row + 1]; ++q) {
      const int64_t e = perm[q];
      const int64_t s = other[e];
      if (s < 0 || s >= n_other) continue;
      for (int64_t ip = 0; ip < t.n_paths; ++ip) {
        const PathRow p = load_path(t.paths, ip);
        const int64_t size = p.d1 * p.d3;
        const T* blocks = blocks_for_tile(t, p, in.y, e, b0, b1, scratch.blocks);
        if (shared) {
          scatter_shared(fwd, p, in.w, out, e, row, blocks, src.row(0, s), b0, b1, scratch);
          continue;
        }
        for (int64_t b = b0; b < b1; ++b) {
          const T* m = blocks + (in.y.batched() ? (b - b0) * size : 0);
          const T* w = in.w.row(in.w.batched() ? b : 0, e) + p.w_off;
          const T* a = src.row(src.batched() ? b : 0, s);
          T* o = out_row(out, b, row);
          with_dims(p.d1, p.d3, [&](auto D1, auto D3) {
            if (fwd)
              Blocks::forward<T, D1, D3>(m, a + p.x_off, w, o + p.o_off, p.mul);
            else
              Blocks::backward_x<T, D1, D3>(m, a + p.o_off, w, o + p.x_off, p.mul);
          });
        }
      }
    }
  }
}

// Slot w on the shared-operand path (exactly one of x, Y, z batched): the contraction of the two
// shared operands once, then one dot per channel and batch element b in [b0, b1).
template <typename T>
void weight_shared(const PathTable<T>& t, const PathRow& p, const Operands<T>& in,
                   const Output<T>& out, int64_t e, int64_t s, int64_t r, int64_t b0, int64_t b1,
                   Scratch<T>& scratch) {
  T* base = scratch.base.data();
  if (in.y.batched()) {  // out_b[u] = sum_j Y_b[j] H[j, u]
    edge_harmonic_weights(t, p, in.x.row(0, s) + p.x_off, in.z.row(0, r) + p.o_off, base);
    for (int64_t b = b0; b < b1; ++b) {
      const T* y = in.y.row(b, e) + p.y_off;
      T* o = out_row(out, b, e) + p.w_off;
      std::fill_n(o, p.mul, T(0));
      for (int j = 0; j < p.d2; ++j)
        for (int u = 0; u < p.mul; ++u) o[u] += y[j] * base[j * p.mul + u];
    }
    return;
  }
  const T* m = blocks_for_tile(t, p, in.y, e, b0, b1, scratch.blocks);
  const bool x_batched = in.x.batched();
  with_dims(p.d1, p.d3, [&](auto D1, auto D3) {
    if (x_batched)
      Blocks::contract_z<T, D1, D3>(m, in.z.row(0, r) + p.o_off, base, p.mul);
    else
      Blocks::contract_x<T, D1, D3>(m, in.x.row(0, s) + p.x_off, base, p.mul);
  });
  with_dim(x_batched ? p.d1 : p.d3, [&](auto D) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* a = x_batched ? in.x.row(b, s) + p.x_off : in.z.row(b, r) + p.o_off;
      row_dots<T, D>(base, a, out_row(out, b, e) + p.w_off, p.mul);
    }
  });
}

// Slot y on the shared-operand path (only w batched): H[j, u] of edge e once, then
// out_b[j] += sum_u w_b[u] H[j, u] for every batch element b in [b0, b1).
template <typename T>
void harmonic_shared(const PathTable<T>& t, const PathRow& p, const Operands<T>& in,
                     const Output<T>& out, int64_t e, int64_t s, int64_t r, int64_t b0, int64_t b1,
                     Scratch<T>& scratch) {
  T* h = scratch.base.data();
  edge_harmonic_weights(t, p, in.x.row(0, s) + p.x_off, in.z.row(0, r) + p.o_off, h);
  for (int64_t b = b0; b < b1; ++b) {
    const T* w = in.w.row(b, e) + p.w_off;
    T* o = out_row(out, b, e) + p.y_off;
    for (int j = 0; j < p.d2; ++j) {
      T acc = 0;
      for (int u = 0; u < p.mul; ++u) acc += w[u] * h[j * p.mul + u];
      o[j] += acc;
    }
  }
}

// Per-edge slots y and w.
template <typename T>
void edge_row(Slot slot, const PathTable<T>& t, const Graph& g, const Operands<T>& in,
              const Output<T>& out, int64_t e, Scratch<T>& scratch) {
  const int64_t s = g.senders[e];
  const int64_t r = g.receivers[e];
  const bool valid = s >= 0 && s < g.n_x && r >= 0 && r < g.n_z;
  const bool shared = shared_operand_path(slot, in);
  for (int64_t b0 = 0; b0 < out.batch; b0 += kBatchTile) {
    const int64_t b1 = std::min(out.batch, b0 + kBatchTile);
    zero_rows(out, e, b0, b1);
    if (!valid) continue;
    for (int64_t ip = 0; ip < t.n_paths; ++ip) {
      const PathRow p = load_path(t.paths, ip);
      if (shared) {
        if (slot == Slot::w)
          weight_shared(t, p, in, out, e, s, r, b0, b1, scratch);
        else
          harmonic_shared(t, p, in, out, e, s, r, b0, b1, scratch);
        continue;
      }
      const int64_t size = p.d1 * p.d3;
      const T* blocks = slot == Slot::w ? blocks_for_tile(t, p, in.y, e, b0, b1, scratch.blocks)
                                        : nullptr;
      for (int64_t b = b0; b < b1; ++b) {
        const T* x = in.x.row(in.x.batched() ? b : 0, s) + p.x_off;
        const T* z = in.z.row(in.z.batched() ? b : 0, r) + p.o_off;
        T* o = out_row(out, b, e);
        if (slot == Slot::w) {
          const T* m = blocks + (in.y.batched() ? (b - b0) * size : 0);
          with_dims(p.d1, p.d3, [&](auto D1, auto D3) {
            Blocks::weight<T, D1, D3>(m, x, z, o + p.w_off, p.mul);
          });
        } else {
          const T* w = in.w.row(in.w.batched() ? b : 0, e) + p.w_off;
          T gram[kMaxDim * kMaxDim];
          with_dims(p.d1, p.d3, [&](auto D1, auto D3) {
            Blocks::gram<T, D1, D3>(x, z, w, gram, p.mul);
          });
          for (int32_t n = p.cg_off; n < p.cg_off + p.cg_len; ++n) {
            const int32_t* ijk = t.cg_ijk + 3 * n;
            o[p.y_off + ijk[1]] += t.cg_val[n] * gram[ijk[0] * p.d3 + ijk[2]];
          }
        }
      }
    }
  }
}

// Largest d1 * d3 of the path table (scratch size per batch element).
int64_t max_block(const int32_t* paths, int64_t n_paths) {
  int64_t m = 1;
  for (int64_t p = 0; p < n_paths; ++p) {
    const PathRow row = load_path(paths, p);
    m = std::max<int64_t>(m, int64_t(row.d1) * row.d3);
  }
  return m;
}

}  // namespace

template <typename T>
void tp_conv_rows(Slot slot, const PathTable<T>& table, const Graph& graph,
                  const Operands<T>& in, const Output<T>& out, int64_t row_begin,
                  int64_t row_end) {
  Scratch<T> scratch;
  scratch.blocks.resize(kBatchTile * max_block(table.paths, table.n_paths));
  int64_t max_mul = 1;
  for (int64_t p = 0; p < table.n_paths; ++p)
    max_mul = std::max<int64_t>(max_mul, load_path(table.paths, p).mul);
  scratch.base.resize(max_mul * kMaxDim);
  for (int64_t row = row_begin; row < row_end; ++row) {
    if (slot == Slot::z || slot == Slot::x)
      scatter_row(slot, table, graph, in, out, row, scratch);
    else
      edge_row(slot, table, graph, in, out, row, scratch);
  }
}

template void tp_conv_rows<float>(Slot, const PathTable<float>&, const Graph&,
                                  const Operands<float>&, const Output<float>&, int64_t, int64_t);
template void tp_conv_rows<double>(Slot, const PathTable<double>&, const Graph&,
                                   const Operands<double>&, const Output<double>&, int64_t,
                                   int64_t);

}  // namespace phonax
