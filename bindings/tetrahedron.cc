// nanobind functions of the linear tetrahedron method (core/tetrahedron.h) on numpy arrays.
//
//   tetrahedron_weights(values, mesh, relative, grid_points, freqs) -> (n_points, n_freq, n_band)
//   tetrahedron_dos(values, mesh, relative, grid_points, point_weights, freqs) -> (n_freq,)
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <stdexcept>

#include "tetrahedron.h"

namespace nb = nanobind;

namespace {

using Values = nb::ndarray<const double, nb::numpy, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Vector = nb::ndarray<const double, nb::numpy, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Indices = nb::ndarray<const int64_t, nb::numpy, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Relative = nb::ndarray<const int64_t, nb::numpy, nb::shape<24, 4, 3>, nb::c_contig, nb::device::cpu>;
using Mesh = nb::ndarray<const int64_t, nb::numpy, nb::shape<3>, nb::c_contig, nb::device::cpu>;

phonax::TetrahedronGrid make_grid(const Values& values, const Mesh& mesh, const Relative& relative) {
  phonax::TetrahedronGrid grid{values.data(), static_cast<int64_t>(values.shape(1)),
                               {mesh(0), mesh(1), mesh(2)}, relative.data()};
  if (grid.mesh[0] * grid.mesh[1] * grid.mesh[2] != static_cast<int64_t>(values.shape(0)))
    throw std::invalid_argument("values must have one row per grid point (prod(mesh) rows)");
  return grid;
}

void check_points(const Indices& grid_points, const Values& values) {
  const int64_t n_grid = static_cast<int64_t>(values.shape(0));
  for (size_t p = 0; p < grid_points.shape(0); ++p)
    if (grid_points(p) < 0 || grid_points(p) >= n_grid)
      throw std::invalid_argument("grid point index out of range");
}

nb::ndarray<nb::numpy, double> owned(double* data, std::initializer_list<size_t> shape) {
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<double*>(p); });
  return nb::ndarray<nb::numpy, double>(data, shape, owner);
}

nb::ndarray<nb::numpy, double> weights(Values values, Mesh mesh, Relative relative, Indices grid_points,
                                       Vector freqs) {
  const auto grid = make_grid(values, mesh, relative);
  check_points(grid_points, values);
  const size_t n_p = grid_points.shape(0), n_f = freqs.shape(0), n_b = values.shape(1);
  double* out = new double[n_p * n_f * n_b];
  {
    nb::gil_scoped_release release;
    phonax::tetrahedron_weights(grid, grid_points.data(), n_p, freqs.data(), n_f, out);
  }
  return owned(out, {n_p, n_f, n_b});
}

nb::ndarray<nb::numpy, double> dos(Values values, Mesh mesh, Relative relative, Indices grid_points,
                                   Vector point_weights, Vector freqs) {
  const auto grid = make_grid(values, mesh, relative);
  check_points(grid_points, values);
  if (point_weights.shape(0) != grid_points.shape(0))
    throw std::invalid_argument("point_weights must have one entry per grid point");
  const size_t n_f = freqs.shape(0);
  double* out = new double[n_f]();
  {
    nb::gil_scoped_release release;
    phonax::tetrahedron_dos(grid, grid_points.data(), point_weights.data(), grid_points.shape(0),
                            freqs.data(), n_f, out);
  }
  return owned(out, {n_f});
}

}  // namespace

void bind_tetrahedron(nb::module_& m) {
  m.def("tetrahedron_weights", &weights, nb::arg("values"), nb::arg("mesh"), nb::arg("relative"),
        nb::arg("grid_points"), nb::arg("freqs"),
        "Linear-tetrahedron DOS weights (n_points, n_freq, n_band) of the given grid points.\n\n"
        "values (n_grid, n_band) float64 on the whole grid (index a0 + a1 n0 + a2 n0 n1), mesh (3,)\n"
        "int64, relative (24, 4, 3) int64 tetrahedron vertices (central vertex first), grid_points\n"
        "(n_points,) int64, freqs (n_freq,) float64 ascending. Units: 1/[values].");
  m.def("tetrahedron_dos", &dos, nb::arg("values"), nb::arg("mesh"), nb::arg("relative"),
        nb::arg("grid_points"), nb::arg("point_weights"), nb::arg("freqs"),
        "Σ_p point_weights[p] Σ_band tetrahedron weights, (n_freq,) float64; arguments as\n"
        "tetrahedron_weights, point_weights (n_points,) float64.");
}
