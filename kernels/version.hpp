// What `plangrad --version` prints.
#pragma once

#include <string>

#include "core/visibility.hpp"

namespace plangrad {

// "plangrad 0.2.0 (kernels: avx512)": the version (core/version.hpp, PLANGRAD_VERSION) and
// the kernel path this process runs (kernels/isa.hpp). Throws UsageError as kernel_isa()
// does when PLANGRAD_ISA asks for a path there is not.
// Exported from a shared libplangrad although not public API: plangrad::onnx, a library
// of its own, calls it.
PLANGRAD_PUBLIC_BEGIN
std::string version();
PLANGRAD_PUBLIC_END

}  // namespace plangrad
