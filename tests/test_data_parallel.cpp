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
#include "engine/evaluate.hpp"
#include "engine/fit.hpp"
#include "networks/models.hpp"
#include "serialization/checkpoint.hpp"
#include "tests/error_message.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"
#include "tests/temp_dir.hpp"

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

// A RowSource over a CircleData that records every row it is asked for.
struct RecordingRows final : RowSource {
  explicit RecordingRows(const CircleData& set_) : set(&set_) {}
  void read(Span<const std::size_t> indices, float* features, float* targets) override {
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const std::size_t i = indices[k];
      asked.push_back(i);
      features[2 * k] = set->points.data()[2 * i];
      features[2 * k + 1] = set->points.data()[2 * i + 1];
      targets[k] = set->labels.data()[i];
    }
  }
  const CircleData* set;
  std::vector<std::size_t> asked;
};

struct RankRun {
  Model model;
  FitResult result;
  int checkpoints = 0;
  std::vector<std::size_t> asked;  // sharded: the rows the rank read
};

// R ranks, one thread each, training make_model(1) on `train` with options `o`.
template <class MakeModel>
std::vector<RankRun> run_ranks(int R, MakeModel make_model, const ValueRoles& roles, const CircleData& train,
                               FitOptions o, const DataView& validation = {}, bool sharded = false) {
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
      RecordingRows rows(train);
      if (sharded) mine.train_rows = &rows;
      const DataView data = sharded ? DataView(nullptr, nullptr, train.size())
                                    : DataView(train.points.data(), train.labels.data(), train.size());
      run.result = fit(run.model, sgd, roles, data, validation, mine);
      run.asked = rows.asked;
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

// x [N, 2] -> dense 8, tanh -> dense 2 "pred", MSE against "y" [N, 2]: a regression.
Model regressor(std::uint64_t seed) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), y = b.input("y", {kBatchDim, 2});
  Value pred = b.dense(b.tanh(b.dense(x, 8, "fc1")), 2, "pred");
  b.output(b.mse_loss(pred, y, "loss"));
  b.output(pred);
  return b.build(seed);
}

// Every figure of two evaluations, bit for bit (a figure not measured is the same NaN).
bool same_figures(const EvalResult& a, const EvalResult& b) {
  return a.count == b.count && a.correct == b.correct && same_bits(a.loss, b.loss) &&
         same_bits(a.accuracy, b.accuracy) && same_bits(a.precision, b.precision) && same_bits(a.recall, b.recall) &&
         same_bits(a.auc, b.auc) && same_bits(a.rmse, b.rmse) && same_bits(a.mae, b.mae) && same_bits(a.r2, b.r2);
}

