// What `plangrad --version` prints.
#pragma once

#include <string>

namespace plangrad {

// "plangrad 0.2.0 (kernels: avx512)": the version (core/version.hpp, PLANGRAD_VERSION) and
// the kernel path this process runs (kernels/isa.hpp). Throws UsageError as kernel_isa()
// does when PLANGRAD_ISA asks for a path there is not.
std::string version();

}  // namespace plangrad
