// The circle data: deterministic from the seed, labelled by the disk rule, balanced; and
// the accuracy the circle example reports on its two networks, through the evaluation loop.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "engine/batches.hpp"
#include "datasets/circle.hpp"
#include "core/errors.hpp"
#include "core/random.hpp"
#include "engine/evaluate.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "networks/models.hpp"

using namespace plangrad;

TEST_CASE("make_circle is a function of the seed, bit for bit", "[circle]") {
  const CircleData a = make_circle(500, 7);
  const CircleData b = make_circle(500, 7);
  const CircleData c = make_circle(500, 8);
  REQUIRE(a.points.shape()[0] == 500);
  REQUIRE(a.points.shape()[1] == 2);
  REQUIRE(a.labels.shape()[0] == 500);
  CHECK(std::memcmp(a.points.data(), b.points.data(), 1000 * sizeof(float)) == 0);
  CHECK(std::memcmp(a.labels.data(), b.labels.data(), 500 * sizeof(float)) == 0);
  CHECK(std::memcmp(a.points.data(), c.points.data(), 1000 * sizeof(float)) != 0);

  // The documented mapping: point i is draws 2i and 2i + 1 of Rng(seed), rounded to float;
  // a longer set starts with the shorter one.
  Rng rng(7);
  const CircleData longer = make_circle(600, 7);
  for (std::size_t i = 0; i < 500; ++i) {
    const float x = static_cast<float>(rng.uniform());
    const float y = static_cast<float>(rng.uniform());
    CHECK(a.points(i, 0) == x);
    CHECK(a.points(i, 1) == y);
    CHECK(longer.points(i, 0) == x);
    CHECK(longer.points(i, 1) == y);
  }
}

TEST_CASE("circle labels are 1 exactly inside the disk of radius 1/sqrt(2 pi)", "[circle]") {
  const CircleData d = make_circle(1000, 2024);
  const double radius = 1.0 / std::sqrt(2.0 * 3.14159265358979323846);
  std::size_t positives = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const double x = d.points(i, 0);
    const double y = d.points(i, 1);
    REQUIRE(x >= 0.0);
    REQUIRE(x <= 1.0);
    REQUIRE(y >= 0.0);
    REQUIRE(y <= 1.0);
    const double r = std::hypot(x - 0.5, y - 0.5);
    if (std::abs(r - radius) > 1e-9) CHECK(d.labels(i) == (r < radius ? 1.0f : 0.0f));
    CHECK(d.labels(i) == circle_label(d.points(i, 0), d.points(i, 1)));
    positives += d.labels(i) == 1.0f;
  }
  const double fraction = static_cast<double>(positives) / 1000.0;
  CHECK(fraction > 0.4);
  CHECK(fraction < 0.6);

  // The disk has half the square's area: with 10^5 points the share is 0.5 to within 6 sigma.
  const CircleData big = make_circle(100000, 1);
  double sum = 0;
  for (float l : big.labels) sum += l;
  CHECK(sum / 1e5 > 0.49);
  CHECK(sum / 1e5 < 0.51);

  CHECK(circle_label(0.5f, 0.5f) == 1.0f);
  CHECK(circle_label(0.5f, 0.89f) == 1.0f);  // 0.39 < 0.3989
  CHECK(circle_label(0.5f, 0.9f) == 0.0f);   // 0.40 > 0.3989
  CHECK(circle_label(0.0f, 0.0f) == 0.0f);
}

TEST_CASE("circle labels one-hot encode to [n, 2]", "[circle]") {
  const CircleData d = make_circle(50, 3);
  const Tensor<float> t = one_hot(d.labels, 2);
  REQUIRE(t.shape()[0] == 50);
  REQUIRE(t.shape()[1] == 2);
  for (std::size_t i = 0; i < 50; ++i) {
    CHECK(t(i, 0) == 1.0f - d.labels(i));
    CHECK(t(i, 1) == d.labels(i));
  }
  CHECK_THROWS_AS(make_circle(0, 1), UsageError);
}

TEST_CASE("circle networks: the Evaluator counts what the example means by right", "[circle]") {
  // The example's rule: the mlp is right when its larger output is the label's one-hot
  // position, the bn model when its logit is positive exactly for label 1. A few epochs of
  // training first, so that both networks tell the classes apart.
  const CircleData set = make_circle(300, 5);
  const Tensor<float> one_hot_rows = one_hot(set.labels, 2);
  for (const bool bn : {false, true}) {
    CAPTURE(bn);
    Model model = bn ? models::circle_bn().build(3) : models::circle_mlp().build(3);
    const std::string out = bn ? "logit" : "out";
    const float* targets = bn ? set.labels.data() : one_hot_rows.data();
    SGD<float> sgd(model, {bn ? 0.01 : 0.1, 0.9, 0.0});
    FitOptions options;
    options.epochs = 20;
    options.batch = 50;
    options.progress = Progress::Off;
    fit(model, sgd, {"x", "y", "loss", out}, {set.points.data(), targets, 300}, {}, options);

    PlanRequest request;
    request.outputs = {out};
    request.batch = 300;
    Executor<float> exec(model, make_plan(model.graph, request));
    exec.set_input("x", set.points.data(), set.points.size());
    exec.run();
    const TensorRef<const float> o = exec.value(out);
    std::size_t expected = 0, inside_count = 0;
    for (std::size_t i = 0; i < 300; ++i) {
      const bool inside = bn ? o[i] > 0.0f : o[2 * i + 1] > o[2 * i];
      inside_count += inside;
      expected += inside == (set.labels(i) == 1.0f);
    }
    REQUIRE(inside_count > 0);
    REQUIRE(inside_count < 300);
    Evaluator eval(model, {"x", "y", "", out}, 300, 64);  // batches of 64 and a last of 44
    const EvalResult r = eval.run({set.points.data(), targets, 300});
    CHECK(r.correct == expected);
  }
}
