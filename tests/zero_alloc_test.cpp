// A training step and an inference run allocate nothing on the heap once the executor is
// built. A separate binary, because it replaces the process's allocation functions.
//
// What is counted, on every thread (OpenBLAS's workers included):
//  - every replaceable global operator new / new[] (plain, nothrow, aligned); they allocate
//    with glibc's __libc_malloc / __libc_memalign directly, so they count once;
//  - glibc's C allocation entry points, interposed here: malloc, calloc, realloc,
//    aligned_alloc, posix_memalign, memalign, valloc, pvalloc. Defining them in the
//    executable interposes them for every shared library too (libstdc++, OpenBLAS); each
//    forwards to glibc's own implementation (__libc_*), so all memory stays glibc's and
//    free() needs no bookkeeping.
// Not counted: mmap/brk called directly (OpenBLAS takes its GEMM buffers with mmap when it
// initializes, at load time), and allocations glibc makes internally without going through
// its public symbols. Frees are not counted: the claim is "no allocation", and a free
// without an allocation cannot happen in the counted region.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string.h>  // strdup
#include <new>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "engine/executor.hpp"
#include "engine/predictor.hpp"
#include "networks/models.hpp"
#include "engine/optimizer.hpp"
#include "planner/plan.hpp"
#include "tests/example_graphs.hpp"
#include "tests/op_threads.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
}

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long> g_cxx_allocations{0};
std::atomic<long> g_c_allocations{0};

inline void count(std::atomic<long>& counter) {
  if (g_counting.load(std::memory_order_relaxed)) counter.fetch_add(1, std::memory_order_relaxed);
}

void* cxx_allocate(std::size_t n) {
  count(g_cxx_allocations);
  return __libc_malloc(n ? n : 1);
}

void* cxx_allocate_aligned(std::size_t n, std::align_val_t align) {
  count(g_cxx_allocations);
  return __libc_memalign(static_cast<std::size_t>(align), n ? n : 1);
}

struct Counts {
  long cxx = 0, c = 0;
  long total() const { return cxx + c; }
};

// Counts the allocations that `body` makes. Nothing in here may allocate but `body`.
template <class F>
Counts count_allocations(F&& body) {
  g_cxx_allocations = 0;
  g_c_allocations = 0;
  g_counting = true;
  body();
  g_counting = false;
  return {g_cxx_allocations.load(), g_c_allocations.load()};
}

}  // namespace

