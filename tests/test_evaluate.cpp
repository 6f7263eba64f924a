// evaluate: accuracy and mean loss worked out by hand on tiny data sets, in every batch
// size (full batches and a partial last one); batchnorm in Eval mode; a 4-D image input;
// the one definition of a prediction (ties, one logit); a one-logit binary classifier and
// a 20-class model through the file conventions and an IDX set; the role conventions and
// the errors for models that do not fit them.
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "engine/eval_roles.hpp"
#include "engine/evaluate.hpp"
#include "datasets/idx.hpp"
#include "tests/example_graphs.hpp"
#include "tests/temp_dir.hpp"

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
  m.parameter("fc.weight") = Tensor<float>({2, 2}, {1.0f, 0.0f, 0.0f, 1.0f});
  m.parameter("fc.bias") = Tensor<float>({2}, {0.0f, 0.0f});
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
  model.state_tensor("bn.running_mean") = Tensor<float>({2}, {1.0f, -1.0f});
  model.state_tensor("bn.running_var") = Tensor<float>({2}, {4.0f, 1.0f});
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
  const Tensor<float>& running_mean = model.state.at("bn.running_mean");
  const Tensor<float>& running_var = model.state.at("bn.running_var");
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
  model.parameter("fc.weight") = Tensor<float>({4, 2}, {1, 0, 0, 0, 0, 0, 0, 1});
  model.parameter("fc.bias") = Tensor<float>({2}, {0, 0});
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

TEST_CASE("predicted_class: the argmax (the first, on ties); one logit: positive is class 1", "[evaluate]") {
  const float three[] = {0.5f, 2.0f, 2.0f};
  CHECK(predicted_class(three, 3) == 1);
  const float ties[] = {-1.0f, -1.0f};
  CHECK(predicted_class(ties, 2) == 0);
  const float positive = 0.25f, negative = -0.25f, zero = 0.0f;
  CHECK(predicted_class(&positive, 1) == 1);
  CHECK(predicted_class(&negative, 1) == 0);
  CHECK(predicted_class(&zero, 1) == 0);  // sigmoid(0) = 0.5 is not above 0.5
}

TEST_CASE("true_class: class indices, one-hot rows, 0/1 labels; anything else is a DataError", "[evaluate]") {
  const float index = 12.0f, one_hot[] = {0.0f, 0.0f, 1.0f}, one = 1.0f, zero = 0.0f;
  CHECK(true_class(&index, 1, 20, 0) == 12);
  CHECK(true_class(one_hot, 3, 3, 0) == 2);
  CHECK(true_class(&one, 1, 1, 0) == 1);
  CHECK(true_class(&zero, 1, 1, 0) == 0);
  const float too_big = 20.0f, negative = -1.0f, fraction = 1.5f;
  CHECK_THROWS_WITH(true_class(&too_big, 1, 20, 7), Contains("label 20") && Contains("row 7") && Contains("[0, 20)"));
  CHECK_THROWS_AS(true_class(&negative, 1, 20, 0), DataError);
  CHECK_THROWS_AS(true_class(&fraction, 1, 20, 0), DataError);
}

namespace {

double bce(double x, double t) { return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::abs(x))); }

}  // namespace

TEST_CASE("evaluate: a one-logit binary classifier is right when the logit's sign is the label", "[evaluate]") {
  const Model model = testing::one_logit_classifier(/*labels_input=*/true);
  const EvalRoles roles = eval_roles(model.graph);
  CHECK(roles.logits == "logit");
  CHECK(roles.loss == "loss");
  CHECK(roles.columns == 1);
  CHECK(roles.classes == 2);
  // Row by row, the logit x0 - x1 and the label. Half the labels are 0, so a prediction
  // that is always class 0 would score 0.5; the sign scores 4 of 6.
  const std::vector<float> images = {2, 0,     // +2, label 1: right
                                     0, 1,     // -1, label 0: right
                                     1, 0,     // +1, label 0: wrong
                                     0, 3,     // -3, label 1: wrong
                                     1, 0.5f,  // +0.5, label 1: right
                                     1, 1};    //  0, label 0: right (0 is class 0)
  const std::vector<float> labels = {1, 0, 0, 1, 1, 0};
  const double logits[] = {2, -1, 1, -3, 0.5, 0};
  double loss = 0;
  for (int i = 0; i < 6; ++i) loss += bce(logits[i], labels[static_cast<std::size_t>(i)]) / 6;
  for (std::size_t batch : {1, 4, 6}) {
    CAPTURE(batch);
    const EvalResult r = evaluate(model, images.data(), labels.data(), 6, batch);
    CHECK(r.correct == 4);
    CHECK(r.accuracy == Approx(4.0 / 6.0).epsilon(1e-12));
    CHECK(r.loss == Approx(loss).epsilon(1e-6));
  }
}

