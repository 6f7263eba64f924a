// Optimizers: SGD (weight decay, momentum, Nesterov), Adam and AdamW step by step against
// arithmetic done by hand and against PyTorch's recorded steps; the state snapshot puts a
// fresh optimizer exactly where the old one was; the executor begins one step per run;
// bad options and bad snapshots are typed errors naming what is wrong.
#include <cmath>
#include <functional>
#include <limits>
#include <memory>

#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "engine/executor.hpp"
#include "engine/optimizer.hpp"
#include "planner/plan.hpp"
#include "tests/example_graphs.hpp"
#include "tests/same_bits.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

// Recorded by scripts/record_torch_optim.py with PyTorch 1.13.0a0 (Debian's python3-torch),
// float64:   /usr/bin/python3 scripts/record_torch_optim.py
const std::vector<double> kW0 = {0.5, -1.25, 2.0};
const std::vector<std::vector<double>> kGrads = {{0.3, -0.2, 0.1},
    {-0.4, 0.25, 0.05},
    {0.15, 0.35, -0.6},
    {0.0, -0.1, 0.45},
    {0.2, 0.2, -0.2}};
// The weights after each step.
// torch.optim.SGD(lr=0.1, weight_decay=0.01)
const std::vector<std::vector<double>> kSgdWeightDecay = {{0.4695, -1.22875, 1.988},
    {0.5090304999999999, -1.25252125, 1.981012},
    {0.4935214694999999, -1.28626872875, 2.039030988},
    {0.49302794803049993, -1.27498246002125, 1.991991957012},
    {0.47253492008246945, -1.2937074775612287, 2.009999965054988}};
// torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01)
const std::vector<std::vector<double>> kSgdMomentum = {{0.4695, -1.22875, 1.988},
    {0.48158049999999997, -1.23339625, 1.970212},
    {0.47697136949999996, -1.27134447875, 2.0122325880000003},
    {0.47234618068049994, -1.2942265401462498, 2.003038884612},
    {0.44771116456226945, -1.3335261688627287, 2.012761512678188}};
// torch.optim.SGD(lr=0.05, momentum=0.9, weight_decay=0.02, nesterov=True)
const std::vector<std::vector<double>> kSgdNesterov = {{0.47055, -1.228625, 1.9867},
    {0.495100955, -1.2409281125, 1.9725052699999999},
    {0.4844296176855, -1.27274891283625, 2.0170202829869996},
    {0.4811005886883476, -1.274836245505736, 1.9852767108806244},
    {0.4586263581283195, -1.2989381300633653, 1.9940007884889017}};
// torch.optim.Adam(lr=0.01)
const std::vector<std::vector<double>> kAdam = {{0.4900000003333333, -1.2400000005, 1.9900000009999999},
    {0.49193510436996907, -1.2416273230448174, 1.980678205791187},
    {0.4915310164583895, -1.247191109607991, 1.9856395853695532},
    {0.49120001223090964, -1.250450733102997, 1.9854601933144376},
    {0.4889844433149796, -1.2550798350259103, 1.986705850881683}};
// torch.optim.Adam(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
const std::vector<std::vector<double>> kAdamWeightDecay = {{0.4800000571426939, -1.2300000615382722, 1.9800000666664443},
    {0.48227921088731174, -1.223999604342069, 1.9602901848638865},
    {0.4785384948106635, -1.2281363365219855, 1.960633233783291},
    {0.4744737305278597, -1.2245213890445412, 1.9506110969324222},
    {0.46598538175562865, -1.2238761868226065, 1.942796150613145}};
// torch.optim.AdamW(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
const std::vector<std::vector<double>> kAdamW = {{0.47900006666644446, -1.2275000999995, 1.976000199998},
    {0.48306683344006535, -1.229459907077483, 1.9537498872433707},
    {0.48150162251699, -1.2396082576906997, 1.9613258705680467},
    {0.4800800414664389, -1.2437725881157091, 1.956456423874119},
    {0.4740037742299627, -1.2511905735528814, 1.9552087691678197}};
// torch.optim.AdamW(lr=0.01)  (default betas, eps, weight_decay=1e-2)
const std::vector<std::vector<double>> kAdamWDefaults = {{0.4899500003333333, -1.2398750005, 1.9898000009999999},
    {0.49183610936993577, -1.2413783355447674, 1.980279225791087},
    {0.4913828378474192, -1.2468179842743867, 1.9850425774468743},
    {0.49100269533615465, -1.2499529259709652, 1.984664681134014},
    {0.488738026150691, -1.2544570326012814, 1.9857118722331462}};

