#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/isa.hpp"

int main(int argc, char** argv) {
  // ctest runs the tests again on each kernel path (tests/CMakeLists.txt); one this CPU
  // lacks is skipped (ctest's SKIP_RETURN_CODE), not failed. Other values reach
  // kernel_isa(), which refuses them.
  if (const char* isa = std::getenv("PLANGRAD_ISA"))
    for (const plangrad::Isa path : {plangrad::Isa::avx512, plangrad::Isa::avx2})
      if (std::strcmp(isa, plangrad::isa_name(path)) == 0 && !plangrad::cpu_supports(path)) {
        std::printf("PLANGRAD_ISA=%s: this CPU lacks the %s path; skipped\n", isa, isa);
        return 77;
      }
  return Catch::Session().run(argc, argv);
}
