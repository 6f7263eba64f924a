// The kernel path: which instruction set the op kernels and small_sgemm run with. The
// library is compiled for baseline x86-64; the kernels are compiled a second and a third
// time for AVX2+FMA and for AVX-512 (ops/op.hpp's wrappers, kernels/small_gemm_*.cpp),
// and each process runs one path, chosen once, at first use: the best this CPU supports,
// or a lower one named by the environment variable PLANGRAD_ISA (avx512, avx2, generic).
//
// What the paths compute: the generic path has no FMA, so products and sums round once
// per operation, and the GEMM-based ops (matmul, conv2d) differ from the AVX paths in the
// last bits. avx2 and avx512 give the same bits everywhere: small_sgemm's kernels sum in
// the same order with the same fused multiply-adds, and nothing else contracts a*b+c (the
// build passes -ffp-contract=off). The element-wise ops give the same bits on all three.
#pragma once

namespace plangrad {

// In order: each path needs everything the one before it needs.
enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

// The process's path: kernel_isa() decides it on its first call and never changes it.
// Throws UsageError when PLANGRAD_ISA names no path or one this CPU cannot run (the
// message says which it can), and when it is set in a -march=native build.
Isa kernel_isa();
// "avx512", "avx2", "generic": what PLANGRAD_ISA takes.
const char* isa_name(Isa isa);
// The process's path by name; "native" in a -march=native build (PLANGRAD_NATIVE=ON),
// where every kernel is compiled for the build machine and there is one path.
const char* kernel_path_name();

// The best path this CPU (and its operating system, which must save the wider
// registers) supports.
Isa best_supported_isa();
bool cpu_supports(Isa isa);
// The path for PLANGRAD_ISA = `requested` (nullptr or "": not set) on a CPU whose best
// path is `best`; what kernel_isa() runs. Throws UsageError naming the value and the
// paths there are.
Isa choose_isa(const char* requested, Isa best);

}  // namespace plangrad

// The target attributes of the AVX2 and AVX-512 kernels, and what cpu_supports checks:
// x86-64-v3 and x86-64-v4 as feature lists (an attribute naming an arch instead would
// keep the baseline-compiled functions it calls from being inlined into it).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PLANGRAD_KERNEL_DISPATCH 1
#define PLANGRAD_TARGET_AVX2 "sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,lzcnt,movbe,f16c"
#define PLANGRAD_TARGET_AVX512 PLANGRAD_TARGET_AVX2 ",avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
#else
#define PLANGRAD_KERNEL_DISPATCH 0
#endif

namespace plangrad {

namespace kernel_paths {
#if PLANGRAD_KERNEL_DISPATCH
template <class F>
[[gnu::target(PLANGRAD_TARGET_AVX2), gnu::flatten]] void run_avx2(const F& f) {
  f();
}
template <class F>
[[gnu::target(PLANGRAD_TARGET_AVX512), gnu::flatten]] void run_avx512(const F& f) {
  f();
}
#endif
}  // namespace kernel_paths

// f() compiled for the process's path: f's body, and what it calls directly, inlined into
// a copy compiled for AVX2 or AVX-512 (ops/op.hpp does the same for op kernels). For the
// element-wise loops that are no op kernel: the optimizers' updates.
template <class F>
void on_kernel_path(const F& f) {
#if PLANGRAD_KERNEL_DISPATCH
  const Isa isa = kernel_isa();
  if (isa == Isa::avx512) return kernel_paths::run_avx512(f);
  if (isa == Isa::avx2) return kernel_paths::run_avx2(f);
#endif
  f();
}

}  // namespace plangrad
