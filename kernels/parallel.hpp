// Threads for the kernels: one pool of workers shared by every kernel that splits its
// work (small_sgemm's wide products, conv2d's images, max_pool2d's planes, batchnorm's
// channels, the optimizers' updates).
//
// Two ways to split a job; with either, the bits never depend on scheduling:
//  - run_parts / parallel_parts: the caller splits the work into `n` parts, and part p
//    always covers the same work, whichever thread runs it. A kernel's bits may depend
//    on how many parts it asks for (a reduction split in two rounds differently than in
//    one), never on which thread ran which part.
//  - parallel_chunks: the threads take chunks of items in turn as each becomes free, so
//    which thread computes which item changes from run to run. Only for work where an
//    item's result does not depend on that; then any split gives the same bits.
// A job started inside another (a conv2d image's GEMM) runs its parts one after another
// on the calling thread, with the same parts, so it too gives the same bits.
#pragma once

#include <algorithm>
#include <atomic>

#include "kernels/isa.hpp"

namespace plangrad {

// The threads kernels split their work between: OpenBLAS's count (OPENBLAS_NUM_THREADS)
// unless set_op_threads(n > 0) overrides it; set_op_threads(0) goes back to following
// OpenBLAS. Plans size per-thread scratch memory (conv2d) from this count when they are
// made; a kernel never uses more parts than its scratch has room for.
void set_op_threads(int threads);
int op_threads();

// Runs job(ctx, p, n) for p = 0 .. n-1: part 0 on the calling thread, part p on the
// pool's worker p (workers are started when a call first needs them, and kept), and
// returns when all are done. No heap allocation once the workers exist. Inside another
// job, or with n == 1, the parts run in order on the calling thread. Calls from several
// threads at once take turns: the pool runs one job at a time.
void run_parts(int n, void (*job)(const void* ctx, int p, int n), const void* ctx);

// run_parts for a callable f(p, n).
// The parts run on the kernel path (kernels/isa.hpp), as the kernel that asked for them.
template <class F>
void parallel_parts(int n, const F& f) {
  run_parts(n, [](const void* ctx, int p, int parts) {
    const F& part = *static_cast<const F*>(ctx);
    on_kernel_path([&part, p, parts] { part(p, parts); });
  }, &f);
}

// Element-wise work below this many elements is not worth handing to other threads.
constexpr long kSplitElements = 1L << 16;
// op_threads() for `elements` of element-wise work; 1 below kSplitElements.
int threads_for_elements(long elements);

// [begin, end) of part p out of n over `count` items: contiguous, in order, sizes within 1.
inline long part_begin(long count, int p, int n) { return count * p / n; }

// f(begin, end) over [0, count) in chunks of `grain` items, which `threads` threads (the
// caller included) take in turn as each becomes free: a thread that starts late, or is
// descheduled on a busy machine, leaves its share to the others instead of holding them
// up. With threads <= 1 or count <= grain, one call f(0, count) on the calling thread.
// Only for work where an item's result does not depend on which thread computes it, or
// on which items share its call: then any split gives the same bits.
template <class F>
void parallel_chunks(int threads, long count, long grain, const F& f) {
  if (threads <= 1 || count <= grain) {
    if (count > 0) f(0L, count);
    return;
  }
  struct Job {
    const F& f;
    long count, grain;
    std::atomic<long> next{0};
  } job{f, count, grain};
  run_parts(threads, [](const void* ctx, int, int) {
    Job& j = *static_cast<Job*>(const_cast<void*>(ctx));
    on_kernel_path([&j] {
      for (long b = j.next.fetch_add(j.grain, std::memory_order_relaxed); b < j.count;
           b = j.next.fetch_add(j.grain, std::memory_order_relaxed))
        j.f(b, std::min(b + j.grain, j.count));
    });
  }, &job);
}

}  // namespace plangrad
