// layer_norm: values and gradients against PyTorch, gradients against central
// differences (each input alone too), the float kernel on long rows, and the shape rule.
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"
#include "tests/kernel_harness.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_layer_norm.py):
// F.layer_norm(x, (4,), gamma, beta, eps=1e-5) and the three gradients after y.backward(dy).
// The last row sits near 1000, where a one-pass variance would cancel; the agreement there
// is what PyTorch's own rounding allows (about 1e-13).
TEST_CASE("layer_norm and its gradients match PyTorch's", "[op][layer_norm][reference]") {
  const Shape s = {2, 3, 4};
  const Array x = shaped(s, {-2.5, -0.75, 1, 2.75, -1.25, 0.5, 2.25, -1.75, 0, 1.75, -2.25, -0.5, 1.25, 3, -1, 0.75, 2.5, -1.5,
                            0.25, 2, 998, 999.75, 1001.5, 997.5});
  const Array gamma = {1.5, -0.5, 2.0, 0.75};
  const Array beta = {0.25, 0.0, -1.0, 0.5};
  Array dy = Array::from_shape({2, 3, 4});
  for (std::size_t i = 0; i < dy.size(); ++i) dy.flat(i) = 0.5 * static_cast<double>((3 * i) % 7) - 1.5;
  const Array y = shaped(s, {-1.7624585512342359, 0.22360650569269286, -0.10557397722922857, 1.5062292756171178,
                            -0.88098572115893348, -0.17857669281456842, 1.9365945040617918, -0.30359511766555802,
                            0.51311675812088575, -0.70164468832236249, -3.8065787532894499, 0.36844162093955696,
                            0.51311675812088597, -0.70164468832236249, -3.8065787532894499, 0.36844162093955701,
                            1.857190235331116, 0.73414862601544795, -1.7143067712582736, 1.0654928605794667,
                            -0.88098572115888152, -0.17857669281458571, 1.9365945040618611, -0.30359511766553204});
  const Array dx = shaped(s, {-0.53665734096931383, 0.17249587147969847, 1.2649745222590414, -0.90081305276942603,
                             0.86079194876084686, -0.07774218082002915, -0.063867282056540353, -0.71918248588427747,
                             0.16866462175281569, -0.40479474678338079, -0.47226111361957224, 0.70839123865013742,
                             -0.32990739047624751, -0.22735550770185853, -0.38658359458020852, 0.94384649275831456,
                             0.70343333370141148, -0.25847602889129373, 0.71793125044389428, -1.1628885552540122,
                             -0.120362777969234, 0.14473583164874526, -0.066370072905442612, 0.041997019225988197});
  const Array dgamma = {2.3132518933258446, 2.6478439152320039, 3.8543935107538401, -1.6002211699312396};
  const Array dbeta = {0.5, -1, 1, -0.5};
  std::vector<Array> in{x, gamma, beta};
  require_close(run_op_forward("layer_norm", in)[0], y, 1e-12, 1e-12);
  const std::vector<Array> d = run_op_backward("layer_norm", {x, gamma, beta}, {dy});
  require_close(d[0], dx, 1e-11, 1e-12);
  require_close(d[1], dgamma, 1e-12, 1e-12);
  require_close(d[2], dbeta, 0, 0);
}

TEST_CASE("layer_norm by hand: each row to mean 0 and variance 1 before the gain", "[op][layer_norm]") {
  // A row of 4: mean 2.5, biased variance 1.25; with gamma 1 and beta 0 the row's values
  // are (x - 2.5) / sqrt(1.25 + eps).
  std::vector<Array> in{Array{{1.0, 2.0, 3.0, 4.0}}, Array{1.0, 1.0, 1.0, 1.0}, Array{0.0, 0.0, 0.0, 0.0}};
  const double k = 1.0 / std::sqrt(1.25 + 1e-5);
  require_close(run_op_forward("layer_norm", in)[0], Array{{-1.5 * k, -0.5 * k, 0.5 * k, 1.5 * k}}, 1e-15);
  // A constant row: xhat is 0, y is beta (eps keeps the division finite).
  std::vector<Array> constant{Array{{7.0, 7.0, 7.0}}, Array{2.0, 2.0, 2.0}, Array{0.5, -1.0, 3.0}};
  require_close(run_op_forward("layer_norm", constant)[0], Array{{0.5, -1.0, 3.0}}, 0, 0);
}

