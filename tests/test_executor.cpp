// Executor: values and gradients of a network worked out by hand; a whole-graph gradient
// check in double on a DAG with fan-out and a residual add; planned and naive memory give
// bit-identical results, in training too; training writes the model that other executors
// see; errors are typed and named.
#include <cmath>
#include <cstring>
#include <map>

#include <catch2/catch.hpp>

#include "engine/builder.hpp"
#include "core/errors.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "planner/plan.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"
#include "tests/executor_helpers.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

template <class T>
void feed(Executor<T>& ex, const Batch<T>& batch) {
  ex.set_input("x", batch.x.data(), batch.x.size());
  ex.set_input("labels", batch.labels.data(), batch.labels.size());
}

double relative_error(const std::vector<double>& a, const std::vector<double>& n) {
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - n[i];
  return norm(d) / std::max(norm(a), norm(n));
}

}  // namespace

TEST_CASE("a tiny network's values and gradients match the hand computation", "[executor]") {
  // x[1,2] -> dense 2 "fc" (W [2,2], b [2]) -> relu "act" -> mse_loss against t[1,2]
  GraphBuilder b;
  Value x = b.input("x", {1, 2});
  Value t = b.input("t", {1, 2});
  Value act = b.relu(b.dense(x, 2, "fc"), "act");
  b.output(b.mse_loss(act, t, "loss"));
  BasicModel<double> model = b.build(0).cast<double>();
  model.parameter("fc.weight") = Tensor<double>({2, 2}, {0.5, -1.0, 0.25, 0.5});
  model.parameter("fc.bias") = Tensor<double>({2}, {0.1, -0.2});

  Executor<double> ex(model, plan_for<double>(model.graph, PlanKind::Gradients, 0, true, {"fc", "act"}, {"x"}));
  const double xs[] = {1.0, 2.0}, ts[] = {0.6, 0.5};
  ex.set_input("x", xs, 2);
  ex.set_input("t", ts, 2);
  ex.run();

  // z = x W + b:  z0 = 1*0.5 + 2*0.25 + 0.1 = 1.1;   z1 = 1*(-1) + 2*0.5 - 0.2 = -0.2
  // y = relu(z) = [1.1, 0]
  // L = ((1.1 - 0.6)^2 + (0 - 0.5)^2) / 2 = (0.25 + 0.25) / 2 = 0.25
  // dL/dy = 2 (y - t) / 2 = [0.5, -0.5]
  // dz = dy * [z > 0] = [0.5, 0]
  // dW[i][j] = x_i dz_j = [[1*0.5, 0], [2*0.5, 0]] = [[0.5, 0], [1.0, 0]]
  // db = dz = [0.5, 0]
  // dx_i = sum_j dz_j W[i][j] = [0.5*0.5, 0.5*0.25] = [0.25, 0.125]
  const auto close = [](const std::vector<double>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-15).epsilon(1e-14));
  };
  close(copy_of(ex.value("fc")), {1.1, -0.2});
  close(copy_of(ex.value("act")), {1.1, 0.0});
  CHECK(ex.loss() == Approx(0.25).epsilon(1e-14));
  close(copy_of(ex.grad("fc.weight")), {0.5, 0.0, 1.0, 0.0});
  close(copy_of(ex.grad("fc.bias")), {0.5, 0.0});
  close(copy_of(ex.grad("x")), {0.25, 0.125});
  CHECK_THROWS_AS(ex.grad("t"), GraphError);  // a target needs no gradient

  // A second run on the same inputs gives the same numbers: gradients are overwritten, not
  // accumulated across runs.
  ex.run();
  close(copy_of(ex.grad("fc.weight")), {0.5, 0.0, 1.0, 0.0});
  close(copy_of(ex.grad("x")), {0.25, 0.125});
}

