// evaluate: accuracy and mean loss worked out by hand on tiny data sets, in every batch
// size (full batches and a partial last one); batchnorm in Eval mode; a 4-D image input;
// the role conventions and the errors for models that do not fit them.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>

#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "engine/eval_roles.hpp"
#include "engine/evaluate.hpp"
#include "tests/example_graphs.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

namespace {

const float kLn3 = std::log(3.0f);

// x[N,2] -> dense 2 "fc" with W = identity, b = 0 -> softmax_cross_entropy(labels) "loss",
// so the logits are x itself. A row (ln 3, 0) has softmax (3/4, 1/4).
Model identity_classifier() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), labels = b.input("labels", {kBatchDim});
  Value logits = b.dense(x, 2, "fc");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  Model m = b.build(1);
  m.parameter("fc.weight") = xt::xarray<float>{{1.0f, 0.0f}, {0.0f, 1.0f}};
  m.parameter("fc.bias") = xt::xarray<float>{0.0f, 0.0f};
  return m;
}

}  // namespace

TEST_CASE("evaluate: accuracy and mean loss by hand, in every batch size", "[evaluate]") {
  const Model model = identity_classifier();
  // Row by row: predicted class, loss -log softmax[label].
  const std::vector<float> images = {kLn3, 0,     // predicts 0, label 0: right, ln(4/3)
                                     kLn3, 0,     // predicts 0, label 1: wrong, ln 4
                                     0,    kLn3,  // predicts 1, label 1: right, ln(4/3)
                                     0,    kLn3,  // predicts 1, label 0: wrong, ln 4
                                     kLn3, 0};    // predicts 0, label 0: right, ln(4/3)
  const std::vector<float> labels = {0, 1, 1, 0, 0};
  const double loss = (3 * std::log(4.0 / 3.0) + 2 * std::log(4.0)) / 5;
  // batch 2: batches of 2, 2, 1 -- the mean is over examples, not over batch means.
  for (std::size_t batch : {1, 2, 3, 4, 5, 7, 1000}) {
    CAPTURE(batch);
    const EvalResult r = evaluate(model, images.data(), labels.data(), 5, batch);
    CHECK(r.count == 5);
    CHECK(r.correct == 3);
    CHECK(r.accuracy == Approx(0.6).epsilon(1e-12));
    CHECK(r.loss == Approx(loss).epsilon(1e-6));
  }
}

TEST_CASE("evaluate: batchnorm runs in Eval mode on its running statistics", "[evaluate]") {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2}), label_input = b.input("labels", {kBatchDim});
  Value gamma = b.parameter("bn.gamma", {2}, init::constant(1));
  Value beta = b.parameter("bn.beta", {2}, init::zeros());
  Value mean = b.state("bn.running_mean", {2}, init::zeros());
  Value var = b.state("bn.running_var", {2}, init::constant(1));
  Value logits = b.op("batchnorm", {x, gamma, beta, mean, var}, {}, "bn");
  b.output(b.softmax_cross_entropy(logits, label_input, "loss"));
  b.output(logits);
  Model model = b.build(1);
  // y = (x - mean) / sqrt(var + eps): column 0 is (x0 - 1) / 2, column 1 is x1 + 1.
  model.state_tensor("bn.running_mean") = xt::xarray<float>{1.0f, -1.0f};
  model.state_tensor("bn.running_var") = xt::xarray<float>{4.0f, 1.0f};
  const std::vector<float> images = {1 + 2 * kLn3, -1,   // y = (ln 3, 0), label 0: right, ln(4/3)
                                     1, -1 + kLn3};      // y = (0, ln 3), label 0: wrong, ln 4
  const std::vector<float> labels = {0, 0};
  // Batch 1: Train mode would refuse (one value per channel); Eval mode does not care.
  for (std::size_t batch : {1, 2}) {
    const EvalResult r = evaluate(model, images.data(), labels.data(), 2, batch);
    CHECK(r.correct == 1);
    CHECK(r.loss == Approx((std::log(4.0 / 3.0) + std::log(4.0)) / 2).epsilon(1e-5));
  }
  // The running statistics are read, never updated.
  const xt::xarray<float>& running_mean = model.state.at("bn.running_mean");
  const xt::xarray<float>& running_var = model.state.at("bn.running_var");
  CHECK(running_mean(0) == 1.0f);
  CHECK(running_mean(1) == -1.0f);
  CHECK(running_var(0) == 4.0f);
  CHECK(running_var(1) == 1.0f);
}

