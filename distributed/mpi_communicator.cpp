#include "distributed/mpi_communicator.hpp"

#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <vector>

namespace plangrad {

struct MpiCommunicator::Impl {
  struct Bucket {
    std::size_t n = 0;
    std::vector<float> data;     // this rank's values; after finish, the sum
    std::vector<float> gathered; // every rank's values, rank after rank
    MPI_Request request = MPI_REQUEST_NULL;
  };
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
  bool initialized_here = false;
  double timeout = 300;
  std::vector<std::unique_ptr<Bucket>> buckets;
  // The blocking sums' gathered values: grown to the largest sum, never shrunk, so that a
  // sum made every step (synchronized batchnorm) allocates nothing.
  std::vector<double> scratch_double;
  std::vector<float> scratch_float;
  std::vector<double>& scratch(double*) { return scratch_double; }
  std::vector<float>& scratch(float*) { return scratch_float; }
};

namespace {

// a * b, which must not wrap (a bucket's floats times the ranks). Local rather than
// core/checked.hpp's, which a shared libplangrad does not export: plangrad::mpi links the
// installed library's public API alone.
std::size_t mul_sizes(std::size_t a, std::size_t b) {
  if (b != 0 && a > std::numeric_limits<std::size_t>::max() / b)
    throw std::overflow_error("MpiCommunicator: " + std::to_string(a) + " x " + std::to_string(b) + " values overflow");
  return a * b;
}

[[noreturn]] void end_job(int rank, int size, const std::string& message) {
  std::fprintf(stderr, "plangrad: rank %d of %d: %s; ending the job\n", rank, size, message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);  // MPI_Abort does not return; if it did, this process must still end
}

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, static_cast<std::size_t>(len));
}

void check(const MpiCommunicator::Impl& impl, int code, const char* what) {
  if (code != MPI_SUCCESS) end_job(impl.rank, impl.size, std::string(what) + " failed: " + mpi_error(code));
}

int count_of(const MpiCommunicator::Impl& impl, std::size_t n) {
  if (n > static_cast<std::size_t>(INT32_MAX) / static_cast<std::size_t>(impl.size))
    end_job(impl.rank, impl.size, "a buffer of " + std::to_string(n) + " values is too large for one MPI call");
  return static_cast<int>(n);
}

// MPI_Wait with a deadline: polling MPI_Test also drives OpenMPI's progress engine.
void wait(const MpiCommunicator::Impl& impl, MPI_Request& request, const char* what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(impl.timeout);
  for (unsigned spins = 0;; ++spins) {
    int done = 0;
    check(impl, MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (spins % 1024 == 0 && Clock::now() > deadline)
      end_job(impl.rank, impl.size,
              std::string(what) + ": no answer from the other ranks within " + std::to_string(impl.timeout) +
                  " s (a rank hangs or has died)");
  }
}

// data[i] = sum over ranks of gathered[r * n + i], added in rank order.
template <class T>
void sum_in_rank_order(const T* gathered, std::size_t n, int ranks, T* data) {
  for (std::size_t i = 0; i < n; ++i) data[i] = gathered[i];
  for (int r = 1; r < ranks; ++r) {
    const T* g = gathered + static_cast<std::size_t>(r) * n;
    for (std::size_t i = 0; i < n; ++i) data[i] += g[i];
  }
}

template <class T>
void blocking_sum(MpiCommunicator::Impl& impl, T* data, std::size_t n, MPI_Datatype type) {
  const std::size_t all = mul_sizes(n, static_cast<std::size_t>(impl.size));
  std::vector<T>& scratch = impl.scratch(data);
  if (scratch.size() < all) scratch.resize(all);
  T* gathered = scratch.data();
  const int count = count_of(impl, n);
  MPI_Request request = MPI_REQUEST_NULL;
  check(impl, MPI_Iallgather(data, count, type, gathered, count, type, impl.comm, &request), "MPI_Iallgather");
  wait(impl, request, "a sum across ranks");
  sum_in_rank_order(gathered, n, impl.size, data);
}

}  // namespace

MpiCommunicator::MpiCommunicator(double timeout_seconds) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.timeout = timeout_seconds;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // Only the main thread calls MPI; the kernels' worker threads never do.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    m.initialized_here = true;
  }
  // Errors come back as codes, so that a failing rank names itself before ending the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(m, MPI_Comm_dup(MPI_COMM_WORLD, &m.comm), "MPI_Comm_dup");
  MPI_Comm_rank(m.comm, &m.rank);
  MPI_Comm_size(m.comm, &m.size);
}

MpiCommunicator::~MpiCommunicator() {
  Impl& m = *impl_;
  for (auto& b : m.buckets)
    if (b->request != MPI_REQUEST_NULL) MPI_Wait(&b->request, MPI_STATUS_IGNORE);
  if (m.comm != MPI_COMM_NULL) MPI_Comm_free(&m.comm);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (m.initialized_here && !finalized) MPI_Finalize();
}

int MpiCommunicator::rank() const { return impl_->rank; }
int MpiCommunicator::size() const { return impl_->size; }

std::size_t MpiCommunicator::add_bucket(std::size_t n) {
  auto b = std::make_unique<Impl::Bucket>();
  b->n = n;
  b->data.assign(n, 0.0f);
  b->gathered.assign(mul_sizes(n, static_cast<std::size_t>(impl_->size)), 0.0f);
  count_of(*impl_, n);
  impl_->buckets.push_back(std::move(b));
  return impl_->buckets.size() - 1;
}

float* MpiCommunicator::bucket_data(std::size_t bucket) { return impl_->buckets.at(bucket)->data.data(); }

void MpiCommunicator::start_bucket(std::size_t bucket) {
  Impl& m = *impl_;
  Impl::Bucket& b = *m.buckets[bucket];
  const int count = static_cast<int>(b.n);
  check(m, MPI_Iallgather(b.data.data(), count, MPI_FLOAT, b.gathered.data(), count, MPI_FLOAT, m.comm, &b.request),
        "MPI_Iallgather");
  // Nonblocking collectives advance inside MPI calls: give the earlier buckets a turn too.
  for (std::size_t i = 0; i < bucket; ++i) {
    MPI_Request& r = m.buckets[i]->request;
    if (r == MPI_REQUEST_NULL) continue;
    int done = 0;
    check(m, MPI_Test(&r, &done, MPI_STATUS_IGNORE), "MPI_Test");
  }
}

void MpiCommunicator::finish_bucket(std::size_t bucket) {
  Impl& m = *impl_;
  Impl::Bucket& b = *m.buckets[bucket];
  wait(m, b.request, "the gradient sum");
  sum_in_rank_order(b.gathered.data(), b.n, m.size, b.data.data());
}

void MpiCommunicator::sum(double* data, std::size_t n) { blocking_sum(*impl_, data, n, MPI_DOUBLE); }
void MpiCommunicator::sum(float* data, std::size_t n) { blocking_sum(*impl_, data, n, MPI_FLOAT); }

void MpiCommunicator::abort(const std::string& message) { end_job(impl_->rank, impl_->size, message); }

}  // namespace plangrad