// A model with one parameter "w" (the optimizers read only model.parameters).
template <class T>
BasicModel<T> one_parameter(const std::vector<double>& w) {
  BasicModel<T> m;
  m.parameters["w"] = Tensor<T>({static_cast<Dim>(w.size())}, std::vector<T>(w.begin(), w.end()));
  return m;
}

template <class T>
std::vector<T> values(const Tensor<T>& a) {
  return std::vector<T>(a.begin(), a.end());
}

// One training step as the executor takes it: begin_step, then one update per parameter.
template <class T>
void step(Optimizer<T>& opt, BasicModel<T>& model, const std::map<std::string, std::vector<T>>& grads) {
  opt.begin_step();
  for (const auto& [name, g] : grads) {
    Tensor<T>& p = model.parameter(name);
    const Shape shape{static_cast<Dim>(p.size())};
    opt.update(opt.slot(name), TensorRef<T>{p.data(), shape}, TensorRef<const T>{g.data(), shape});
  }
}

// Steps a one-parameter model through the given gradients; the weights after each step.
template <class T>
std::vector<std::vector<double>> run(Optimizer<T>& opt, BasicModel<T>& model,
                                     const std::vector<std::vector<double>>& grads) {
  std::vector<std::vector<double>> rows;
  for (const auto& g : grads) {
    step<T>(opt, model, {{"w", std::vector<T>(g.begin(), g.end())}});
    const Tensor<T>& w = model.parameter("w");
    rows.emplace_back(w.begin(), w.end());
  }
  return rows;
}

// Largest |a - b| / |b| over every entry (both non-zero here).
double max_relative_error(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t s = 0; s < a.size(); ++s) {
    REQUIRE(a[s].size() == b[s].size());
    for (std::size_t i = 0; i < a[s].size(); ++i) worst = std::max(worst, std::abs(a[s][i] - b[s][i]) / std::abs(b[s][i]));
  }
  return worst;
}

std::string usage_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  FAIL("no UsageError");
  return {};
}

std::string data_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  FAIL("no DataError");
  return {};
}

constexpr double kEps = 1e-8;

}  // namespace

// ---- by hand ---------------------------------------------------------------------------

TEST_CASE("SGD with weight decay, by hand", "[optimizer][sgd]") {
  // lr 0.1, wd 0.5, w0 = [1, -2], g = [1, 0.5] every step; g' = g + 0.5 w, w -= 0.1 g'
  //   1: g' = [1.5, -0.5]          w = [0.85, -1.95]
  //   2: g' = [1.425, -0.475]      w = [0.7075, -1.9025]
  //   3: g' = [1.35375, -0.45125]  w = [0.572125, -1.857375]
  BasicModel<double> m = one_parameter<double>({1, -2});
  SGD<double> sgd(m, {0.1, 0.0, 0.5});
  const auto rows = run<double>(sgd, m, {{1, 0.5}, {1, 0.5}, {1, 0.5}});
  const std::vector<std::vector<double>> expected = {{0.85, -1.95}, {0.7075, -1.9025}, {0.572125, -1.857375}};
  CHECK(max_relative_error(rows, expected) < 1e-14);
  CHECK(sgd.velocity()[0].empty());  // no momentum, no buffer
}