TEST_CASE("whole-graph gradient check in double: fan-out and a residual add", "[executor][gradcheck]") {
  const std::int64_t N = 8;
  BasicModel<double> model = residual_dag(5).cast<double>();
  // fc1 (the pre-activation of relu 'h') is kept so that its distance to the kink can be checked.
  Executor<double> ex(model, plan_for<double>(model.graph, PlanKind::Gradients, N, true, {"fc1"}, {"x"}));
  Batch<double> data = random_batch<double>(static_cast<std::size_t>(N), 4, 3, 11);
  feed(ex, data);
  ex.run();

  // relu's kink: a central difference of 1e-6 moves fc1 by at most ~1e-6, so every
  // pre-activation must stay well away from 0 for the difference to be smooth.
  double nearest = 1e9;
  std::size_t active = 0;
  for (double z : copy_of(ex.value("fc1"))) {
    nearest = std::min(nearest, std::abs(z));
    active += z > 0;
  }
  INFO("smallest |fc1| " << nearest);
  REQUIRE(nearest > 1e-3);
  REQUIRE(active > 0);  // relu passes something: the branch through h is live

  std::map<std::string, std::vector<double>> analytic;
  for (const auto& [name, p] : model.parameters) analytic[name] = copy_of(ex.grad(name));
  analytic["x"] = copy_of(ex.grad("x"));
  REQUIRE(analytic.size() == 9);  // 4 dense layers x (weight, bias) + x

  const double eps = 1e-6;
  auto loss_at = [&](double* p, double value) {
    *p = value;
    ex.run();
    return ex.loss();
  };
  for (auto& [name, grad] : analytic) {
    INFO("gradient of " << name);
    double* data_ptr = name == "x" ? ex.input("x").data : model.parameter(name).data();
    std::vector<double> numeric(grad.size());
    for (std::size_t i = 0; i < grad.size(); ++i) {
      const double orig = data_ptr[i];
      const double up = loss_at(data_ptr + i, orig + eps), down = loss_at(data_ptr + i, orig - eps);
      data_ptr[i] = orig;
      numeric[i] = (up - down) / (2 * eps);
    }
    // A check of two zero gradients proves nothing.
    std::size_t nonzero = 0;
    for (double g : grad) nonzero += g != 0.0;
    REQUIRE(norm(grad) > 1e-6);
    REQUIRE(nonzero > grad.size() / 4);
    const double err = relative_error(grad, numeric);
    INFO("||a|| = " << norm(grad) << ", ||n|| = " << norm(numeric) << ", relative error " << err);
    CHECK(err < 1e-6);
  }
  // The restored model gives the first loss back.
  feed(ex, data);
  ex.run();
  CHECK(copy_of(ex.grad("x")) == analytic["x"]);
}

TEST_CASE("planned and naive memory give bit-identical results", "[executor][reuse]") {
  struct Case {
    const char* name;
    Model (*make)(std::uint64_t);
    std::size_t features, classes;
  };
  const std::int64_t N = 100;
  for (const Case& c : {Case{"circle MLP", circle_mlp, 2, 2}, Case{"residual DAG", residual_dag, 4, 3}}) {
    INFO(c.name);
    Model model = c.make(17);
    const Batch<float> data = random_batch<float>(static_cast<std::size_t>(N), c.features, c.classes, 23);

    SECTION(std::string(c.name) + ": gradients and inference") {
      const Plan planned = plan_for<float>(model.graph, PlanKind::Gradients, N, true, {"logits"}, {"x"});
      const Plan naive = plan_for<float>(model.graph, PlanKind::Gradients, N, false, {"logits"}, {"x"});
      // The comparison means something only if the planned run really shares memory.
      CHECK(planned.stats.inplace > 0);
      CHECK(planned.arena_bytes < naive.arena_bytes);
      CHECK(naive.stats.inplace == 0);
      Executor<float> a(model, planned), b(model, naive);
      feed(a, data);
      feed(b, data);
      a.run();
      b.run();
      const float la = a.loss(), lb = b.loss();
      CHECK(std::memcmp(&la, &lb, sizeof la) == 0);
      CHECK(same_bits(copy_of(a.value("logits")), copy_of(b.value("logits"))));
      for (const auto& [name, p] : model.parameters) {
        INFO(name);
        CHECK(same_bits(copy_of(a.grad(name)), copy_of(b.grad(name))));
      }
      CHECK(same_bits(copy_of(a.grad("x")), copy_of(b.grad("x"))));

      Executor<float> ia(model, plan_for<float>(model.graph, PlanKind::Inference, N, true));
      Executor<float> ib(model, plan_for<float>(model.graph, PlanKind::Inference, N, false));
      ia.set_input("x", data.x.data(), data.x.size());
      ib.set_input("x", data.x.data(), data.x.size());
      ia.run();
      ib.run();
      CHECK(same_bits(copy_of(ia.value("logits")), copy_of(ib.value("logits"))));
      CHECK(same_bits(copy_of(ia.value("logits")), copy_of(a.value("logits"))));
    }
    SECTION(std::string(c.name) + ": 20 training steps with momentum") {
      Model other = c.make(17);
      const Model initial = model;
      SGD<float> sgd_a(model, {0.1, 0.9, 1e-4}), sgd_b(other, {0.1, 0.9, 1e-4});
      Executor<float> a(model, plan_for<float>(model.graph, PlanKind::Training, N, true), &sgd_a);
      Executor<float> b(other, plan_for<float>(other.graph, PlanKind::Training, N, false), &sgd_b);
      for (int step = 0; step < 20; ++step) {
        INFO("step " << step);
        const Batch<float> batch =
            random_batch<float>(static_cast<std::size_t>(N), c.features, c.classes, 100 + static_cast<std::uint64_t>(step));
        feed(a, batch);
        feed(b, batch);
        a.run();
        b.run();
        const float la = a.loss(), lb = b.loss();
        REQUIRE(std::isfinite(la));
        REQUIRE(std::memcmp(&la, &lb, sizeof la) == 0);
      }
      for (const auto& [name, p] : model.parameters) {
        INFO(name);
        CHECK(same_bits(p, other.parameter(name)));
        CHECK_FALSE(same_bits(p, initial.parameter(name)));  // training did move every parameter
      }
      for (std::size_t k = 0; k < sgd_a.velocity().size(); ++k)
        CHECK(same_bits(sgd_a.velocity()[k], sgd_b.velocity()[k]));
    }
  }
}

