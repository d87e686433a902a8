// The nanobind module phonax_fast._core: XLA FFI handlers as capsules and build information.
//
//   registrations()     -> {"cpu": {target: capsule}, "cuda": {target: capsule}}
//   build_info()        -> {"version": str, "backends": [str], "cuda": bool}
//   path_table_layout() -> the kernels' path-table layout and slot order (core/tp_path.h,
//                          core/tp_conv.h), which python/phonax_fast/ops/tp_paths.py reads
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "ffi_targets.h"
#include "tp_conv.h"
#include "tp_path.h"

namespace nb = nanobind;

void bind_tetrahedron(nb::module_& m);  // bindings/tetrahedron.cc
void bind_ewald(nb::module_& m);        // bindings/ewald.cc

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

nb::dict path_table_layout() {
  nb::dict columns;
  for (const phonax::PathColName& c : phonax::kPathColNames) columns[c.name] = static_cast<int>(c.col);
  nb::list slots;
  for (const char* name : phonax::kSlotNames) slots.append(name);
  nb::dict layout;
  layout["columns"] = columns;
  layout["row_width"] = static_cast<int>(phonax::kPathCols);
  layout["max_l"] = phonax::kMaxL;
  layout["max_dim"] = phonax::kMaxDim;
  layout["cg_copies"] = phonax::kCgCopies;
  layout["cg_ptr_width"] = phonax::kCgPtrCols;
  layout["slots"] = slots;
  return layout;
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "Native kernels of phonax_fast: XLA FFI handlers exported as capsules.";
  m.def("registrations", &registrations,
        "FFI handlers by platform: {'cpu': {target: capsule}, 'cuda': {...}}.");
  m.def("build_info", &build_info,
        "What this build holds: {'version': str, 'backends': [str], 'cuda': bool}.");
  m.def("path_table_layout", &path_table_layout,
        "The path-table layout the kernels read (int32 rows of the table's `paths`):\n"
        "{'columns': {name: column}, 'row_width': int, 'max_l': int, 'max_dim': int,\n"
        "'cg_copies': int, 'cg_ptr_width': int, 'slots': [str]}. 'slots' is the order of the\n"
        "operand slots (the handler's dense operands and its 'slot' attribute); cg_ijk is\n"
        "[cg_copies, nnz, 3], cg_val [cg_copies, nnz], cg_ptr [cg_copies, n_paths, cg_ptr_width].");
  bind_tetrahedron(m);
  bind_ewald(m);
}
