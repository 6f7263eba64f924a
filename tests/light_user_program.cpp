// A user's program on the public headers that must stay light: none of them may include
// xtensor, xsimd or nlohmann/json (they cost a user's every compile; DEVELOPERS.md,
// "Light public headers"). The test light_public_headers compiles it with -H and fails on
// any such include (tests/check_light_headers.sh); core/xtensor_interop.hpp is the header
// to include for xtensor.
#include "core/model.hpp"
#include "datasets/circle.hpp"
#include "datasets/idx.hpp"
#include "engine/batches.hpp"
#include "engine/builder.hpp"
#include "engine/evaluate.hpp"
#include "engine/communicator.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "engine/optimizer.hpp"
#include "networks/models.hpp"
#include "planner/plan.hpp"
#include "serialization/checkpoint.hpp"
#include "serialization/model_json.hpp"

int main() {
  using namespace plangrad;
  Model model = models::circle_mlp().build(1);
  const CircleData data = make_circle(200, 1);
  SGD<float> sgd(model, SgdOptions{0.1, 0.9, 0.0});
  FitOptions options;
  options.epochs = 2;
  set_lr_schedule(options, LrSchedule::parse("cosine:2"));
  options.checkpoint = checkpoint_writer("circle.ckpt.json");
  const ValueRoles roles{"x", "y", "loss", "out"};
  const Tensor<float> targets = one_hot(data.labels, 2);
  const DataView train(data.points.data(), targets.data(), data.size());
  fit(model, sgd, roles, train, DataView{}, options);
  save_model(model, "circle.json");
  return evaluate(model, roles, train, 100).accuracy > 0.5 ? 0 : 1;
}
