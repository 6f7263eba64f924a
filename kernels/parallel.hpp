// Threads for the kernels: one pool of workers shared by every op (small_sgemm's wide
// products, conv2d's images, max_pool2d's planes).
//
// A job is split into `n` parts by the caller, and part p always covers the same work,
// whichever thread runs it: so a kernel's bits depend on how many parts it asks for (a
// reduction split in two rounds differently than in one), never on scheduling. Nested
// jobs (a conv2d image's GEMM) run their parts one after another on the calling thread,
// with the same parts, so they too give the same bits.
#pragma once

#include <algorithm>
#include <atomic>

namespace plangrad {

// The threads kernels split their work between: OpenBLAS's count (OPENBLAS_NUM_THREADS)
// unless set_op_threads(n > 0) overrides it; set_op_threads(0) goes back to following
// OpenBLAS. Plans size per-thread scratch memory (conv2d) from this count when they are
// made; a kernel never uses more parts than its scratch has room for.
void set_op_threads(int threads);
int op_threads();

// Runs job(ctx, p, n) for p = 0 .. n-1: part 0 on the calling thread, the others on the
// pool's workers (started at the first call with n > 1 and kept), and returns when all
// are done. No heap allocation once the workers exist. Inside another job, or with
// n == 1, the parts run in order on the calling thread.
void run_parts(int n, void (*job)(const void* ctx, int p, int n), const void* ctx);

// run_parts for a callable f(p, n).
template <class F>
void parallel_parts(int n, const F& f) {
  run_parts(n, [](const void* ctx, int p, int parts) { (*static_cast<const F*>(ctx))(p, parts); }, &f);
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
// up. Only for work where an item's result does not depend on which thread computes it:
// then any split gives the same bits.
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
    for (long b = j.next.fetch_add(j.grain, std::memory_order_relaxed); b < j.count;
         b = j.next.fetch_add(j.grain, std::memory_order_relaxed))
      j.f(b, std::min(b + j.grain, j.count));
  }, &job);
}

}  // namespace plangrad