TEST_CASE("evaluate: a 4-D image input takes the same flat rows", "[evaluate]") {
  // x[N,1,2,2] -> flatten -> dense 2 with W picking pixel 0 for class 0 and pixel 3 for 1.
  GraphBuilder b;
  Value x = b.input("images", {kBatchDim, 1, 2, 2}), digits = b.input("digits", {kBatchDim});
  Value logits = b.dense(b.op("flatten", {x}, {}, "flatten"), 2, "fc");
  b.output(b.softmax_cross_entropy(logits, digits, "loss"));
  Model model = b.build(1);
  model.parameter("fc.weight") = xt::xarray<float>{{1, 0}, {0, 0}, {0, 0}, {0, 1}};
  model.parameter("fc.bias") = xt::xarray<float>{0, 0};
  const EvalRoles roles = eval_roles(model.graph);
  CHECK(roles.input == "images");
  CHECK(roles.target == "digits");
  CHECK(roles.features == 4);
  CHECK(roles.input_shape == Shape{kBatchDim, 1, 2, 2});
  CHECK(roles.logits == "fc");
  CHECK(roles.classes == 2);
  const std::vector<float> images = {kLn3, 9, 9, 0,   // logits (ln 3, 0), label 0: right
                                     0, 5, 5, kLn3,   // logits (0, ln 3), label 1: right
                                     0, 0, 0, kLn3};  // logits (0, ln 3), label 0: wrong
  const std::vector<float> labels = {0, 1, 0};
  const EvalResult r = evaluate(model, images.data(), labels.data(), 3, 2);
  CHECK(r.correct == 2);
  CHECK(r.accuracy == Approx(2.0 / 3.0).epsilon(1e-12));
  CHECK(r.loss == Approx((2 * std::log(4.0 / 3.0) + std::log(4.0)) / 3).epsilon(1e-6));
}

TEST_CASE("evaluate: agrees across batch sizes on a trained-looking network", "[evaluate]") {
  const Model model = testing::circle_mlp(7);
  const auto data = testing::random_batch<float>(37, 2, 2, 11);
  const EvalResult whole = evaluate(model, data.x.data(), data.labels.data(), 37, 37);
  const EvalResult batched = evaluate(model, data.x.data(), data.labels.data(), 37, 10);
  CHECK(whole.correct == batched.correct);
  CHECK(whole.loss == Approx(batched.loss).epsilon(1e-6));
  CHECK(whole.loss > 0.0);
}

TEST_CASE("eval_roles: the conventions, and graphs that do not fit them", "[evaluate]") {
  SECTION("a classifier") {
    const EvalRoles r = eval_roles(identity_classifier().graph);
    CHECK(r.input == "x");
    CHECK(r.target == "labels");
    CHECK(r.logits == "fc");
    CHECK(r.loss == "loss");
    CHECK(r.features == 2);
    CHECK(r.classes == 2);
  }
  SECTION("no declared outputs: the loss is the softmax_cross_entropy node's") {
    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 3}), labels = b.input("labels", {kBatchDim});
    b.softmax_cross_entropy(b.dense(x, 4, "logits"), labels, "xent");
    const EvalRoles r = eval_roles(b.graph());
    CHECK(r.loss == "xent");
    CHECK(r.logits == "logits");
    CHECK(r.classes == 4);
  }
  SECTION("no label input") {
    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 2});
    b.output(b.dense(x, 1, "fc"));
    REQUIRE_THROWS_AS(eval_roles(b.graph()), UsageError);
    REQUIRE_THROWS_WITH(eval_roles(b.graph()), Contains("one label input of shape [N]") && Contains("none"));
  }
  SECTION("two image inputs") {
    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 2}), z = b.input("z", {kBatchDim, 2});
    Value labels = b.input("labels", {kBatchDim});
    b.output(b.softmax_cross_entropy(b.add(x, z, "sum"), labels, "loss"));
    REQUIRE_THROWS_WITH(eval_roles(b.graph()), Contains("one image input") && Contains("'x', 'z'"));
  }
  SECTION("a fixed batch") {
    GraphBuilder b;
    Value x = b.input("x", {4, 2}), labels = b.input("labels", {4});
    b.output(b.softmax_cross_entropy(x, labels, "loss"));
    REQUIRE_THROWS_WITH(eval_roles(b.graph()), Contains("'x' [4, 2]") && Contains("symbolic batch"));
  }
  SECTION("no loss") {
    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 2});
    b.input("labels", {kBatchDim});
    b.output(b.relu(x, "out"));
    REQUIRE_THROWS_WITH(eval_roles(b.graph()), Contains("scalar graph output") && Contains("'out'"));
  }
}

TEST_CASE("evaluate: bad arguments and bad labels are typed errors", "[evaluate]") {
  const Model model = identity_classifier();
  const std::vector<float> images = {1, 0, 0, 1}, labels = {0, 5};
  REQUIRE_THROWS_AS(evaluate(model, images.data(), labels.data(), 0, 10), UsageError);
  REQUIRE_THROWS_AS(evaluate(model, images.data(), labels.data(), 2, 0), UsageError);
  REQUIRE_THROWS_AS(evaluate(model, images.data(), labels.data(), 2, 2), DataError);
}