TEST_CASE("SGD with momentum and with Nesterov momentum, by hand", "[optimizer][sgd]") {
  // lr 0.1, momentum 0.9, w0 = [1, -2]; g1 = [1, 0.5], g2 = [0.5, 0.5], g3 = [-1, 0]
  //   v1 = g1 = [1, 0.5]
  //   v2 = 0.9 v1 + g2 = [1.4, 0.95]
  //   v3 = 0.9 v2 + g3 = [0.26, 0.855]
  const std::vector<std::vector<double>> grads = {{1, 0.5}, {0.5, 0.5}, {-1, 0}};
  BasicModel<double> m = one_parameter<double>({1, -2});
  SECTION("heavy ball: w -= 0.1 v") {
    //   w1 = [0.9, -2.05], w2 = [0.76, -2.145], w3 = [0.734, -2.2305]
    SGD<double> sgd(m, {0.1, 0.9, 0.0});
    const auto rows = run<double>(sgd, m, grads);
    CHECK(max_relative_error(rows, {{0.9, -2.05}, {0.76, -2.145}, {0.734, -2.2305}}) < 1e-14);
    CHECK(max_relative_error({sgd.velocity()[0]}, {{0.26, 0.855}}) < 1e-14);
  }
  SECTION("Nesterov: w -= 0.1 (g + 0.9 v)") {
    //   1: g + 0.9 v1 = [1.9, 0.95]      w1 = [0.81, -2.095]
    //   2: g + 0.9 v2 = [1.76, 1.355]    w2 = [0.634, -2.2305]
    //   3: g + 0.9 v3 = [-0.766, 0.7695] w3 = [0.7106, -2.30745]
    SgdOptions o{0.1, 0.9, 0.0};
    o.nesterov = true;
    SGD<double> sgd(m, o);
    const auto rows = run<double>(sgd, m, grads);
    CHECK(max_relative_error(rows, {{0.81, -2.095}, {0.634, -2.2305}, {0.7106, -2.30745}}) < 1e-14);
    CHECK(max_relative_error({sgd.velocity()[0]}, {{0.26, 0.855}}) < 1e-14);
  }
}

// Adam with |g| the same every step for each element: then v / (1 - beta2^t) = g^2 exactly
// (v_t = (1 - beta2^t) g^2), so the step is lr * m_hat / (|g| + eps) and m_hat is all that
// changes. lr 0.1, beta1 0.5, beta2 0.75, w0 = [1, -2];
// g1 = [2, -0.5], g2 = [-2, 0.5], g3 = [2, -0.5]:
//   m1 = [1, -0.25]        1 - 0.5   = 0.5    m_hat1 = [2, -0.5]
//   m2 = [-0.5, 0.125]     1 - 0.25  = 0.75   m_hat2 = [-2/3, 1/6]
//   m3 = [0.75, -0.1875]   1 - 0.125 = 0.875  m_hat3 = [6/7, -3/14]
namespace {
const std::vector<std::vector<double>> kSignGrads = {{2, -0.5}, {-2, 0.5}, {2, -0.5}};
const std::vector<std::vector<double>> kMHat = {{2, -0.5}, {-2.0 / 3, 1.0 / 6}, {6.0 / 7, -3.0 / 14}};
const std::vector<double> kAbsG = {2, 0.5};
}  // namespace

TEST_CASE("Adam, by hand", "[optimizer][adam]") {
  // w -= 0.1 * m_hat / (|g| + eps):  w1 ~ [0.9, -1.9], w2 ~ w1 + [1/30, -1/30], w3 ~ w2 + [-3/70, 3/70]
  BasicModel<double> m = one_parameter<double>({1, -2});
  Adam<double> adam(m, {0.1, 0.5, 0.75, kEps, 0.0});
  const auto rows = run<double>(adam, m, kSignGrads);
  std::vector<double> w = {1, -2};
  std::vector<std::vector<double>> expected;
  for (std::size_t t = 0; t < 3; ++t) {
    for (std::size_t i = 0; i < 2; ++i) w[i] -= 0.1 * kMHat[t][i] / (kAbsG[i] + kEps);
    expected.push_back(w);
  }
  CHECK(expected[2][0] == Approx(0.9 + 1.0 / 30 - 3.0 / 70).epsilon(1e-7));  // the comment's rounded picture
  CHECK(max_relative_error(rows, expected) < 1e-12);
  // The moments themselves: m3 and v3 = (1 - 0.75^3) g^2 = 0.578125 g^2.
  CHECK(max_relative_error({adam.exp_avg()[0], adam.exp_avg_sq()[0]}, {{0.75, -0.1875}, {2.3125, 0.14453125}}) < 1e-14);
  CHECK(adam.step_count() == 3);
}

