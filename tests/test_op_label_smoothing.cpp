// softmax_cross_entropy with label_smoothing: loss and gradient against PyTorch's
// F.cross_entropy(label_smoothing=eps), the gradient against central differences, the
// plain loss's bits at 0, the uniform target at 1, and the attribute's bounds.
#include <catch2/catch.hpp>
#include <limits>

#include "tests/error_message.hpp"
#include "tests/gradcheck.hpp"

using namespace plangrad;
using namespace plangrad::testing;
using Catch::Matchers::Contains;

namespace {

Attrs smoothing(double eps) { return Attrs{{"label_smoothing", eps}}; }

const Array kLogits = {{1.5, -0.5, 0.25, 2.0}, {-1.0, 0.75, 3.0, 0.5}, {0.0, 0.0, -2.5, 1.25}};
const Array kLabels = {3.0, 0.0, 2.0};

double loss_of(const Attrs& attrs) {
  std::vector<Array> in{kLogits, kLabels};
  return run_op_forward("softmax_cross_entropy", in, attrs)[0](0);
}

Array grad_of(const Attrs& attrs) {
  return run_op_backward("softmax_cross_entropy", {kLogits, kLabels}, {Array(1.0)}, attrs)[0];
}

}  // namespace

// Recorded with PyTorch 1.13 in float64 (scripts/record_torch_label_smoothing.py).
TEST_CASE("label smoothing matches PyTorch's cross_entropy", "[op][softmax_cross_entropy][reference]") {
  CHECK(loss_of(smoothing(0.1)) == Approx(2.9151947952387167).epsilon(1e-14));
  require_close(grad_of(smoothing(0.1)),
                Array{{0.10022444983775369, 0.0063583649996645161, 0.022768992281691516, -0.12935180711910974},
                      {-0.30327012744408421, 0.020803404826107735, 0.26810834145659074, 0.014358381161385858},
                      {0.051484996479131011, 0.051484996479131011, -0.30342314581299329, 0.20045315285473131}},
                1e-13, 1e-16);
  CHECK(loss_of(smoothing(0.35)) == Approx(2.6808197952387172).epsilon(1e-14));
  require_close(grad_of(smoothing(0.35)),
                Array{{0.079391116504420364, -0.014474968333668814, 0.0019356589483581859, -0.066851807119109749},
                      {-0.24077012744408421, -2.9928507225598232e-05, 0.24727500812325734, -0.0064749521719474771},
                      {0.030651663145797682, 0.030651663145797682, -0.24092314581299329, 0.17961981952139797}},
                1e-13, 1e-16);
}

TEST_CASE("label smoothing 0 is the plain loss, bit for bit; 1 is the uniform target", "[op][softmax_cross_entropy]") {
  CHECK(loss_of(smoothing(0.0)) == loss_of({}));
  require_close(grad_of(smoothing(0.0)), grad_of({}), 0, 0);
  // eps = 1: every row's target is uniform, so the label plays no part.
  std::vector<Array> other{kLogits, Array{0.0, 1.0, 3.0}};
  CHECK(loss_of(smoothing(1.0)) == Approx(run_op_forward("softmax_cross_entropy", other, smoothing(1.0))[0](0)).epsilon(1e-15));
}

TEST_CASE("label smoothing gradient", "[op][softmax_cross_entropy][gradcheck]") {
  GradCheckOptions o;
  o.attrs = smoothing(0.2);
  o.inputs_to_check = {0};
  check_op_gradients("softmax_cross_entropy", {random_array({5, 6}, 51, -3, 3), Array{0.0, 5.0, 2.0, 2.0, 1.0}}, o);
}

TEST_CASE("label smoothing must be in [0, 1]", "[op][softmax_cross_entropy][shape]") {
  const OpDef& op = find_op("softmax_cross_entropy");
  CHECK(normalize_attrs(op, "l", {}).get_float("label_smoothing") == 0.0);
  CHECK_THAT(error_message<ShapeError>([&] { op.shape({{2, 3}, {2}}, smoothing(1.5)); }),
             Contains("label_smoothing 1.5 must be in [0, 1]"));
  CHECK_THAT(error_message<ShapeError>([&] { op.shape({{2, 3}, {2}}, smoothing(std::numeric_limits<double>::quiet_NaN())); }),
             Contains("must be in [0, 1]"));
}
