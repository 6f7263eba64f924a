// Predictor (engine/predictor.hpp): the plain Executor's bits at any batch size, probabilities
// and classes, which input and output it finds and what it refuses. Many threads at once:
// tests/test_predictor_threads.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/evaluate.hpp"
#include "engine/predictor.hpp"
#include "serialization/load_predictor.hpp"
#include "serialization/model_json.hpp"
#include "tests/error_message.hpp"
#include "tests/example_graphs.hpp"
#include "tests/predictor_cases.hpp"
#include "tests/random_values.hpp"
#include "tests/same_bits.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

struct Case {
  const char* name;
  Model model;
  std::string input, output;
  std::size_t features, columns;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back({"small classifier", small_classifier(3), "x", "logits", 2, 2});
  c.push_back({"residual DAG", residual_dag(4), "x", "logits", 4, 3});
  c.push_back({"one logit", one_logit_classifier(false), "x", "logit", 2, 1});
  c.push_back({"batchnorm, one logit", circle_bn_moved(5), "x", "logit", 2, 1});
  c.push_back({"MNIST MLP", models::mnist_mlp().build(6), "x", "logits", 784, 10});
  return c;
}

const std::size_t kBatches[] = {1, 7, 64};

}  // namespace

TEST_CASE("Predictor gives an Executor's bits at batch sizes 1, 7 and 64", "[predictor]") {
  for (const Case& c : cases()) {
    INFO(c.name);
    const Predictor p(c.model);
    CHECK(p.input() == c.input);
    CHECK(p.output() == c.output);
    CHECK(p.input_size() == c.features);
    CHECK(p.output_size() == c.columns);
    CHECK(p.columns() == c.columns);
    for (int round = 0; round < 2; ++round)  // the second round on the pooled executors
      for (const std::size_t n : kBatches) {
        INFO("batch " << n << ", round " << round);
        const std::vector<float> x = random_values<float>(n * c.features, 10 * n + static_cast<std::size_t>(round));
        const std::vector<float> want = executor_output(c.model, c.input, c.output, x, n);
        CHECK(same_bits(p.predict(x), want));
        std::vector<float> out(n * c.columns, -1.0f);
        p.predict(x.data(), n, out.data());
        CHECK(same_bits(out, want));
        CHECK(p.executors(n) == 1);
      }
  }
}

TEST_CASE("Predictor probabilities: a softmax over C logits, a sigmoid for one", "[predictor]") {
  for (const Case& c : cases()) {
    INFO(c.name);
    const Predictor p(c.model);
    for (const std::size_t n : kBatches) {
      INFO("batch " << n);
      const std::vector<float> x = random_values<float>(n * c.features, 20 + n, -3.0, 3.0);
      const std::vector<float> logits = p.predict(x);
      const std::vector<float> probs = p.probabilities(x);
      REQUIRE(probs.size() == n * c.columns);
      for (std::size_t i = 0; i < n; ++i) {
        const float* z = &logits[i * c.columns];
        const float* q = &probs[i * c.columns];
        if (c.columns == 1) {
          CHECK(q[0] == Approx(1.0 / (1.0 + std::exp(-static_cast<double>(z[0])))).epsilon(1e-6));
          continue;
        }
        double m = z[0], sum = 0, total = 0;
        for (std::size_t k = 0; k < c.columns; ++k) m = std::max(m, static_cast<double>(z[k]));
        for (std::size_t k = 0; k < c.columns; ++k) sum += std::exp(z[k] - m);
        for (std::size_t k = 0; k < c.columns; ++k) {
          CHECK(q[k] == Approx(std::exp(z[k] - m) / sum).epsilon(1e-6).margin(1e-30));
          total += q[k];
        }
        CHECK(total == Approx(1.0).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("Predictor classes are predicted_class of its outputs", "[predictor]") {
  for (const Case& c : cases()) {
    INFO(c.name);
    const Predictor p(c.model);
    const std::size_t n = 64;
    const std::vector<float> x = random_values<float>(n * c.features, 31, -3.0, 3.0);
    const std::vector<float> logits = p.predict(x);
    const std::vector<std::size_t> got = p.classes(x);
    REQUIRE(got.size() == n);
    std::vector<std::size_t> seen(std::max<std::size_t>(c.columns, 2), 0);
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(got[i] == predicted_class(&logits[i * c.columns], c.columns));
      ++seen[got[i]];
    }
    std::size_t distinct = 0;
    for (std::size_t k : seen) distinct += k > 0;
    CHECK(distinct >= 2);  // a constant answer would pass the comparison without testing it
  }
}

TEST_CASE("Predictor refuses inputs that are not whole examples, and null buffers", "[predictor]") {
  const Model model = residual_dag(4);
  const Predictor p(model);
  CHECK_THAT(error_message<UsageError>([&] { p.predict(std::vector<float>(10)); }),
             Contains("Predictor::predict: 10 floats are not whole examples of the input 'x' (4 floats each)"));
  CHECK_THAT(error_message<UsageError>([&] { p.probabilities(std::vector<float>(3)); }),
             Contains("Predictor::probabilities: 3 floats"));
  CHECK_THAT(error_message<UsageError>([&] { p.classes(std::vector<float>(5)); }), Contains("Predictor::classes: 5 floats"));
  float out[3];
  CHECK_THAT(error_message<UsageError>([&] { p.predict(nullptr, 1, out); }), Contains("a null input or output"));
  CHECK(p.predict(std::vector<float>{}).empty());  // no examples, no output
  p.predict(nullptr, 0, nullptr);
  CHECK(p.executors(0) == 0);
}

TEST_CASE("Predictor finds the input and the output, or names the candidates", "[predictor]") {
  SECTION("a loss and logits: the logits; a named hidden value instead") {
    const Model model = small_classifier(3);
    CHECK(Predictor(model).output() == "logits");
    PredictorOptions options;
    options.output = "fc1";
    const Predictor hidden(model, options);
    CHECK(hidden.output_size() == 16);
    CHECK(hidden.columns() == 16);
    const std::vector<float> x = random_values<float>(14, 8);
    CHECK(same_bits(hidden.predict(x), executor_output(model, "x", "fc1", x, 7)));
  }
  SECTION("two per-example outputs: both named") {
    GraphBuilder b;
    const Value x = b.input("x", {kBatchDim, 3});
    const Value h = b.dense(x, 4, "h");
    b.output(h);
    b.output(b.softmax(h, "probs"));
    const Model model = b.build(1);
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model); }),
               Contains("several graph outputs are per example") && Contains("'h' [N, 4], 'probs' [N, 4]") &&
                   Contains("PredictorOptions::output"));
    PredictorOptions options;
    options.output = "probs";
    CHECK(Predictor(model, options).output() == "probs");
  }
  SECTION("only a loss: none, and the outputs named") {
    GraphBuilder b;
    const Value x = b.input("x", {kBatchDim, 3}), y = b.input("y", {kBatchDim, 2});
    b.output(b.mse_loss(b.dense(x, 2, "out"), y, "loss"));
    const Model model = b.build(1);
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model); }),
               Contains("no graph output is per example") && Contains("the graph's outputs are 'loss' []"));
    PredictorOptions options;
    options.output = "loss";
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model, options); }),
               Contains("the output 'loss' [] is not per example"));
  }
  SECTION("an output computed from two inputs") {
    GraphBuilder b;
    const Value x = b.input("x", {kBatchDim, 3}), z = b.input("z", {kBatchDim, 3});
    b.output(b.add(x, z, "sum"));
    const Model model = b.build(1);
    PredictorOptions options;
    options.output = "sum";
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model, options); }),
               Contains("computed from the inputs 'x', 'z'; a Predictor feeds exactly one"));
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model); }), Contains("no graph output is per example"));
  }
  SECTION("named values that are not what they must be") {
    const Model model = small_classifier(3);
    PredictorOptions options;
    options.input = "labels";
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model, options); }),
               Contains("no graph output is per example ([N, ...]) and computed from 'labels' alone"));
    options.input = "fc1.weight";
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model, options); }),
               Contains("'fc1.weight' is not an input of the graph"));
    options = {};
    options.output = "nothing";
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model, options); }), Contains("no value 'nothing'"));
    options.output = "x";
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model, options); }), Contains("'x' is not computed by a node"));
  }
  SECTION("an input with no values per example") {
    GraphBuilder b;
    const Value x = b.input("x", {kBatchDim, 0});
    b.output(b.relu(x, "y"));
    const Model model = b.build(1);
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model); }),
               Contains("the input 'x' [N, 0] has no values per example"));
  }
  SECTION("an input without the batch first") {
    GraphBuilder b;
    const Value x = b.input("x", {5, 3});
    b.output(b.dense(x, 2, "out"));
    const Model model = b.build(1);
    PredictorOptions options;
    options.output = "out";
    CHECK_THAT(error_message<UsageError>([&] { Predictor p(model, options); }),
               Contains("the output 'out' [5, 2] is not per example"));
  }
}

