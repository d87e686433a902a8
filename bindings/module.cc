// The nanobind module phonax_fast._core: XLA FFI handlers as capsules and build information.
//
//   registrations() -> {"cpu": {target: capsule}, "cuda": {target: capsule}}
//   build_info()    -> {"version": str, "backends": [str], "cuda": bool}
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "ffi_targets.h"

namespace nb = nanobind;

void bind_tetrahedron(nb::module_& m);  // bindings/tetrahedron.cc

namespace {

template <typename Fn>
nb::capsule capsule(Fn* fn) {
  return nb::capsule(reinterpret_cast<void*>(fn));
}

nb::dict registrations() {
  nb::dict cpu, cuda, all;
  cpu["phonax_tp_conv"] = capsule(PhonaxTpConvCpu);
#ifdef PHONAX_WITH_CUDA
  cuda["phonax_tp_conv"] = capsule(PhonaxTpConvCuda);
#endif
  all["cpu"] = cpu;
  all["cuda"] = cuda;
  return all;
}

nb::dict build_info() {
  nb::dict info;
  nb::list backends;
  backends.append("cpu");
#ifdef PHONAX_WITH_CUDA
  backends.append("cuda");
#endif
  info["version"] = PHONAX_VERSION;
  info["backends"] = backends;
  info["cuda"] = nb::bool_(backends.size() > 1);
  return info;
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "Native kernels of phonax_fast: XLA FFI handlers exported as capsules.";
  m.def("registrations", &registrations,
        "FFI handlers by platform: {'cpu': {target: capsule}, 'cuda': {...}}.");
  m.def("build_info", &build_info,
        "What this build holds: {'version': str, 'backends': [str], 'cuda': bool}.");
  bind_tetrahedron(m);
}
