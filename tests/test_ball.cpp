// The ball task: its data (deterministic from the seed, labelled by the distance rule,
// about balanced) and its network (models::ball_cnn): the shapes of every layer, and the
// gradient of the whole network against central differences in double.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/random.hpp"
#include "engine/executor.hpp"
#include "networks/ball.hpp"
#include "networks/models.hpp"
#include "planner/plan.hpp"
#include "tests/executor_helpers.hpp"

using namespace plangrad;
using namespace plangrad::testing;

TEST_CASE("make_ball is a function of the seed, drawn point by point", "[ball]") {
  const BallData a = make_ball(200, 7), b = make_ball(200, 7), c = make_ball(200, 8);
  REQUIRE(a.points.shape() == Shape{200, 48});
  REQUIRE(a.labels.shape() == Shape{200});
  CHECK(std::memcmp(a.points.data(), b.points.data(), a.points.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(a.labels.data(), b.labels.data(), a.labels.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(a.points.data(), c.points.data(), a.points.size() * sizeof(float)) != 0);
  // The documented mapping: value j of point i is draw 48i + j of Rng(seed), as a float.
  Rng rng(7);
  std::size_t differ = 0;
  for (std::size_t k = 0; k < a.points.size(); ++k) differ += a.points[k] != static_cast<float>(rng.uniform());
  CHECK(differ == 0);
  CHECK_THROWS_AS(make_ball(0, 1), UsageError);
}

TEST_CASE("ball labels are 1 exactly when the distance from the centre is below 2", "[ball]") {
  const BallData d = make_ball(5000, 2024);
  std::size_t positives = 0, outside_cube = 0, wrong = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    double sum = 0;
    for (std::size_t j = 0; j < 48; ++j) {
      const double v = d.points(i, j);
      outside_cube += v < 0.0 || v > 1.0;
      sum += (v - 0.5) * (v - 0.5);
    }
    const double distance = std::sqrt(sum);
    if (std::abs(distance - 2.0) > 1e-9) wrong += d.labels(i) != (distance < 2.0 ? 1.0f : 0.0f);
    wrong += d.labels(i) != ball_label(d.points.data() + 48 * i);
    positives += d.labels(i) == 1.0f;
  }
  CHECK(outside_cube == 0);
  CHECK(wrong == 0);
  // The squared distance has mean 48/12 = 4 and a slight right skew: about half the points
  // fall inside (0.506 of 400,000 draws); 5000 points hold the share to +-0.007 (1 sigma).
  const double fraction = static_cast<double>(positives) / static_cast<double>(d.size());
  INFO("inside: " << fraction);
  CHECK(fraction > 0.48);
  CHECK(fraction < 0.53);

  std::vector<float> centre(48, 0.5f), corner(48, 0.0f);
  CHECK(ball_label(centre.data()) == 1.0f);
  CHECK(ball_label(corner.data()) == 0.0f);  // distance sqrt(48) / 2 = 3.46
  // Every coordinate 0.5 + 2 / sqrt(48) +- a little: the sphere itself, from both sides.
  std::vector<float> in(48, static_cast<float>(0.5 + 2.0 / std::sqrt(48.0) - 1e-4));
  std::vector<float> out(48, static_cast<float>(0.5 + 2.0 / std::sqrt(48.0) + 1e-4));
  CHECK(ball_label(in.data()) == 1.0f);
  CHECK(ball_label(out.data()) == 0.0f);
}

TEST_CASE("the ball network: conv 3->5->1 on 4x4 images, dense 16->10->1", "[ball]") {
  Model model = models::ball_cnn().build(1);
  CHECK(model.parameter("conv1.weight").shape() == Shape{5, 3, 3, 3});
  CHECK(model.parameter("conv1.bias").shape() == Shape{5});
  CHECK(model.parameter("conv2.weight").shape() == Shape{1, 5, 3, 3});
  CHECK(model.parameter("fc1.weight").shape() == Shape{16, 10});
  CHECK(model.parameter("logit.weight").shape() == Shape{10, 1});
  CHECK(model.parameters.size() == 8);

  PlanRequest request;
  request.kind = PlanKind::Inference;
  request.batch = 7;
  request.outputs = {"conv1", "conv2", "flatten", "fc1", "logit"};
  Executor<float> ex(model, make_plan(model.graph, request));
  const BallData d = make_ball(7, 3);
  ex.set_input("x", d.points.data(), d.points.size());
  ex.run();
  CHECK(ex.value("conv1").shape == Shape{7, 5, 4, 4});
  CHECK(ex.value("conv2").shape == Shape{7, 1, 4, 4});
  CHECK(ex.value("flatten").shape == Shape{7, 16});
  CHECK(ex.value("fc1").shape == Shape{7, 10});
  CHECK(ex.value("logit").shape == Shape{7, 1});
  // Padding 1 keeps every border pixel: a 4x4 image stays 4x4 through both convolutions,
  // and flatten reads conv2's 16 values per image in order.
  const std::vector<float> conv2 = copy_of(ex.value("conv2")), flat = copy_of(ex.value("flatten"));
  for (std::size_t k = 0; k < flat.size(); ++k) CHECK(flat[k] == std::max(conv2[k], 0.0f));
}

TEST_CASE("the ball network's gradients match central differences in double", "[ball][gradcheck]") {
  const std::int64_t N = 6;
  BasicModel<double> model = models::ball_cnn().build(4).cast<double>();
  PlanRequest request;
  request.kind = PlanKind::Gradients;
  request.batch = N;
  request.elem_bytes = sizeof(double);
  // The pre-activations are kept so that their distance to relu's kink can be checked.
  request.outputs = {"conv1", "conv2", "fc1"};
  request.input_gradients = {"x"};
  Executor<double> ex(model, make_plan(model.graph, request));
  const BallData d = make_ball(static_cast<std::size_t>(N), 5);
  const std::vector<double> x(d.points.begin(), d.points.end()), y(d.labels.begin(), d.labels.end());
  ex.set_input("x", x.data(), x.size());
  ex.set_input("y", y.data(), y.size());
  ex.run();

  // A central difference of 1e-6 moves each pre-activation by far less than 1e-4: where all
  // stay that far from 0, the loss is smooth along every difference taken.
  double nearest = 1e9;
  for (const char* v : {"conv1", "conv2", "fc1"})
    for (double z : copy_of(ex.value(v))) nearest = std::min(nearest, std::abs(z));
  INFO("smallest |pre-activation| " << nearest);
  REQUIRE(nearest > 1e-4);

  std::map<std::string, std::vector<double>> analytic;
  for (const auto& [name, p] : model.parameters) analytic[name] = copy_of(ex.grad(name));
  analytic["x"] = copy_of(ex.grad("x"));
  REQUIRE(analytic.size() == 9);

  const double eps = 1e-6;
  for (auto& [name, grad] : analytic) {
    INFO("gradient of " << name);
    double* p = name == "x" ? ex.input("x").data : model.parameter(name).data();
    std::vector<double> numeric(grad.size());
    for (std::size_t i = 0; i < grad.size(); ++i) {
      const double orig = p[i];
      p[i] = orig + eps;
      ex.run();
      const double up = ex.loss();
      p[i] = orig - eps;
      ex.run();
      const double down = ex.loss();
      p[i] = orig;
      numeric[i] = (up - down) / (2 * eps);
    }
    REQUIRE(norm(grad) > 1e-6);  // a check of two zero gradients proves nothing
    std::vector<double> diff(grad.size());
    for (std::size_t i = 0; i < grad.size(); ++i) diff[i] = grad[i] - numeric[i];
    const double err = norm(diff) / std::max(norm(grad), norm(numeric));
    INFO("||a|| = " << norm(grad) << ", ||n|| = " << norm(numeric) << ", relative error " << err);
    CHECK(err < 1e-6);
  }
}