// ---- the C++ allocation functions ---------------------------------------------------------
void* operator new(std::size_t n) {
  if (void* p = cxx_allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = cxx_allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return cxx_allocate(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return cxx_allocate(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = cxx_allocate_aligned(n, a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = cxx_allocate_aligned(n, a)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return cxx_allocate_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return cxx_allocate_aligned(n, a);
}
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(p); }

// ---- glibc's C allocation functions -------------------------------------------------------
extern "C" {
void* malloc(std::size_t n) {
  count(g_c_allocations);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  count(g_c_allocations);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  count(g_c_allocations);
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(std::size_t align, std::size_t n) {
  count(g_c_allocations);
  return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  count(g_c_allocations);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  count(g_c_allocations);
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return 22;  // EINVAL
  void* p = __libc_memalign(align, n);
  if (!p && n) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void* valloc(std::size_t n) {
  count(g_c_allocations);
  return __libc_valloc(n);
}
void* pvalloc(std::size_t n) {
  count(g_c_allocations);
  return __libc_pvalloc(n);
}
}

using namespace plangrad;
using namespace plangrad::testing;

namespace {

// An opaque sink so that the compiler cannot drop an allocation whose result is unused.
void* volatile g_sink = nullptr;

struct Example {
  const char* name;
  Model (*make)(std::uint64_t);
  std::size_t features, classes;
};
Model mnist_cnn_model(std::uint64_t seed) { return models::mnist_cnn().build(seed); }
// The CNN brings conv2d's planned im2col workspace, batchnorm's saved statistics and
// running-state updates, and max-pooling into the count.
const Example kExamples[] = {{"circle MLP", circle_mlp, 2, 2},
                             {"residual DAG", residual_dag, 4, 3},
                             {"MNIST CNN", mnist_cnn_model, 784, 10}};

// Every optimizer: each allocates its state when it is made, none in a step.
struct OptimizerCase {
  const char* name;
  std::unique_ptr<Optimizer<float>> (*make)(const Model&);
};
const OptimizerCase kOptimizers[] = {
    {"SGD momentum", [](const Model& m) -> std::unique_ptr<Optimizer<float>> {
       return std::make_unique<SGD<float>>(m, SgdOptions{0.05, 0.9, 1e-4});
     }},
    {"SGD Nesterov", [](const Model& m) -> std::unique_ptr<Optimizer<float>> {
       return std::make_unique<SGD<float>>(m, SgdOptions{0.05, 0.9, 1e-4, true});
     }},
    {"Adam", [](const Model& m) -> std::unique_ptr<Optimizer<float>> {
       return std::make_unique<Adam<float>>(m, AdamOptions{});
     }},
    {"AdamW", [](const Model& m) -> std::unique_ptr<Optimizer<float>> {
       return std::make_unique<AdamW<float>>(m, AdamWOptions{});
     }},
};

Plan plan_for(const Graph& graph, PlanKind kind, std::int64_t batch) {
  PlanRequest r;
  r.kind = kind;
  r.batch = batch;
  return make_plan(graph, r);
}

}  // namespace

TEST_CASE("the allocation counter counts", "[zero_alloc]") {
  const Counts cxx = count_allocations([] {
    int* p = new int(7);
    g_sink = p;
    delete static_cast<int*>(g_sink);
  });
  CHECK(cxx.cxx == 1);
  const Counts vec = count_allocations([] {
    std::vector<double> v(1000, 1.0);
    g_sink = v.data();
  });
  CHECK(vec.cxx == 1);
  const Counts c = count_allocations([] {
    g_sink = std::malloc(100);
    std::free(g_sink);
    g_sink = std::calloc(10, 10);
    g_sink = std::realloc(g_sink, 5000);
    std::free(g_sink);
    g_sink = std::aligned_alloc(64, 128);
    std::free(g_sink);
  });
  CHECK(c.c == 4);
  // An allocation made inside a shared library (glibc's strdup calls malloc through its
  // PLT) reaches the interposed malloc too.
  const Counts shared = count_allocations([] {
    g_sink = strdup("allocated in libc");
    std::free(g_sink);
  });
  CHECK(shared.c == 1);
  const Counts none = count_allocations([] { g_sink = nullptr; });
  CHECK(none.total() == 0);
}

// OpenBLAS's multi-threaded GEMM mallocs in the calling thread on every call large enough
// to be split (the CNN's convolutions are), so with more than one BLAS thread a step
// allocates in OpenBLAS, not in plangrad. The count is taken with one BLAS thread, the
// configuration the benchmarks and CI use.
extern "C" void openblas_set_num_threads(int);
const bool g_one_blas_thread = (openblas_set_num_threads(1), true);

TEST_CASE("100 training steps allocate nothing", "[zero_alloc]") {
  REQUIRE(g_one_blas_thread);
  const std::int64_t N = 100;
  for (const Example& e : kExamples) for (const OptimizerCase& o : kOptimizers) {
    INFO(e.name << " with " << o.name);
    Model model = e.make(3);
    const std::unique_ptr<Optimizer<float>> optimizer = o.make(model);
    Executor<float> ex(model, plan_for(model.graph, PlanKind::Training, N), optimizer.get());
    // Ten different batches, made before counting.
    std::vector<Batch<float>> batches;
    for (std::uint64_t k = 0; k < 10; ++k) batches.push_back(random_batch<float>(N, e.features, e.classes, 40 + k));
    const std::string x = "x", labels = "labels";
    double loss_sum = 0;
    const Counts counts = count_allocations([&] {
      for (int step = 0; step < 100; ++step) {
        const Batch<float>& b = batches[static_cast<std::size_t>(step) % batches.size()];
        ex.set_input(x, b.x.data(), b.x.size());
        ex.set_input(labels, b.labels.data(), b.labels.size());
        ex.run();
        loss_sum += ex.loss();
      }
    });
    INFO("operator new: " << counts.cxx << ", malloc family: " << counts.c);
    CHECK(counts.total() == 0);
    CHECK(std::isfinite(loss_sum));
    CHECK(loss_sum > 0);
  }
}

// plangrad's own threads (kernels/parallel.hpp) hand work over without allocating: the CNN's
// convolutions, pools and wide GEMMs split between 2 threads, OpenBLAS kept at 1.
// The toolbox's step-time machinery: dropout's counter-based masks, concat, a smoothed
// loss, a frozen layer, and clipping by value and by the global norm (the updates after
// the last backward step, the norm summed over every gradient).
TEST_CASE("dropout, concat, frozen parameters and gradient clipping allocate nothing", "[zero_alloc]") {
  REQUIRE(g_one_blas_thread);
  const std::int64_t N = 64;
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), labels = b.input("labels", {kBatchDim});
  Value h = b.dropout(b.relu(b.dense(x, 16, "fc1")), 0.3, "drop");
  h = b.concat({h, b.tanh(b.dense(x, 8, "side")), x}, 1, "cat");
  b.output(b.softmax_cross_entropy(b.dense(h, 2, "logits"), labels, "loss", 0.1));
  Model model = b.build(3);
  SGD<float> sgd(model, SgdOptions{0.05, 0.9});
  sgd.set_clipping({0.5, 0.2});
  sgd.freeze({"side.weight", "side.bias"});
  PlanRequest r;
  r.kind = PlanKind::Training;
  r.batch = N;
  r.updates_last = true;
  r.frozen = sgd.frozen();
  Executor<float> ex(model, make_plan(model.graph, r), &sgd);
  std::vector<Batch<float>> batches;
  for (std::uint64_t k = 0; k < 10; ++k) batches.push_back(random_batch<float>(N, 2, 2, 60 + k));
  const std::string xs = "x", ls = "labels";
  double loss_sum = 0;
  const Counts counts = count_allocations([&] {
    for (int step = 0; step < 100; ++step) {
      const Batch<float>& bt = batches[static_cast<std::size_t>(step) % batches.size()];
      ex.set_input(xs, bt.x.data(), bt.x.size());
      ex.set_input(ls, bt.labels.data(), bt.labels.size());
      ex.random() = StepRandom{7, static_cast<std::uint64_t>(step)};
      ex.run();
      loss_sum += ex.loss();
    }
  });
  INFO("operator new: " << counts.cxx << ", malloc family: " << counts.c);
  CHECK(counts.total() == 0);
  CHECK(std::isfinite(loss_sum));
  CHECK(loss_sum > 0);
}

TEST_CASE("training steps split between 2 threads allocate nothing", "[zero_alloc]") {
  REQUIRE(g_one_blas_thread);
  const std::int64_t N = 100;
  auto workspace = [](const Plan& p) {
    std::size_t n = 0;
    for (const TensorInfo& t : p.schedule.tensors) n += t.role == TensorRole::Workspace ? numel(t.shape) : 0;
    return n;
  };
  Model model = mnist_cnn_model(3);
  const std::size_t one_thread = workspace(plan_for(model.graph, PlanKind::Training, N));
  const OpThreads two_threads(2);
  Adam<float> adam(model, AdamOptions{});
  Executor<float> ex(model, plan_for(model.graph, PlanKind::Training, N), &adam);
  CHECK(workspace(ex.plan()) > one_thread);  // the convolutions are split
  const Batch<float> batch = random_batch<float>(N, 784, 10, 5);
  ex.set_input("x", batch.x.data(), batch.x.size());
  ex.set_input("labels", batch.labels.data(), batch.labels.size());
  ex.run();  // starts the worker thread
  double loss_sum = 0;
  const Counts counts = count_allocations([&] {
    for (int step = 0; step < 20; ++step) {
      ex.run();
      loss_sum += ex.loss();
    }
  });
  INFO("operator new: " << counts.cxx << ", malloc family: " << counts.c);
  CHECK(counts.total() == 0);
  CHECK(std::isfinite(loss_sum));
}

TEST_CASE("100 inference runs allocate nothing", "[zero_alloc]") {
  const std::int64_t N = 100;
  for (const Example& e : kExamples) {
    INFO(e.name);
    Model model = e.make(4);
    PlanRequest r;
    r.kind = PlanKind::Inference;
    r.batch = N;
    r.outputs = {"logits"};
    Executor<float> ex(model, make_plan(model.graph, r));
    const Batch<float> batch = random_batch<float>(N, e.features, e.classes, 9);
    const std::string x = "x";
    // The output view is taken once; its data pointer is fixed for the executor's life.
    const float* logits = ex.value("logits").data;
    double sum = 0;
    const Counts counts = count_allocations([&] {
      for (int run = 0; run < 100; ++run) {
        ex.set_input(x, batch.x.data(), batch.x.size());
        ex.run();
        sum += logits[run % 100];
      }
    });
    INFO("operator new: " << counts.cxx << ", malloc family: " << counts.c);
    CHECK(counts.total() == 0);
    CHECK(std::isfinite(sum));
  }
}

// A Predictor allocates when a call is the first of its batch size (a plan, an executor) and
// never after: the pooled executor is taken and given back under a lock, within capacity.
TEST_CASE("Predictor calls allocate nothing once warm", "[zero_alloc]") {
  REQUIRE(g_one_blas_thread);
  const std::size_t sizes[] = {1, 7, 64};
  for (const Example& e : kExamples) {
    INFO(e.name);
    const Model model = e.make(5);
    const Predictor p(model);
    const std::vector<float> x = random_batch<float>(64, e.features, e.classes, 11).x;
    std::vector<float> out(64 * e.classes);
    std::vector<std::size_t> classes(64);
    for (const std::size_t n : sizes) {  // the first call of each size and kind
      p.predict(x.data(), n, out.data());
      p.probabilities(x.data(), n, out.data());
      p.classes(x.data(), n, classes.data());
    }
    double sum = 0;
    const Counts counts = count_allocations([&] {
      for (int call = 0; call < 30; ++call) {
        const std::size_t n = sizes[call % 3];
        p.predict(x.data(), n, out.data());
        sum += out[n - 1];
        p.probabilities(x.data(), n, out.data());
        sum += out[0];
        p.classes(x.data(), n, classes.data());
        sum += static_cast<double>(classes[n - 1]);
      }
    });
    INFO("operator new: " << counts.cxx << ", malloc family: " << counts.c);
    CHECK(counts.total() == 0);
    CHECK(std::isfinite(sum));
  }
}

// Calls from several threads at once: each takes an executor of its own from the pool,
// which warm_up filled for as many callers as there are threads. The MNIST MLP's calls are
// long enough (about a millisecond at 64 examples) for the threads' calls to overlap.
TEST_CASE("Predictor calls from 4 threads at once allocate nothing once warm", "[zero_alloc]") {
  REQUIRE(g_one_blas_thread);
  constexpr int kThreads = 4;
  const Model model = models::mnist_mlp().build(6);
  const Predictor p(model);
  const std::size_t sizes[] = {1, 7, 64};
  for (const std::size_t n : sizes) {
    p.warm_up(n, kThreads);
    p.warm_up(n, kThreads, true);
  }
  const std::vector<float> x = random_batch<float>(64, 784, 10, 12).x;
  std::vector<std::vector<float>> out(kThreads, std::vector<float>(64 * 10));
  std::atomic<bool> go{false};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;  // started before the count: a thread's start allocates
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      float* o = out[static_cast<std::size_t>(t)].data();
      for (int call = 0; call < 60; ++call) {
        const std::size_t n = sizes[static_cast<std::size_t>(call + t) % 3];
        if (call % 2) p.probabilities(x.data(), n, o);
        else p.predict(x.data(), n, o);
      }
      ++done;
    });
  const Counts counts = count_allocations([&] {
    go = true;
    while (done.load() < kThreads) std::this_thread::yield();
  });
  for (std::thread& t : threads) t.join();
  INFO("operator new: " << counts.cxx << ", malloc family: " << counts.c);
  CHECK(counts.total() == 0);
  for (const std::size_t n : sizes) {
    CHECK(p.executors(n) == kThreads);  // none made during the count
    CHECK(p.executors(n, true) == kThreads);
  }
}
