// nanobind function of the Gonze–Lee Ewald sum's elementwise part (core/ewald.h) on numpy arrays.
//
//   gonze_weighted_outer(q_cart, directions, has_direction, g_cart, epsilon, lambda_, tolerance)
//     -> (n_q, 6, n_g)
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <stdexcept>

#include "ewald.h"

namespace nb = nanobind;

namespace {

using Vectors = nb::ndarray<const double, nb::numpy, nb::shape<-1, 3>, nb::c_contig, nb::device::cpu>;
using Flags = nb::ndarray<const uint8_t, nb::numpy, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Tensor = nb::ndarray<const double, nb::numpy, nb::shape<3, 3>, nb::c_contig, nb::device::cpu>;

nb::ndarray<nb::numpy, double> weighted_outer(Vectors q_cart, Vectors directions, Flags has_direction, Vectors g_cart,
                                              Tensor epsilon, double lambda, double tolerance) {
  const size_t n_q = q_cart.shape(0), n_g = g_cart.shape(0);
  if (directions.shape(0) != n_q || has_direction.shape(0) != n_q)
    throw std::invalid_argument("directions and has_direction must have one row per q-point");
  if (!(lambda > 0.0)) throw std::invalid_argument("the Ewald damping lambda_ must be positive");
  double* out = new double[n_q * 6 * n_g];
  {
    nb::gil_scoped_release release;
    phonax::gonze_weighted_outer(q_cart.data(), directions.data(), has_direction.data(), n_q, g_cart.data(), n_g,
                                 epsilon.data(), lambda, tolerance, out);
  }
  nb::capsule owner(out, [](void* p) noexcept { delete[] static_cast<double*>(p); });
  return nb::ndarray<nb::numpy, double>(out, {n_q, 6, n_g}, owner);
}

}  // namespace

void bind_ewald(nb::module_& m) {
  m.def("gonze_weighted_outer", &weighted_outer, nb::arg("q_cart"), nb::arg("directions"), nb::arg("has_direction"),
        nb::arg("g_cart"), nb::arg("epsilon"), nb::arg("lambda_"), nb::arg("tolerance"),
        "Damped outer products v_a v_b w of the Gonze-Lee Ewald sum, (n_q, 6, n_G) float64.\n\n"
        "q_cart and directions (n_q, 3) 1/Angstrom, has_direction (n_q,) uint8, g_cart (n_G, 3)\n"
        "1/Angstrom, epsilon (3, 3), lambda_ the damping (1/Angstrom), tolerance |K| below which\n"
        "K = q + G counts as zero. Pairs (a, b): (0,0) (0,1) (0,2) (1,1) (1,2) (2,2); see core/ewald.h.");
}
