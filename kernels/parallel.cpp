#include "kernels/parallel.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PLANGRAD_PAUSE() _mm_pause()
#else
#define PLANGRAD_PAUSE() std::this_thread::yield()
#endif

extern "C" int openblas_get_num_threads(void);  // OpenBLAS's own API (not in CBLAS)

namespace plangrad {

namespace {

std::atomic<int> threads_override{0};  // set_op_threads; 0: follow OpenBLAS

thread_local bool in_job = false;  // this thread is running a part of some job

// Workers started at the first threaded call and kept: a job is handed over through
// atomics (workers spin a while, then sleep on a condition variable), so a call
// allocates nothing.
class ThreadPool {
 public:
  using Job = void (*)(const void*, int, int);

  static ThreadPool& get() {
    static ThreadPool pool;
    return pool;
  }

  void run(int parts, Job job, const void* ctx) {
    std::lock_guard<std::mutex> one_at_a_time(run_mutex_);
    // A new worker starts from the current generation, so it takes the job below even if
    // it only gets running after the generation has moved on.
    const std::uint64_t current = generation_.load(std::memory_order_relaxed);
    while (static_cast<int>(workers_.size()) < parts - 1)
      workers_.emplace_back([this, id = static_cast<int>(workers_.size()) + 1, current] { work(id, current); });
    job_ = job;
    ctx_ = ctx;
    parts_ = parts;
    // Every worker answers, those that sit this job out too: each reads parts_ (and the
    // job) before it answers, and the next run() writes them only after all have answered.
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    run_part(job, ctx, 0, parts);
    // Wait for the workers; yield after a short spin, in case a worker is not running
    // (more threads than free cores).
    for (int spin = 0; pending_.load(std::memory_order_acquire) > 0; ++spin) {
      if (spin < 2048)
        PLANGRAD_PAUSE();
      else
        std::this_thread::yield();
    }
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_seq_cst);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

 private:
  static void run_part(Job job, const void* ctx, int p, int n) {
    in_job = true;
    job(ctx, p, n);
    in_job = false;
  }

  void work(int id, std::uint64_t seen) {
    for (;;) {
      for (int spin = 0; generation_.load(std::memory_order_acquire) == seen; ++spin) {
        if (spin < kSpins) {
          PLANGRAD_PAUSE();
          continue;
        }
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stop_) return;
      // Workers beyond this job's parts (a later job asked for fewer) sit it out.
      if (id < parts_) run_part(job_, ctx_, id, parts_);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  // Pauses before a worker sleeps: the jobs of one step follow each other closely, and a
  // sleeping worker takes a system call to wake.
  static constexpr int kSpins = 1 << 14;
  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0}, sleepers_{0};
  Job job_ = nullptr;
  const void* ctx_ = nullptr;
  int parts_ = 1;
  bool stop_ = false;
};

}  // namespace

void set_op_threads(int threads) { threads_override.store(threads > 0 ? threads : 0); }

int op_threads() {
  const int n = threads_override.load(std::memory_order_relaxed);
  return n > 0 ? n : openblas_get_num_threads();
}

int threads_for_elements(long elements) { return elements >= kSplitElements ? op_threads() : 1; }

void run_parts(int n, void (*job)(const void* ctx, int p, int n), const void* ctx) {
  if (n <= 1 || in_job) {
    for (int p = 0; p < n; ++p) job(ctx, p, n);
    return;
  }
  ThreadPool::get().run(n, job, ctx);
}

}  // namespace plangrad
