// Data-parallel fit (FitOptions::communicator) without MPI: ThreadCommunicator runs R
// ranks as R threads of this process, summing in rank order through shared memory, so the
// scheme (slices, seeds, buckets, deferred updates, epoch-end agreement) is tested in the
// ordinary suite and under the sanitizers. tests/cli/mpi.sh tests the same over MPI.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "datasets/circle.hpp"
#include "engine/communicator.hpp"
#include "engine/fit.hpp"
#include "networks/models.hpp"
#include "tests/error_message.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using plangrad::testing::same_bits;
using plangrad::testing::small_classifier;
using Catch::Matchers::Contains;

namespace {

// What the ranks of one job share: a barrier and a slot per rank.
struct ThreadGroup {
  explicit ThreadGroup(int n) : size(n), slots(static_cast<std::size_t>(n)) {}
  void barrier() {
    std::unique_lock<std::mutex> lock(mutex);
    const std::uint64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(lock, [&] { return gen != generation; });
    }
  }
  int size;
  std::vector<const void*> slots;
  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  std::uint64_t generation = 0;
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.size; }
  std::size_t add_bucket(std::size_t n) override {
    buckets_.emplace_back(n);
    return buckets_.size() - 1;
  }
  float* bucket_data(std::size_t b) override { return buckets_[b].data(); }
  void start_bucket(std::size_t b) override { exchange(buckets_[b].data(), buckets_[b].size()); }
  void finish_bucket(std::size_t) override {}
  void sum(double* data, std::size_t n) override { exchange(data, n); }
  void sum(float* data, std::size_t n) override { exchange(data, n); }
  [[noreturn]] void abort(const std::string& message) override { throw std::runtime_error(message); }

 private:
  template <class T>
  void exchange(T* data, std::size_t n) {
    group_.slots[static_cast<std::size_t>(rank_)] = data;
    group_.barrier();
    std::vector<T> total(static_cast<const T*>(group_.slots[0]), static_cast<const T*>(group_.slots[0]) + n);
    for (std::size_t r = 1; r < group_.slots.size(); ++r)
      for (std::size_t i = 0; i < n; ++i) total[i] += static_cast<const T*>(group_.slots[r])[i];
    group_.barrier();  // every rank has read every slot
    std::copy(total.begin(), total.end(), data);
  }
  ThreadGroup& group_;
  int rank_;
  std::vector<std::vector<float>> buckets_;
};

FitOptions quiet(std::int64_t epochs, std::size_t batch) {
  FitOptions o;
  o.epochs = epochs;
  o.batch = batch;
  o.seed = 3;
  o.progress = Progress::Off;
  o.handle_sigint = false;
  return o;
}