// R ranks, one thread each, evaluating make_model(1) on `data` together.
template <class MakeModel>
std::vector<EvalResult> evaluate_on_ranks(int R, MakeModel make_model, const ValueRoles& roles, const DataView& data,
                                          std::size_t batch) {
  ThreadGroup group(R);
  std::vector<EvalResult> results(static_cast<std::size_t>(R));
  std::vector<std::thread> threads;
  for (int r = 0; r < R; ++r)
    threads.emplace_back([&, r] {
      Model model = make_model(1);
      Evaluator evaluator(model, roles, data.n, batch);
      ThreadCommunicator comm(group, r);
      results[static_cast<std::size_t>(r)] = evaluator.run(data, &comm);
    });
  for (auto& t : threads) t.join();
  return results;
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

// Each rank evaluates its contiguous batches; the figures put together are one process's,
// bit for bit: the loss terms added in batch order, the counts summed, one logit's scores
// and a regression's rows gathered before the metrics that do not decompose.
TEST_CASE("data-parallel evaluation: R ranks report one process's figures, bit for bit", "[evaluate][distributed]") {
  const CircleData set = make_circle(230, 2);
  std::vector<float> targets(2 * set.size());  // the regression's: (x0 x1, x0 - x1)
  for (std::size_t i = 0; i < set.size(); ++i) {
    const float x0 = set.points.data()[2 * i], x1 = set.points.data()[2 * i + 1];
    targets[2 * i] = x0 * x1;
    targets[2 * i + 1] = x0 - x1;
  }
  const DataView labelled{set.points.data(), set.labels.data(), set.size()};
  const DataView regression{set.points.data(), targets.data(), set.size()};
  const auto bn = [](std::uint64_t seed) { return models::circle_bn().build(seed); };
  // 230 rows in batches of 50 (2 + 3 or 1 + 2 + 2 batches, the last of 30 rows), of 7
  // (33 batches) and of 300 (one batch: some ranks have none).
  for (const std::size_t batch : {std::size_t{50}, std::size_t{7}, std::size_t{300}})
    for (const int R : {2, 3}) {
      INFO("batch " << batch << ", " << R << " ranks");
      const EvalResult classes = evaluate(small_classifier(1), kRoles, labelled, batch);
      const EvalResult binary = evaluate(bn(1), {"x", "y", "loss", "logit"}, labelled, batch);
      const EvalResult fitted = evaluate(regressor(1), {"x", "y", "loss", "", "pred"}, regression, batch);
      REQUIRE(std::isfinite(binary.auc));
      REQUIRE(std::isfinite(fitted.r2));
      for (const EvalResult& r : evaluate_on_ranks(R, small_classifier, kRoles, labelled, batch))
        CHECK(same_figures(r, classes));
      for (const EvalResult& r : evaluate_on_ranks(R, bn, {"x", "y", "loss", "logit"}, labelled, batch))
        CHECK(same_figures(r, binary));
      for (const EvalResult& r : evaluate_on_ranks(R, regressor, {"x", "y", "loss", "", "pred"}, regression, batch))
        CHECK(same_figures(r, fitted));
    }
}

TEST_CASE("data-parallel fit: every rank's validation figures are one process's on the trained model",
          "[fit][distributed]") {
  const CircleData train = make_circle(230, 1), validation = make_circle(130, 2);
  const DataView val{validation.points.data(), validation.labels.data(), validation.size()};
  FitOptions o = quiet(2, 50);
  o.eval_batch = 40;  // 4 batches, the last of 10 rows
  const std::vector<RankRun> ranks = run_ranks(2, small_classifier, kRoles, train, o, val);
  const EvalResult alone = evaluate(ranks[0].model, kRoles, val, 40);
  for (const RankRun& run : ranks) {
    REQUIRE(run.result.history.size() == 2);
    CHECK(same_bits(run.result.history.back().val_loss, alone.loss));
    CHECK(same_bits(run.result.history.back().val_accuracy, alone.accuracy));
  }
}

// Synchronized batchnorm and local statistics are different computations: the checkpoint
// records which one ran, and a resume with the other is refused.
TEST_CASE("data-parallel fit: a resume that turns synchronized batchnorm on or off is refused", "[fit][distributed]") {
  const CircleData train = make_circle(200, 1);
  const DataView data{train.points.data(), train.labels.data(), train.size()};
  const ValueRoles roles{"x", "y", "loss", "logit"};
  const auto bn = [](std::uint64_t seed) { return models::circle_bn().build(seed); };
  testing::TempDir dir;
  for (const bool synced : {true, false}) {
    INFO("trained with synchronized batchnorm " << (synced ? "on" : "off"));
    FitOptions o = quiet(1, 50);
    o.sync_batchnorm = synced;
    // One rank: synchronized batchnorm is process-wide, so threads cannot each run it.
    const std::vector<RankRun> ranks = run_ranks(1, bn, roles, train, o);
    CHECK(ranks[0].result.state.sync_batchnorm == synced);
    save_checkpoint(dir.file("c.json"), ranks[0].model, ranks[0].result.state);
    const Checkpoint saved = load_checkpoint(dir.file("c.json"));
    CHECK(saved.state.sync_batchnorm == synced);

    Model model = saved.model;
    SGD<float> sgd(model, {0.1, 0.9});
    ThreadGroup group(1);
    ThreadCommunicator comm(group, 0);
    FitOptions resume = quiet(2, 50);
    resume.resume = &saved.state;
    resume.communicator = &comm;
    resume.sync_batchnorm = !synced;
    CHECK_THAT(testing::error_message<UsageError>([&] { fit(model, sgd, roles, data, {}, resume); }),
               Contains(synced ? "trained with synchronized batchnorm on, not off: resume it with --sync-batchnorm"
                               : "trained with synchronized batchnorm off, not on: resume it without --sync-batchnorm"));
  }
  // One process: the option does nothing, and nothing is recorded.
  Model alone = bn(1);
  SGD<float> sgd(alone, {0.1, 0.9});
  FitOptions o = quiet(1, 50);
  o.sync_batchnorm = true;
  CHECK_FALSE(fit(alone, sgd, roles, data, {}, o).state.sync_batchnorm);
}

// Each rank reads, at each epoch's start, only its slices of that epoch's batches
// (FitOptions::train_rows), and trains exactly as it does holding the whole set.
TEST_CASE("data-parallel fit: each rank reads only its shard of each epoch, with the same bits",
          "[fit][distributed]") {
  const CircleData train = make_circle(230, 1);
  for (const int R : {1, 2, 3}) {
    INFO(R << " ranks");
    const std::vector<RankRun> whole = run_ranks(R, small_classifier, kRoles, train, quiet(3, 50));
    const std::vector<RankRun> sharded = run_ranks(R, small_classifier, kRoles, train, quiet(3, 50), {}, true);
    std::vector<int> reads(train.size(), 0);
    for (int r = 0; r < R; ++r) {
      const RankRun& run = sharded[static_cast<std::size_t>(r)];
      CHECK(same_bits(run.model.parameters, whole[static_cast<std::size_t>(r)].model.parameters));
      // Its slice of the 4 batches of 50 and the last of 30, in each of 3 epochs.
      std::size_t expected = 0;
      for (const std::size_t b : {50, 50, 50, 50, 30})
        expected += b * static_cast<std::size_t>(r + 1) / static_cast<std::size_t>(R) -
                    b * static_cast<std::size_t>(r) / static_cast<std::size_t>(R);
      CHECK(run.asked.size() == 3 * expected);
      for (const std::size_t i : run.asked) ++reads[i];
    }
    CHECK(std::all_of(reads.begin(), reads.end(), [](int c) { return c == 3; }));  // once per epoch, by one rank
  }
  // One process through a RowSource: the bits of one process holding the set.
  Model alone = small_classifier(1), through = small_classifier(1);
  SGD<float> a(alone, {0.1, 0.9}), b(through, {0.1, 0.9});
  fit(alone, a, kRoles, {train.points.data(), train.labels.data(), 230}, {}, quiet(2, 50));
  RecordingRows rows(train);
  FitOptions o = quiet(2, 50);
  o.train_rows = &rows;
  fit(through, b, kRoles, {nullptr, nullptr, 230, "circle"}, {}, o);
  CHECK(same_bits(alone.parameters, through.parameters));
  CHECK(rows.asked.size() == 2 * 230);
}

TEST_CASE("fit: rows read on demand are checked as a data set is, naming the example", "[fit][distributed]") {
  CircleData train = make_circle(230, 1);
  train.labels.data()[17] = 2.0f;  // the classifier has 2 classes
  Model model = small_classifier(1);
  SGD<float> sgd(model, {0.1});
  RecordingRows rows(train);
  FitOptions o = quiet(1, 50);
  o.train_rows = &rows;
  CHECK_THAT(testing::error_message<DataError>([&] { fit(model, sgd, kRoles, {nullptr, nullptr, 230, "circle"}, {}, o); }),
             Contains("fit: the training data: example 17 of circle: label 2 is not a class index in [0, 2)"));
}