TEST_CASE("a training plan updates the model that an inference executor sees", "[executor]") {
  const std::int64_t N = 100;
  Model model = circle_mlp(3);
  const Model before = model;
  const Batch<float> data = random_batch<float>(static_cast<std::size_t>(N), 2, 2, 5);
  const float* fc1_storage = model.parameter("fc1.weight").data();

  Executor<float> infer(model, plan_for<float>(model.graph, PlanKind::Inference, N));
  infer.set_input("x", data.x.data(), data.x.size());
  infer.run();
  const std::vector<float> logits_before = copy_of(infer.value("logits"));

  // The gradient at the initial weights, from a gradients plan on a copy of the model.
  Model probe = before;
  Executor<float> grads(probe, plan_for<float>(probe.graph, PlanKind::Gradients, N));
  feed(grads, data);
  grads.run();

  const float lr = 0.1f;
  SGD<float> sgd(model, {lr, 0.0, 0.0});
  Executor<float> train(model, plan_for<float>(model.graph, PlanKind::Training, N), &sgd);
  feed(train, data);
  train.run();
  CHECK(train.loss() == grads.loss());

  // The model's own arrays moved, in place, by -lr * gradient.
  CHECK(model.parameter("fc1.weight").data() == fc1_storage);
  for (const auto& [name, p] : model.parameters) {
    INFO(name);
    const std::vector<float> g = copy_of(grads.grad(name));
    const Tensor<float>& w0 = before.parameter(name);
    REQUIRE(p.size() == g.size());
    double moved = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
      CHECK(p.data()[i] == Approx(w0.data()[i] - lr * g[i]).epsilon(1e-6).margin(1e-7));
      moved += std::abs(p.data()[i] - w0.data()[i]);
    }
    CHECK(moved > 0);
  }

  // The inference executor built before training sees the new weights.
  infer.run();
  const std::vector<float> logits_after = copy_of(infer.value("logits"));
  CHECK_FALSE(same_bits(logits_after, logits_before));
  Executor<float> fresh(model, plan_for<float>(model.graph, PlanKind::Inference, N));
  fresh.set_input("x", data.x.data(), data.x.size());
  fresh.run();
  CHECK(same_bits(copy_of(fresh.value("logits")), logits_after));
}