// The largest over parameters of max |a - b| / max |a|.
double relative_difference(const Model& a, const Model& b) {
  double worst = 0;
  for (const auto& [name, ta] : a.parameters) {
    const Tensor<float>& tb = b.parameters.at(name);
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < ta.size(); ++i) {
      diff = std::max(diff, std::fabs(double(ta.data()[i]) - tb.data()[i]));
      scale = std::max(scale, std::fabs(double(ta.data()[i])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

struct RankRun {
  Model model;
  FitResult result;
  int checkpoints = 0;
};

// R ranks, one thread each, training make_model(1) on `train` with options `o`.
template <class MakeModel>
std::vector<RankRun> run_ranks(int R, MakeModel make_model, const ValueRoles& roles, const CircleData& train,
                               FitOptions o) {
  ThreadGroup group(R);
  std::vector<RankRun> runs(static_cast<std::size_t>(R));
  std::vector<std::thread> threads;
  for (int r = 0; r < R; ++r)
    threads.emplace_back([&, r] {
      RankRun& run = runs[static_cast<std::size_t>(r)];
      run.model = make_model(1);
      SGD<float> sgd(run.model, {0.1, 0.9});
      ThreadCommunicator comm(group, r);
      FitOptions mine = o;
      mine.communicator = &comm;
      mine.checkpoint = [&run](const Model&, const TrainingState&) { ++run.checkpoints; };
      run.result = fit(run.model, sgd, roles, {train.points.data(), train.labels.data(), train.size()}, {}, mine);
    });
  for (auto& t : threads) t.join();
  return runs;
}

const ValueRoles kRoles{"x", "labels", "loss", "logits"};

// small_classifier with dropout after its first layer.
Model dropout_classifier(std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), labels = b.input("labels", {kBatchDim});
  Value h = b.dropout(b.relu(b.dense(x, 16, "fc1")), 0.3, "drop");
  h = b.relu(b.dense(h, 16, "fc2"));
  Value logits = b.dense(h, 2, "logits");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  return b.build(seed);
}

}  // namespace

TEST_CASE("data-parallel fit: one rank through a communicator makes the same bits as none", "[fit][distributed]") {
  const CircleData train = make_circle(230, 1);  // batches of 50 and a last one of 30
  Model alone = small_classifier(1);
  SGD<float> sgd(alone, {0.1, 0.9});
  const FitResult r = fit(alone, sgd, kRoles, {train.points.data(), train.labels.data(), 230}, {}, quiet(3, 50));
  const std::vector<RankRun> one = run_ranks(1, small_classifier, kRoles, train, quiet(3, 50));
  CHECK(same_bits(alone.parameters, one[0].model.parameters));
  CHECK(same_bits(r.history.back().train_loss, one[0].result.history.back().train_loss));
  CHECK(one[0].result.state.ranks == 1);
}

TEST_CASE("data-parallel fit: 2 and 3 ranks compute what one process computes", "[fit][distributed]") {
  const CircleData train = make_circle(230, 1);
  // 50 = 25 + 25 and a last 30 = 15 + 15; with 3 ranks 16 + 17 + 17 and 10 + 10 + 10;
  // a batch of 51 splits 25 + 26.
  for (const std::size_t batch : {std::size_t{50}, std::size_t{51}})
    for (const int R : {2, 3}) {
      Model alone = small_classifier(1);
      SGD<float> sgd(alone, {0.1, 0.9});
      const FitResult r =
          fit(alone, sgd, kRoles, {train.points.data(), train.labels.data(), 230}, {}, quiet(3, batch));
      const std::vector<RankRun> ranks = run_ranks(R, small_classifier, kRoles, train, quiet(3, batch));
      INFO("batch " << batch << ", " << R << " ranks");
      for (const RankRun& run : ranks) {
        CHECK(same_bits(run.model.parameters, ranks[0].model.parameters));  // the ranks agree exactly
        CHECK(run.result.state.ranks == static_cast<std::uint64_t>(R));
      }
      CHECK(relative_difference(alone, ranks[0].model) < 1e-5);
      CHECK(relative_difference(alone, ranks[0].model) > 0);  // the sums' order does differ
      CHECK(std::fabs(r.history.back().train_loss - ranks[0].result.history.back().train_loss) < 1e-5);
      CHECK(r.history.back().train_accuracy == ranks[0].result.history.back().train_accuracy);
      CHECK(ranks[0].checkpoints == 3);
      for (std::size_t i = 1; i < ranks.size(); ++i) CHECK(ranks[i].checkpoints == 0);  // rank 0 alone
    }
}

// Each rank's rows draw dropout's bits by their place in the global batch
// (StepRandom::first_row): the masks are one process's, and so are the gradients.
TEST_CASE("data-parallel fit: dropout draws the masks one process draws", "[fit][distributed]") {
  const CircleData train = make_circle(230, 1);
  for (const int R : {2, 3}) {
    Model alone = dropout_classifier(1);
    SGD<float> sgd(alone, {0.1, 0.9});
    fit(alone, sgd, kRoles, {train.points.data(), train.labels.data(), 230}, {}, quiet(3, 50));
    const std::vector<RankRun> ranks = run_ranks(R, dropout_classifier, kRoles, train, quiet(3, 50));
    INFO(R << " ranks");
    CHECK(same_bits(ranks[0].model.parameters, ranks[R - 1].model.parameters));
    CHECK(relative_difference(alone, ranks[0].model) < 1e-5);
  }
}

// Clipping takes the ranks' summed gradient: its global norm is one process's.
TEST_CASE("data-parallel fit: gradient clipping clips the summed gradient", "[fit][distributed]") {
  const CircleData train = make_circle(230, 1);
  FitOptions o = quiet(3, 50);
  o.clip = GradientClipping{0.05, 0.02};  // both bind on this model (norms of the order of 1)
  Model alone = small_classifier(1);
  SGD<float> sgd(alone, {0.1, 0.9});
  fit(alone, sgd, kRoles, {train.points.data(), train.labels.data(), 230}, {}, o);
  Model unclipped = small_classifier(1);
  SGD<float> plain(unclipped, {0.1, 0.9});
  fit(unclipped, plain, kRoles, {train.points.data(), train.labels.data(), 230}, {}, quiet(3, 50));
  REQUIRE(relative_difference(alone, unclipped) > 1e-3);  // clipping changed the run
  const std::vector<RankRun> ranks = run_ranks(2, small_classifier, kRoles, train, o);
  CHECK(relative_difference(alone, ranks[0].model) < 1e-5);
}

TEST_CASE("data-parallel fit: batchnorm's running statistics are averaged at each epoch end", "[fit][distributed]") {
  const CircleData train = make_circle(200, 1);
  const ValueRoles roles{"x", "y", "loss", "logit"};
  const auto bn = [](std::uint64_t seed) { return models::circle_bn().build(seed); };
  const std::vector<RankRun> ranks = run_ranks(2, bn, roles, train, quiet(2, 50));
  REQUIRE_FALSE(ranks[0].model.state.empty());
  CHECK(same_bits(ranks[0].model.state, ranks[1].model.state));
  CHECK(same_bits(ranks[0].model.parameters, ranks[1].model.parameters));
}

TEST_CASE("data-parallel fit: batches the ranks cannot share and other rank counts are refused", "[fit][distributed]") {
  const CircleData train = make_circle(201, 1);
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  ThreadGroup group(2);
  ThreadCommunicator comm(group, 0);
  FitOptions o = quiet(1, 50);
  o.communicator = &comm;
  const DataView data{train.points.data(), train.labels.data(), 201};
  CHECK_THAT(testing::error_message<UsageError>([&] { fit(model, sgd, kRoles, data, {}, o); }),
             Contains("the last batch of each epoch has 1 rows (201 examples, batch 50), fewer than the 2 ranks"));
  o.batch = 1;
  CHECK_THAT(testing::error_message<UsageError>([&] { fit(model, sgd, kRoles, data, {}, o); }),
             Contains("a batch of 1 cannot be split over 2 ranks"));

  TrainingState saved;
  saved.batch = 50;
  saved.schedule = "constant";
  saved.ranks = 2;
  saved.batches.num_samples = 201;
  FitOptions resume = quiet(2, 50);
  resume.resume = &saved;
  CHECK_THAT(testing::error_message<UsageError>([&] { fit(model, sgd, kRoles, data, {}, resume); }),
             Contains("the run to resume was trained on 2 rank(s), not 1: resume it on 2 (mpirun -np 2)"));
}
