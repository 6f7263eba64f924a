#include "kernels/version.hpp"

#include "core/version.hpp"
#include "kernels/isa.hpp"

namespace plangrad {

std::string version() { return std::string("plangrad " PLANGRAD_VERSION " (kernels: ") + kernel_path_name() + ")"; }

}  // namespace plangrad