TEST_CASE("executor errors are typed and named", "[executor][errors]") {
  Model model = circle_mlp(1);
  Executor<float> infer(model, plan_for<float>(model.graph, PlanKind::Inference, 10));
  const std::vector<float> x(20, 0.5f);

  SECTION("set_input with the wrong size is a DataError naming the input") {
    REQUIRE_THROWS_AS(infer.set_input("x", x.data(), 19), DataError);
    REQUIRE_THROWS_WITH(infer.set_input("x", x.data(), 19), Contains("input 'x'") && Contains("20") && Contains("19"));
    REQUIRE_THROWS_AS(infer.set_input("x", x.data(), 21), DataError);
    CHECK_NOTHROW(infer.set_input("x", x.data(), 20));
  }
  SECTION("set_input of a non-input is a GraphError") {
    REQUIRE_THROWS_AS(infer.set_input("nope", x.data(), 20), GraphError);
    REQUIRE_THROWS_WITH(infer.set_input("nope", x.data(), 20), Contains("'nope'"));
    REQUIRE_THROWS_WITH(infer.set_input("relu1", x.data(), 20), Contains("'relu1'"));
    // labels are pruned from an inference plan that asks for the logits alone
    Executor<float> logits_only(model, plan_for<float>(model.graph, PlanKind::Inference, 10, true, {"logits"}));
    REQUIRE_THROWS_AS(logits_only.set_input("labels", x.data(), 10), GraphError);
  }
  SECTION("value() of a value the plan does not keep is a GraphError") {
    infer.set_input("x", x.data(), 20);
    infer.run();
    CHECK_NOTHROW(infer.value("logits"));
    REQUIRE_THROWS_AS(infer.value("relu2"), GraphError);
    REQUIRE_THROWS_WITH(infer.value("relu2"), Contains("'relu2'") && Contains("not kept"));
    REQUIRE_THROWS_AS(infer.value("no_such_value"), GraphError);
    REQUIRE_THROWS_WITH(infer.value("no_such_value"), Contains("'no_such_value'"));
    REQUIRE_THROWS_AS(infer.grad("fc1.weight"), GraphError);
  }
  SECTION("a training plan run without an optimizer is a UsageError") {
    Executor<float> train(model, plan_for<float>(model.graph, PlanKind::Training, 10));
    const std::vector<float> labels(10, 1.0f);
    train.set_input("x", x.data(), 20);
    train.set_input("labels", labels.data(), 10);
    REQUIRE_THROWS_AS(train.run(), UsageError);
    REQUIRE_THROWS_WITH(train.run(), Contains("optimizer"));
    SGD<float> sgd(model, {0.01, 0.0, 0.0});
    train.set_optimizer(&sgd);
    CHECK_NOTHROW(train.run());
    CHECK(std::isfinite(train.loss()));
  }
  SECTION("a plan for another scalar type is a UsageError") {
    BasicModel<double> md = model.cast<double>();
    REQUIRE_THROWS_AS(Executor<double>(md, plan_for<float>(model.graph, PlanKind::Inference, 10)), UsageError);
  }
  SECTION("model data that does not fit the plan names the parameter") {
    Model broken = model;
    broken.parameters.erase("fc2.bias");
    REQUIRE_THROWS_AS(Executor<float>(broken, plan_for<float>(model.graph, PlanKind::Inference, 10)), GraphError);
    REQUIRE_THROWS_WITH(Executor<float>(broken, plan_for<float>(model.graph, PlanKind::Inference, 10)),
                        Contains("'fc2.bias'"));
    Model reshaped = model;
    reshaped.parameter("fc2.bias") = Tensor<float>({26});
    REQUIRE_THROWS_AS(Executor<float>(reshaped, plan_for<float>(model.graph, PlanKind::Inference, 10)), ShapeError);
    REQUIRE_THROWS_WITH(Executor<float>(reshaped, plan_for<float>(model.graph, PlanKind::Inference, 10)),
                        Contains("'fc2.bias'") && Contains("[26]") && Contains("[25]"));
  }
}

TEST_CASE("the executor puts each tensor where its plan places it", "[executor]") {
  Model model = circle_mlp(3);
  // A gradients plan: every parameter gradient and the input's are readable afterwards.
  const Plan plan = plan_for<float>(model.graph, PlanKind::Gradients, 5, true, {"logits", "relu2"}, {"x"});
  Executor<float> ex(model, plan);
  const auto* x = reinterpret_cast<const unsigned char*>(ex.input("x").data);
  auto at = [&](const TensorRef<const float>& t) {
    return static_cast<std::ptrdiff_t>(reinterpret_cast<const unsigned char*>(t.data) - x);
  };
  auto planned = [&](int t) {
    const std::optional<std::size_t>& offset = plan.offset[static_cast<std::size_t>(t)];
    REQUIRE(offset);
    return static_cast<std::ptrdiff_t>(*offset) -
           static_cast<std::ptrdiff_t>(*plan.offset[static_cast<std::size_t>(plan.tensor_of_value("x"))]);
  };
  for (const char* name : {"logits", "relu2", "loss"}) {
    INFO(name);
    CHECK(at(ex.value(name)) == planned(plan.tensor_of_value(name)));
  }
  for (const char* name : {"x", "fc1.weight", "logits.bias"}) {
    INFO("grad " << name);
    CHECK(at(ex.grad(name)) == planned(plan.tensor_of_grad(name)));
  }
  // Parameters are the model's own storage, not arena memory.
  CHECK_FALSE(plan.offset[static_cast<std::size_t>(plan.tensor_of_value("fc1.weight"))]);
  CHECK(ex.value("fc1.weight").data == model.parameters.at("fc1.weight").data());
}
