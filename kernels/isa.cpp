#include "kernels/isa.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/errors.hpp"

namespace plangrad {

namespace {

#if PLANGRAD_KERNEL_DISPATCH
// What each path's target list (kernels/isa.hpp) lets the compiler use. __builtin_cpu_supports
// also checks that the operating system saves the AVX and AVX-512 registers.
bool cpu_has_avx2() {
  __builtin_cpu_init();
  bool ok = __builtin_cpu_supports("sse3") && __builtin_cpu_supports("ssse3") &&
            __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("sse4.2") &&
            __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("avx") &&
            __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
#if !defined(__clang__)  // clang's builtin knows no lzcnt, movbe or f16c
  ok = ok && __builtin_cpu_supports("lzcnt") && __builtin_cpu_supports("movbe") &&
       __builtin_cpu_supports("f16c");
#endif
  return ok;
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}
#endif

#if defined(PLANGRAD_NATIVE_BUILD)
// The path a -march=native build's own flags give (its "generic" kernels already use them).
constexpr Isa native_isa() {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512CD__) && defined(__AVX512DQ__) && \
    defined(__AVX512VL__) && defined(__AVX2__) && defined(__FMA__)
  return Isa::avx512;
#elif defined(__AVX2__) && defined(__FMA__)
  return Isa::avx2;
#else
  return Isa::generic;
#endif
}
#endif

std::string supported_list(Isa best) {
  std::string s;
  for (int i = static_cast<int>(best); i >= 0; --i)
    s += std::string(s.empty() ? "" : i == 0 ? " and " : ", ") + isa_name(static_cast<Isa>(i));
  return s;
}

const char* needs(Isa isa) {
  return isa == Isa::avx512 ? "AVX-512 F, BW, CD, DQ and VL" : "AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE and F16C";
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::generic: break;
  }
  return "generic";
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::generic: return true;
#if PLANGRAD_KERNEL_DISPATCH
    case Isa::avx2: return cpu_has_avx2();
    case Isa::avx512: return cpu_has_avx512();
#else
    default: return false;
#endif
  }
  return false;
}

Isa best_supported_isa() {
  if (cpu_supports(Isa::avx512)) return Isa::avx512;
  return cpu_supports(Isa::avx2) ? Isa::avx2 : Isa::generic;
}

Isa choose_isa(const char* requested, Isa best) {
  if (!requested || !*requested) return best;
  Isa want = Isa::generic;
  if (std::strcmp(requested, "avx512") == 0)
    want = Isa::avx512;
  else if (std::strcmp(requested, "avx2") == 0)
    want = Isa::avx2;
  else if (std::strcmp(requested, "generic") != 0)
    throw UsageError(std::string("PLANGRAD_ISA='") + requested +
                     "' names no kernel path (expected avx512, avx2 or generic; this CPU runs " +
                     supported_list(best) + ")");
  if (static_cast<int>(want) > static_cast<int>(best))
    throw UsageError(std::string("PLANGRAD_ISA=") + requested + ": this CPU lacks " + needs(want) +
                     ", which the " + requested + " kernels need; it runs " + supported_list(best));
  return want;
}

Isa kernel_isa() {
  static const Isa isa = [] {
    const char* requested = std::getenv("PLANGRAD_ISA");
#if defined(PLANGRAD_NATIVE_BUILD)
    if (requested && *requested)
      throw UsageError(std::string("PLANGRAD_ISA=") + requested +
                       ": this build is compiled for its build machine's CPU (-march=native, "
                       "PLANGRAD_NATIVE=ON) and has one kernel path; unset PLANGRAD_ISA");
    return native_isa();
#else
    return choose_isa(requested, best_supported_isa());
#endif
  }();
  return isa;
}

const char* kernel_path_name() {
#if defined(PLANGRAD_NATIVE_BUILD)
  kernel_isa();  // the same refusal of PLANGRAD_ISA
  return "native";
#else
  return isa_name(kernel_isa());
#endif
}

}  // namespace plangrad