TEST_CASE("layer_norm gradient", "[op][layer_norm][gradcheck]") {
  const std::vector<Shape> shapes = {{3, 5}, {2, 3, 4}, {6}, {4, 1}};
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    CAPTURE(i);
    const Dim D = shapes[i].back();
    const std::vector<Array> inputs = {random_array(shapes[i], 80 + i, -2.0, 2.0), random_array({D}, 90 + i, 0.5, 1.5),
                                       random_array({D}, 100 + i)};
    if (D == 1) {
      // One element per row: xhat is 0, so x and gamma get no gradient; beta's is checked.
      GradCheckOptions beta_only;
      beta_only.inputs_to_check = {2};
      check_op_gradients("layer_norm", inputs, beta_only);
    } else {
      check_op_gradients("layer_norm", inputs);
      check_each_input_alone("layer_norm", inputs);
    }
  }
}

// The float kernel takes its sums in double: long float rows match the double kernel (on
// the same float inputs) to float rounding, and so do the column sums of dgamma and dbeta
// over many rows.
TEST_CASE("layer_norm in float matches layer_norm in double to float rounding", "[op][layer_norm][precision]") {
  const std::size_t R = 300, D = 3000;
  const Shape xs = {static_cast<Dim>(R), static_cast<Dim>(D)}, ps = {static_cast<Dim>(D)};
  const auto as_float = [](const Array& a) {
    Array r = a;
    for (double& v : r) v = static_cast<double>(static_cast<float>(v));
    return r;
  };
  const Array x = as_float(random_array(xs, 110, 50.0, 52.0));
  const Array gamma = as_float(random_array(ps, 111, 0.5, 1.5));
  const Array beta = as_float(random_array(ps, 112));
  const Array dy = as_float(random_array(xs, 113, 0.0, 1.0));
  std::vector<Array> in{x, gamma, beta};
  const Array want = run_op_forward("layer_norm", in)[0];
  const std::vector<Array> want_d = run_op_backward("layer_norm", {x, gamma, beta}, {dy});
  std::vector<float> xf(x.begin(), x.end()), gf(gamma.begin(), gamma.end()), bf(beta.begin(), beta.end()),
      dyf(dy.begin(), dy.end());
  KernelCall<float> call("layer_norm", {xs, ps, ps});
  std::vector<std::vector<float>> out = call.fresh_outputs();
  call.forward({xf.data(), gf.data(), bf.data()}, pointers(out));
  for (std::size_t i = 0; i < R * D; i += 7) {
    INFO("y element " << i);
    REQUIRE(static_cast<double>(out[0][i]) == Approx(want.flat(i)).margin(1e-6).epsilon(1e-6));
  }
  std::vector<float> dx(R * D), dgamma(D), dbeta(D);
  call.backward({xf.data(), gf.data(), bf.data()}, pointers(out), {dyf.data()}, {dx.data(), dgamma.data(), dbeta.data()},
                {0, 0, 0});
  for (std::size_t d = 0; d < D; ++d) {
    INFO("column " << d);
    REQUIRE(static_cast<double>(dbeta[d]) == Approx(want_d[2].flat(d)).epsilon(1e-7));
    REQUIRE(static_cast<double>(dgamma[d]) == Approx(want_d[1].flat(d)).margin(1e-4).epsilon(1e-5));
  }
}

TEST_CASE("layer_norm shape rule", "[op][layer_norm][shape]") {
  const OpDef& def = find_op("layer_norm");
  const Attrs a = normalize_attrs(def, "ln", {});
  CHECK(a.get_float("eps") == 1e-5);
  CHECK(def.shape({{8, 16}, {16}, {16}}, a) == std::vector<Shape>{{8, 16}});
  CHECK(def.shape({{2, 5, 3}, {3}, {3}}, a) == std::vector<Shape>{{2, 5, 3}});
  CHECK(def.workspace({{2, 5, 3}, {3}, {3}}, a) == 20);
  CHECK_FALSE(def.inplace);
  CHECK(def.backward_reads_in == std::vector<bool>{true, true, false});
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{8, 16}, {15}, {16}}, a); }),
             Contains("gamma [15] and x's last dimension [16] differ"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{8, 16}, {16}, {1, 16}}, a); }),
             Contains("beta [1, 16] and x's last dimension [16] differ"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{8, 0}, {0}, {0}}, a); }),
             Contains("layer_norm needs a last dimension of 1 or more"));
  CHECK_THAT(error_message<ShapeError>([&] { def.shape({{8, 16}, {16}, {16}}, Attrs{{"eps", 0.0}}); }),
             Contains("must be finite and positive"));
}