TEST_CASE("Adam with L2 weight decay adds it to the gradient, by hand", "[optimizer][adam]") {
  // wd 0.5, otherwise as above. A first step is lr * sign(g'):
  //   1: g' = g1 + 0.5 w0 = [2.5, -1.5]; m_hat = g', sqrt(v_hat) = |g'|: w1 = w0 - 0.1 g'/(|g'| + eps) ~ [0.9, -1.9]
  //   2: g' = g2 + 0.5 w1 ~ [-1.55, -0.45]; m2 = 0.5 m1 + 0.5 g', v2 = 0.75 v1 + 0.25 g'^2
  BasicModel<double> m = one_parameter<double>({1, -2});
  Adam<double> adam(m, {0.1, 0.5, 0.75, kEps, 0.5});
  const auto rows = run<double>(adam, m, {kSignGrads[0], kSignGrads[1]});
  const std::vector<double> g1 = {2.5, -1.5};
  std::vector<double> w1(2), w2(2);
  for (std::size_t i = 0; i < 2; ++i) w1[i] = std::vector<double>{1, -2}[i] - 0.1 * g1[i] / (std::abs(g1[i]) + kEps);
  for (std::size_t i = 0; i < 2; ++i) {
    const double g2 = kSignGrads[1][i] + 0.5 * w1[i];
    const double m2 = 0.5 * (0.5 * g1[i]) + 0.5 * g2, v2 = 0.75 * (0.25 * g1[i] * g1[i]) + 0.25 * g2 * g2;
    w2[i] = w1[i] - 0.1 * (m2 / 0.75) / (std::sqrt(v2 / 0.4375) + kEps);
  }
  CHECK(max_relative_error(rows, {w1, w2}) < 1e-12);
  CHECK(rows[0][0] == Approx(0.9).epsilon(1e-7));
}

TEST_CASE("AdamW decays the weights before the Adam step, by hand", "[optimizer][adamw]") {
  // wd 0.5, lr 0.1: each step w = (1 - 0.1 * 0.5) w - 0.1 m_hat / (|g| + eps) = 0.95 w - ...;
  // the gradient is not touched, so m_hat is the table above.
  //   w1 ~ 0.95 [1, -2] - [0.1, -0.1] = [0.85, -1.8]
  BasicModel<double> m = one_parameter<double>({1, -2});
  AdamW<double> adamw(m, {0.1, 0.5, 0.75, kEps, 0.5});
  const auto rows = run<double>(adamw, m, kSignGrads);
  std::vector<double> w = {1, -2};
  std::vector<std::vector<double>> expected;
  for (std::size_t t = 0; t < 3; ++t) {
    for (std::size_t i = 0; i < 2; ++i) w[i] = 0.95 * w[i] - 0.1 * kMHat[t][i] / (kAbsG[i] + kEps);
    expected.push_back(w);
  }
  CHECK(rows[0][0] == Approx(0.85).epsilon(1e-7));
  CHECK(rows[0][1] == Approx(-1.8).epsilon(1e-7));
  CHECK(max_relative_error(rows, expected) < 1e-12);
}

// ---- against PyTorch -------------------------------------------------------------------

TEST_CASE("every optimizer follows PyTorch's recorded steps to 1e-12", "[optimizer][pytorch]") {
  struct Case {
    const char* name;
    std::function<std::unique_ptr<Optimizer<double>>(const BasicModel<double>&)> make;
    const std::vector<std::vector<double>>* expected;
  };
  SgdOptions nesterov{0.05, 0.9, 0.02};
  nesterov.nesterov = true;
  const std::vector<Case> cases = {
      {"SGD weight decay", [](auto& m) { return std::make_unique<SGD<double>>(m, SgdOptions{0.1, 0.0, 0.01}); },
       &kSgdWeightDecay},
      {"SGD momentum", [](auto& m) { return std::make_unique<SGD<double>>(m, SgdOptions{0.1, 0.9, 0.01}); },
       &kSgdMomentum},
      {"SGD Nesterov", [&](auto& m) { return std::make_unique<SGD<double>>(m, nesterov); }, &kSgdNesterov},
      {"Adam", [](auto& m) { return std::make_unique<Adam<double>>(m, AdamOptions{0.01}); }, &kAdam},
      {"Adam weight decay",
       [](auto& m) { return std::make_unique<Adam<double>>(m, AdamOptions{0.02, 0.8, 0.99, 1e-6, 0.1}); },
       &kAdamWeightDecay},
      {"AdamW", [](auto& m) { return std::make_unique<AdamW<double>>(m, AdamWOptions{0.02, 0.8, 0.99, 1e-6, 0.1}); },
       &kAdamW},
      {"AdamW defaults", [](auto& m) { return std::make_unique<AdamW<double>>(m, AdamWOptions{0.01}); },
       &kAdamWDefaults},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      BasicModel<double> m = one_parameter<double>(kW0);
      auto opt = c.make(m);
      const auto rows = run<double>(*opt, m, kGrads);
      INFO("largest relative error " << max_relative_error(rows, *c.expected));
      CHECK(max_relative_error(rows, *c.expected) < 1e-12);
    }
  }
}