TEST_CASE("Predictor probabilities and classes need [N, C] outputs", "[predictor]") {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 2, 3});
  b.output(b.relu(x, "y"));
  const Model model = b.build(1);
  const Predictor p(model);
  CHECK(p.columns() == 0);
  CHECK(p.output_size() == 6);
  const std::vector<float> in = random_values<float>(12, 2);
  CHECK(same_bits(p.predict(in), executor_output(model, "x", "y", in, 2)));
  CHECK_THAT(error_message<UsageError>([&] { p.probabilities(in); }), Contains("the output 'y' is not [N, C]"));
  CHECK_THAT(error_message<UsageError>([&] { p.classes(in); }), Contains("the output 'y' is not [N, C]"));
}

TEST_CASE("Predictor owns a loaded model; a graph's own softmax node is left alone", "[predictor]") {
  // The probabilities node gets a name of its own when the graph has taken the obvious one.
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 3});
  const Value logits = b.dense(x, 4, "logits");
  b.softmax(logits, "logits.probabilities");
  b.output(logits);
  const Model model = b.build(2);
  TempDir dir;
  const std::string path = (dir.path() / "model.json").string();
  save_model(model, path);
  const Predictor p = load_predictor(path);
  const std::vector<float> in = random_values<float>(9, 4);
  CHECK(same_bits(p.predict(in), executor_output(model, "x", "logits", in, 3)));
  PredictorOptions options;
  options.output = "logits.probabilities";
  const Predictor graph_softmax(model, options);
  CHECK(same_bits(p.probabilities(in), graph_softmax.predict(in)));
  CHECK_THAT(error_message<DataError>([&] { load_predictor((dir.path() / "none.json").string()); }), Contains("none.json"));
}

TEST_CASE("Predictor warm_up makes the executors ahead of the calls", "[predictor]") {
  const Model model = small_classifier(3);
  const Predictor p(model);
  p.warm_up(5, 3);
  CHECK(p.executors(5) == 3);
  CHECK(p.executors(5, true) == 0);
  p.warm_up(5, 2, true);
  CHECK(p.executors(5, true) == 2);
  const std::vector<float> x = random_values<float>(10, 1);
  p.predict(x);
  p.classes(x);
  p.probabilities(x);
  CHECK(p.executors(5) == 3);
  CHECK(p.executors(5, true) == 2);
}