namespace {

// x [N, 4] (2x2 images) -> "fc" [N, 20]: pixel k scores class 10 + k, every other class 0.
Model twenty_classes() {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 4}), labels = b.input("labels", {kBatchDim});
  Value logits = b.dense(x, 20, "fc");
  b.output(b.softmax_cross_entropy(logits, labels, "loss"));
  b.output(logits);
  Model m = b.build(1);
  Tensor<float> w({4, 20});
  for (std::size_t k = 0; k < 4; ++k) w(k, 10 + k) = 1.0f;
  m.parameter("fc.weight") = w;
  m.parameter("fc.bias") = Tensor<float>({20});
  return m;
}

}  // namespace

TEST_CASE("evaluate: a 20-class model on IDX labels 10-19, the classes from its logits", "[evaluate]") {
  const Model model = twenty_classes();
  const EvalRoles roles = eval_roles(model.graph);
  REQUIRE(roles.classes == 20);
  testing::TempDir dir;
  // Five 2x2 images, one bright pixel each: pixels 0, 1, 2, 3 and 0 again.
  const std::vector<std::uint8_t> pixels = {255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 0, 0, 0};
  write_idx_images(dir.file(mnist_images_name(Split::Test)), pixels.data(), 5, 2, 2);
  write_idx_labels(dir.file(mnist_labels_name(Split::Test)), std::vector<std::uint8_t>{10, 11, 12, 13, 19});
  const ImageSet set = load_image_set(dir.path().string(), Split::Test, roles);
  REQUIRE(set.size() == 5);
  CHECK(set.labels(4) == 19.0f);
  const EvalResult r = evaluate(model, roles, {set.images.data(), set.labels.data(), set.size()}, 2);
  CHECK(r.correct == 4);  // the last image scores class 10, its label is 19
  // Right rows: logit e^1 among 19 zeros; the wrong one reads a zero logit.
  const double right = std::log(std::exp(1.0) + 19) - 1, wrong = std::log(std::exp(1.0) + 19);
  CHECK(r.loss == Approx((4 * right + wrong) / 5).epsilon(1e-6));

  SECTION("a label the logits do not have is a DataError naming the file") {
    write_idx_labels(dir.file(mnist_labels_name(Split::Test)), std::vector<std::uint8_t>{10, 11, 20, 13, 19});
    CHECK_THROWS_WITH(load_image_set(dir.path().string(), Split::Test, roles),
                      Contains(mnist_labels_name(Split::Test)) && Contains("20"));
  }
  SECTION("one logit: the labels are 0 and 1") {
    write_idx_images(dir.file(mnist_images_name(Split::Test)), pixels.data(), 5, 1, 4);
    write_idx_labels(dir.file(mnist_labels_name(Split::Test)), std::vector<std::uint8_t>{0, 1, 1, 0, 2});
    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 4}), labels = b.input("labels", {kBatchDim});
    Value logit = b.dense(x, 1, "logit");
    b.output(b.binary_cross_entropy_with_logits(b.op("reshape", {logit}, {{"shape", std::vector<std::int64_t>{-1}}}),
                                                labels, "loss"));
    b.output(logit);
    CHECK_THROWS_AS(load_image_set(dir.path().string(), Split::Test, eval_roles(b.graph())), DataError);
  }
}

TEST_CASE("Evaluator: the roles it measures, the plans it makes, and what it refuses", "[evaluate]") {
  Model model = identity_classifier();
  const std::vector<float> images = {kLn3, 0, 0, kLn3, kLn3, 0}, labels = {0, 1, 1};
  SECTION("logits only: accuracy, no loss; a plan per batch size") {
    Evaluator e(model, {"x", "labels", "", "fc"}, 3, 2);
    CHECK(e.batch() == 2);
    CHECK(e.columns() == 2);
    REQUIRE(e.remainder_plan() != nullptr);
    const EvalResult r = e.run({images.data(), labels.data(), 3});
    CHECK(r.correct == 2);
    CHECK(std::isnan(r.loss));
  }
  SECTION("the loss only: no accuracy") {
    Evaluator e(model, {"x", "labels", "loss", ""}, 3, 3);
    CHECK(e.remainder_plan() == nullptr);
    const EvalResult r = e.run({images.data(), labels.data(), 3});
    CHECK(std::isnan(r.accuracy));
    CHECK(r.loss == Approx((2 * std::log(4.0 / 3.0) + std::log(4.0)) / 3).epsilon(1e-6));
  }
  SECTION("refusals") {
    CHECK_THROWS_WITH(Evaluator(model, {"x", "labels", "", ""}, 3, 2), Contains("nothing to measure"));
    CHECK_THROWS_WITH(Evaluator(model, {"x", "nope", "loss", "fc"}, 3, 2), Contains("'nope' is not an input"));
    Evaluator e(model, {"x", "labels", "loss", "fc"}, 3, 2);
    CHECK_THROWS_WITH(e.run({images.data(), labels.data(), 2}), Contains("made for 3 examples"));
  }
}