TEST_CASE("the float optimizers follow the double ones to float rounding", "[optimizer][pytorch]") {
  BasicModel<float> m = one_parameter<float>(kW0);
  SECTION("AdamW") {
    AdamW<float> opt(m, {0.02, 0.8, 0.99, 1e-6, 0.1});
    CHECK(max_relative_error(run<float>(opt, m, kGrads), kAdamW) < 1e-6);
  }
  SECTION("SGD Nesterov") {
    SgdOptions o{0.05, 0.9, 0.02};
    o.nesterov = true;
    SGD<float> opt(m, o);
    CHECK(max_relative_error(run<float>(opt, m, kGrads), kSgdNesterov) < 1e-6);
  }
}

// ---- executor --------------------------------------------------------------------------

TEST_CASE("the executor begins one Adam step per run and updates every parameter", "[optimizer][adamw]") {
  // A training executor with AdamW against the same AdamW applied by hand to the gradients
  // of a gradients plan: the same arithmetic on the same numbers, so the same bits.
  const std::int64_t N = 16;
  BasicModel<double> trained = circle_mlp(4).cast<double>();
  BasicModel<double> by_hand = trained;
  const BasicModel<double> initial = trained;
  auto plan = [&](PlanKind kind) {
    PlanRequest r;
    r.kind = kind;
    r.batch = N;
    r.elem_bytes = sizeof(double);
    return make_plan(trained.graph, r);
  };
  AdamW<double> opt_a(trained, {0.01, 0.9, 0.999, 1e-8, 0.1}), opt_b(by_hand, {0.01, 0.9, 0.999, 1e-8, 0.1});
  Executor<double> train(trained, plan(PlanKind::Training), &opt_a);
  Executor<double> grads(by_hand, plan(PlanKind::Gradients));
  for (int s = 0; s < 3; ++s) {
    const Batch<double> batch = random_batch<double>(static_cast<std::size_t>(N), 2, 2, 40 + static_cast<std::uint64_t>(s));
    for (Executor<double>* ex : {&train, &grads}) {
      ex->set_input("x", batch.x.data(), batch.x.size());
      ex->set_input("labels", batch.labels.data(), batch.labels.size());
      ex->run();
    }
    std::map<std::string, std::vector<double>> g;
    for (const auto& [name, p] : by_hand.parameters) {
      const TensorRef<const double> t = grads.grad(name);
      g[name] = std::vector<double>(t.begin(), t.end());
    }
    step<double>(opt_b, by_hand, g);
  }
  CHECK(opt_a.step_count() == 3);
  for (const auto& [name, p] : trained.parameters) {
    INFO(name);
    CHECK(same_bits(values(p), values(by_hand.parameter(name))));
    CHECK_FALSE(same_bits(values(p), values(initial.parameter(name))));
  }
  CHECK(opt_a.state() == opt_b.state());
}

// ---- state snapshots -------------------------------------------------------------------

