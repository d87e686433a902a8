// Linear tetrahedron method on a regular q-grid (Blöchl; phonopy's integration weights).
//
// Grid point g has address a = (g % n0, g / n0 % n1, g / (n0 n1)); the 24 tetrahedra around it
// are given as relative addresses rel[t][v][3] with the central vertex (0, 0, 0) first.
// The density-of-states weight of band b of grid point g at frequency w is
//   W(g, w, b) = (1/6) Σ_t I_c(w; ε_t) g(w; ε_t),
// ε_t the band's values at the 4 vertices of tetrahedron t, c the rank of the central vertex among
// them, I and g as in phonopy's tetrahedron_method (its THM_EPSILON guards included). Summed over
// bands and over the grid with weight 1/n_grid, W gives the DOS per unit cell. Grid points are
// processed in fixed blocks on all hardware threads; sums do not depend on the thread count.
#pragma once

#include <cstdint>

namespace phonax {

struct TetrahedronGrid {
  const double* values;       // (n_grid, n_band): e.g. frequencies at every grid point
  int64_t n_band;
  int64_t mesh[3];
  const int64_t* relative;    // (24, 4, 3) relative addresses, central vertex first
};

// weights (n_points, n_freq, n_band) = W(grid_points[p], freqs[f], b); freqs ascending.
void tetrahedron_weights(const TetrahedronGrid& grid, const int64_t* grid_points, int64_t n_points,
                         const double* freqs, int64_t n_freq, double* weights);

// dos (n_freq) += Σ_p point_weights[p] Σ_b W(grid_points[p], freqs[f], b); freqs ascending.
void tetrahedron_dos(const TetrahedronGrid& grid, const int64_t* grid_points,
                     const double* point_weights, int64_t n_points, const double* freqs,
                     int64_t n_freq, double* dos);

}  // namespace phonax