namespace {

// Two parameters of different sizes, so slots and names matter.
template <class T>
BasicModel<T> two_parameters() {
  BasicModel<T> m = one_parameter<T>(kW0);
  m.parameters["b"] = Tensor<T>({2}, {T(0.25), T(-0.75)});
  return m;
}

template <class T>
std::map<std::string, std::vector<T>> grads_of_step(std::size_t s) {
  const std::vector<double>& g = kGrads[s];
  return {{"w", std::vector<T>(g.begin(), g.end())},
          {"b", {static_cast<T>(g[0] - g[2]), static_cast<T>(0.5 * g[1])}}};
}

// Five steps with `make`; a snapshot after step 2 goes into a fresh optimizer (built with
// other options: the snapshot brings its own) over a copy of the model as it was then.
// Steps 3-5 must then agree bit for bit, parameters and state.
template <class T>
void check_resume(const std::function<std::unique_ptr<Optimizer<T>>(const BasicModel<T>&)>& make,
                  const std::function<std::unique_ptr<Optimizer<T>>(const BasicModel<T>&)>& make_fresh) {
  BasicModel<T> a = two_parameters<T>();
  auto opt_a = make(a);
  opt_a->set_learning_rate(opt_a->learning_rate() * 0.5);  // as a schedule would; the snapshot carries it
  step<T>(*opt_a, a, grads_of_step<T>(0));
  step<T>(*opt_a, a, grads_of_step<T>(1));
  const OptimizerState snapshot = opt_a->state();
  CHECK(snapshot.step == 2);
  BasicModel<T> b = a;

  SECTION("set_state on a fresh optimizer") {
    auto opt_b = make_fresh(b);
    REQUIRE(opt_b->state() != snapshot);
    opt_b->set_state(snapshot);
    CHECK(opt_b->state() == snapshot);
    for (std::size_t s = 2; s < 5; ++s) {
      INFO("step " << s + 1);
      step<T>(*opt_a, a, grads_of_step<T>(s));
      step<T>(*opt_b, b, grads_of_step<T>(s));
      for (const char* name : {"w", "b"}) CHECK(same_bits(values(a.parameter(name)), values(b.parameter(name))));
      CHECK(opt_a->state() == opt_b->state());
    }
  }
  SECTION("make_optimizer from the snapshot") {
    auto opt_b = make_optimizer(b, snapshot);
    CHECK(std::string(opt_b->kind()) == opt_a->kind());
    for (std::size_t s = 2; s < 5; ++s) {
      step<T>(*opt_a, a, grads_of_step<T>(s));
      step<T>(*opt_b, b, grads_of_step<T>(s));
    }
    for (const char* name : {"w", "b"}) CHECK(same_bits(values(a.parameter(name)), values(b.parameter(name))));
  }
  SECTION("without the snapshot, a fresh optimizer goes elsewhere (the check above can fail)") {
    auto opt_b = make(b);  // same options, but step 0 and empty buffers
    for (std::size_t s = 2; s < 5; ++s) {
      step<T>(*opt_a, a, grads_of_step<T>(s));
      step<T>(*opt_b, b, grads_of_step<T>(s));
    }
    CHECK_FALSE(same_bits(values(a.parameter("w")), values(b.parameter("w"))));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("a state snapshot continues bit-identically in a fresh optimizer", "[optimizer][state]", float,
                   double) {
  using T = TestType;
  using Make = std::function<std::unique_ptr<Optimizer<T>>(const BasicModel<T>&)>;
  const Make plain_sgd = [](const BasicModel<T>& m) { return std::make_unique<SGD<T>>(m, SgdOptions{}); };
  SECTION("SGD momentum") {
    check_resume<T>([](const BasicModel<T>& m) { return std::make_unique<SGD<T>>(m, SgdOptions{0.1, 0.9, 0.01}); },
                    plain_sgd);
  }
  SECTION("SGD Nesterov") {
    SgdOptions o{0.05, 0.8, 0.02};
    o.nesterov = true;
    check_resume<T>([o](const BasicModel<T>& m) { return std::make_unique<SGD<T>>(m, o); }, plain_sgd);
  }
  SECTION("Adam with weight decay") {
    const AdamOptions o{0.02, 0.8, 0.99, 1e-6, 0.1};
    check_resume<T>([o](const BasicModel<T>& m) { return std::make_unique<Adam<T>>(m, o); },
                    [](const BasicModel<T>& m) { return std::make_unique<Adam<T>>(m, AdamOptions{}); });
  }
  SECTION("AdamW") {
    const AdamWOptions o{0.02, 0.8, 0.99, 1e-6, 0.1};
    check_resume<T>([o](const BasicModel<T>& m) { return std::make_unique<AdamW<T>>(m, o); },
                    [](const BasicModel<T>& m) { return std::make_unique<AdamW<T>>(m, AdamWOptions{}); });
  }
}

TEST_CASE("a snapshot holds the step, rate, options, started flags and exact buffers", "[optimizer][state]") {
  BasicModel<float> m = two_parameters<float>();
  SgdOptions o{0.1, 0.9, 0.0};
  o.nesterov = true;
  SGD<float> sgd(m, o);
  sgd.set_learning_rate(0.03);
  OptimizerState s = sgd.state();
  CHECK(std::string(s.kind()) == "sgd");
  CHECK(s.step == 0);
  // The options with the current learning rate.
  CHECK(s.options == OptimizerOptions{SgdOptions{0.03, 0.9, 0.0, true}});
  CHECK_FALSE(s.parameters.at("w").started);
  CHECK(s.parameters.at("w").buffers.at("momentum_buffer") == std::vector<double>(3, 0.0));

  // Only the parameters updated in a step are started (a parameter without a gradient
  // keeps an empty buffer, as in PyTorch).
  sgd.begin_step();
  const std::vector<float> g = {0.1f, 0.2f, 0.3f};
  Tensor<float>& w = m.parameter("w");
  sgd.update(sgd.slot("w"), TensorRef<float>{w.data(), {3}}, TensorRef<const float>{g.data(), {3}});
  s = sgd.state();
  CHECK(s.step == 1);
  CHECK(s.parameters.at("w").started);
  CHECK_FALSE(s.parameters.at("b").started);
  // The float buffer, exactly: the first velocity is the gradient.
  const std::vector<double>& v = s.parameters.at("w").buffers.at("momentum_buffer");
  CHECK(v == std::vector<double>{double(0.1f), double(0.2f), double(0.3f)});

  Adam<double> adam(two_parameters<double>(), AdamOptions{});
  const OptimizerState a = adam.state();
  CHECK(std::string(a.kind()) == "adam");
  CHECK(a.options == OptimizerOptions{AdamOptions{}});
  CHECK(a.parameters.at("b").buffers.size() == 2);
  CHECK(a.parameters.at("b").buffers.at("exp_avg_sq").size() == 2);
  const AdamW<double> adamw(two_parameters<double>(), AdamWOptions{0.02});
  CHECK(std::string(adamw.kind()) == "adamw");
  CHECK(adamw.state().options == OptimizerOptions{AdamWOptions{0.02}});
}

TEST_CASE("set_state refuses a snapshot that does not fit, naming it, and changes nothing", "[optimizer][state][errors]") {
  BasicModel<double> m = two_parameters<double>();
  Adam<double> adam(m, AdamOptions{0.01});
  step<double>(adam, m, grads_of_step<double>(0));
  const OptimizerState good = adam.state();
  OptimizerState bad = good;
  std::string expected;

  SECTION("another kind") {
    bad.options = AdamWOptions{0.01};
    expected = "kind 'adamw' does not match";
  }
  SECTION("a missing parameter") {
    bad.parameters.erase("b");
    expected = "no state for parameter 'b'";
  }
  SECTION("an extra parameter") {
    bad.parameters["c"] = good.parameters.at("b");
    expected = "parameter 'c' is not in the model";
  }
  SECTION("a buffer of the wrong size") {
    bad.parameters["w"].buffers["exp_avg"].push_back(0);
    expected = "buffer 'exp_avg' of parameter 'w' has 4 values, the parameter 3";
  }
  SECTION("a missing buffer") {
    bad.parameters["w"].buffers.erase("exp_avg_sq");
    expected = "parameter 'w' has no buffer 'exp_avg_sq'";
  }
  SECTION("an unexpected buffer") {
    bad.parameters["w"].buffers["momentum_buffer"] = {0, 0, 0};
    expected = "unexpected buffer 'momentum_buffer'";
  }
  SECTION("a started flag without a momentum buffer") {
    bad.parameters["b"].started = true;
    expected = "parameter 'b' is marked started, but these options keep no momentum buffer";
  }
  SECTION("an invalid option") {
    std::get<AdamOptions>(bad.options).beta1 = 1.5;
    expected = "beta1 must be in [0, 1)";
  }
  SECTION("a bad learning rate") {
    std::get<AdamOptions>(bad.options).lr = -1;
    expected = "lr must be positive";
  }
  SECTION("a negative step") {
    bad.step = -3;
    expected = "step must be non-negative";
  }
  const std::string message = data_message([&] { adam.set_state(bad); });
  CHECK_THAT(message, Contains(expected) && Contains("optimizer state (adam)"));
  CHECK(adam.state() == good);
}

TEST_CASE("SGD set_state checks the momentum buffer against the options it brings", "[optimizer][state][errors]") {
  BasicModel<double> m = one_parameter<double>(kW0);
  SGD<double> sgd(m, SgdOptions{0.1, 0.9});
  const OptimizerState good = sgd.state();
  OptimizerState bad = good;
  SECTION("momentum 0 with a buffer") {
    std::get<SgdOptions>(bad.options).momentum = 0;
    CHECK_THAT(data_message([&] { sgd.set_state(bad); }), Contains("unexpected buffer 'momentum_buffer'"));
  }
  SECTION("Nesterov without momentum") {
    std::get<SgdOptions>(bad.options).momentum = 0;
    std::get<SgdOptions>(bad.options).nesterov = true;
    bad.parameters["w"].buffers.clear();
    CHECK_THAT(data_message([&] { sgd.set_state(bad); }), Contains("nesterov needs momentum > 0"));
  }
  SECTION("make_optimizer checks the state it puts back") {
    bad.parameters["w"].buffers["momentum_buffer"].pop_back();
    CHECK_THAT(data_message([&] { make_optimizer(m, bad); }), Contains("has 2 values, the parameter 3"));
  }
  CHECK(sgd.state() == good);
}

// ---- options and misuse ----------------------------------------------------------------

TEST_CASE("defaults are PyTorch's", "[optimizer]") {
  const AdamOptions adam;
  CHECK(adam.lr == 1e-3);
  CHECK(adam.beta1 == 0.9);
  CHECK(adam.beta2 == 0.999);
  CHECK(adam.eps == 1e-8);
  CHECK(adam.weight_decay == 0);
  const AdamWOptions adamw;
  CHECK(adamw.lr == 1e-3);
  CHECK(adamw.beta1 == 0.9);
  CHECK(adamw.beta2 == 0.999);
  CHECK(adamw.eps == 1e-8);
  CHECK(adamw.weight_decay == 1e-2);
  CHECK_FALSE(SgdOptions{}.nesterov);
}

TEST_CASE("bad optimizer options are UsageErrors naming the option", "[optimizer][errors]") {
  const BasicModel<double> m = one_parameter<double>(kW0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  SgdOptions nesterov_alone;
  nesterov_alone.nesterov = true;
  CHECK_THAT(usage_message([&] { (void)SGD<double>(m, {0.0}); }), Contains("SGD: lr must be positive"));
  CHECK_THAT(usage_message([&] { (void)SGD<double>(m, {nan}); }), Contains("SGD: lr must be positive"));
  CHECK_THAT(usage_message([&] { (void)SGD<double>(m, {0.1, -0.5}); }), Contains("momentum must be non-negative"));
  CHECK_THAT(usage_message([&] { (void)SGD<double>(m, {0.1, 0.9, -1e-4}); }), Contains("weight_decay must be non-negative"));
  CHECK_THAT(usage_message([&] { (void)SGD<double>(m, nesterov_alone); }), Contains("nesterov needs momentum > 0"));

  CHECK_THAT(usage_message([&] { (void)Adam<double>(m, {-1e-3}); }), Contains("Adam: lr must be positive"));
  CHECK_THAT(usage_message([&] { (void)Adam<double>(m, {1e-3, 1.0}); }), Contains("beta1 must be in [0, 1)"));
  CHECK_THAT(usage_message([&] { (void)Adam<double>(m, {1e-3, 0.9, -0.1}); }), Contains("beta2 must be in [0, 1)"));
  CHECK_THAT(usage_message([&] { (void)Adam<double>(m, {1e-3, 0.9, nan}); }), Contains("beta2 must be in [0, 1)"));
  CHECK_THAT(usage_message([&] { (void)Adam<double>(m, {1e-3, 0.9, 0.999, 0.0}); }), Contains("eps must be positive"));
  CHECK_THAT(usage_message([&] { (void)Adam<double>(m, {1e-3, 0.9, 0.999, 1e-8, -0.1}); }),
             Contains("weight_decay must be non-negative"));
  CHECK_THAT(usage_message([&] { (void)AdamW<double>(m, {1e-3, 0.9, 0.999, 1e-8, -0.1}); }),
             Contains("AdamW: weight_decay must be non-negative"));
  CHECK_NOTHROW(Adam<double>(m, {1e-3, 0.0, 0.0, 1e-8, 0.0}));  // the lower ends are allowed
}

TEST_CASE("misuse of an optimizer is a typed error", "[optimizer][errors]") {
  BasicModel<double> m = one_parameter<double>(kW0);
  Adam<double> adam(m, AdamOptions{});
  const std::vector<double> g = {1, 2, 3};
  Tensor<double>& w = m.parameter("w");
  CHECK_THAT(usage_message([&] {
               adam.update(adam.slot("w"), TensorRef<double>{w.data(), {3}}, TensorRef<const double>{g.data(), {3}});
             }),
             Contains("adam: update before begin_step"));
  CHECK(values(w) == kW0);  // untouched
  CHECK_THROWS_AS(adam.slot("nope"), GraphError);
  CHECK_THROWS_WITH(SGD<double>(m, SgdOptions{}).slot("nope"), Contains("'nope'"));
}
