// Tables bound to models: the task read from the loss (engine/task_roles.hpp), the schema
// and rows (engine/tabular.hpp), feature scaling fitted into the model, the schema in the
// model file (serialization/data_schema.hpp) and `plangrad new mlp`'s networks
// (networks/tabular.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "datasets/csv.hpp"
#include "engine/evaluate.hpp"
#include "engine/tabular.hpp"
#include "engine/task_roles.hpp"
#include "networks/models.hpp"
#include "networks/tabular.hpp"
#include "serialization/data_schema.hpp"
#include "tests/error_message.hpp"

using namespace plangrad;
using plangrad::testing::error_message;
using Catch::Matchers::Contains;

namespace {

GraphBuilder mlp(Task task, Dim outputs, Dim features = 2) {
  models::TabularMlp spec;
  spec.features = features;
  spec.hidden = {4};
  spec.task = task;
  spec.outputs = outputs;
  return models::tabular_mlp(spec);
}

}  // namespace

TEST_CASE("the task is read from the loss, and the values playing each part", "[tabular]") {
  const TaskRoles c = task_roles(mlp(Task::Classification, 3).graph());
  CHECK(c.task == Task::Classification);
  CHECK(c.input == "x");
  CHECK(c.target == "labels");
  CHECK(c.logits == "logits");
  CHECK(c.classes == 3);
  CHECK(c.input_standardize == "x_std");
  CHECK(c.target_standardize.empty());

  const TaskRoles b = task_roles(mlp(Task::Binary, 0).graph());
  CHECK(b.task == Task::Binary);
  CHECK(b.target == "y");
  CHECK(b.logits == "logit");
  CHECK(b.classes == 2);

  // A standardized regression target: the target is the input, the prediction the inverse.
  const TaskRoles r = task_roles(mlp(Task::Regression, 2).graph());
  CHECK(r.task == Task::Regression);
  CHECK(r.target == "y");
  CHECK(r.prediction == "prediction");
  CHECK(r.target_standardize == "y_std");
  CHECK(r.target_columns == 2);

  // The circle models: one-hot float targets through MSE, and one logit.
  const TaskRoles circle = task_roles(models::circle_mlp().graph());
  CHECK(circle.task == Task::Regression);
  CHECK(circle.prediction == "out");
  CHECK(circle.input_standardize.empty());
  CHECK(task_roles(models::circle_bn().graph()).task == Task::Binary);
}

TEST_CASE("a standardized target without its inverse prediction is refused", "[tabular]") {
  GraphBuilder b;
  const Value x = b.input("x", {kBatchDim, 2}), y = b.input("y", {kBatchDim, 1});
  const Value mean = b.state("y.mean", {1}, init::zeros()), sd = b.state("y.std", {1}, init::constant(1));
  const Value ys = b.op("standardize", {y, mean, sd}, {{"inverse", std::int64_t{0}}}, "y_std");
  b.output(b.mse_loss(b.dense(x, 1, "out"), ys, "loss"));
  CHECK_THROWS_AS(task_roles(b.graph()), UsageError);
  CHECK_THAT(error_message<UsageError>([&] { task_roles(b.graph()); }), Contains("inverse standardize node of 'out'"));
}

TEST_CASE("a schema binds columns to the model, and its rows are read through it", "[tabular]") {
  const CsvTable t = parse_csv("a,b,kind\n1,10,dog\n2,20,cat\n3,30,dog\n", "t.csv");
  const TaskRoles roles = task_roles(mlp(Task::Classification, 2).graph());
  const DataSchema s = make_schema(t, roles, {"kind"}, {});
  CHECK(s.features == std::vector<std::string>{"a", "b"});
  CHECK(s.classes == std::vector<std::string>{"cat", "dog"});  // sorted: cat 0, dog 1
  const TabularData d = tabular_data(t, roles, s);
  CHECK(std::vector<float>(d.targets.data(), d.targets.data() + 3) == std::vector<float>{1, 0, 1});
  CHECK(std::vector<float>(d.features.data(), d.features.data() + 2) == std::vector<float>{1, 10});

  // Features in the order named; a label the training rows did not have.
  const DataSchema swapped = make_schema(t, roles, {"kind"}, {"b", "a"});
  CHECK(tabular_data(t, roles, swapped).features.data()[0] == 10.0f);
  const CsvTable val = parse_csv("a,b,kind\n1,10,bird\n", "v.csv");
  CHECK_THAT(error_message<DataError>([&] { tabular_data(val, roles, s); }), Contains("v.csv, line 2, column 'kind'"));
  CHECK_THROWS_AS(make_schema(t, roles, {"kind"}, {"a", "kind"}), DataError);
  CHECK_THROWS_AS(make_schema(t, roles, {"kind"}, {"a"}), UsageError);  // the model takes 2 features
}

TEST_CASE("feature scaling is fitted into the model's standardize nodes", "[tabular]") {
  const GraphBuilder b = mlp(Task::Regression, 1);
  Model model = b.build(1);
  const TaskRoles roles = task_roles(model.graph);
  const CsvTable t = parse_csv("a,b,y\n1,5,10\n3,5,20\n5,5,60\n", "t.csv");
  const TabularData d = tabular_data(t, roles, make_schema(t, roles, {"y"}, {}));
  fit_standardization(model, roles, d);
  const Tensor<float>& mean = model.state_tensor("x.mean");
  const Tensor<float>& sd = model.state_tensor("x.std");
  CHECK(mean.data()[0] == 3.0f);
  CHECK(sd.data()[0] == Approx(std::sqrt(8.0 / 3.0)));  // the population's
  CHECK(sd.data()[1] == 1.0f);                           // a constant column is left unscaled
  CHECK(model.state_tensor("y.mean").data()[0] == 30.0f);

  // The regression's prediction is in the target's units: evaluating the fitted model
  // measures RMSE against the raw targets.
  const EvalResult r = evaluate(model, roles, d.view(), 3);
  CHECK(std::isfinite(r.rmse));
  CHECK(r.rmse > 1.0);  // an untrained model, in units of y (tens)

  Model circle = models::circle_mlp().build(1);
  CHECK_THAT(error_message<UsageError>([&] { fit_standardization(circle, task_roles(circle.graph), d); }),
             Contains("needs a standardize node on the model's input 'x'"));
}

TEST_CASE("the schema goes into the model file's training object and back", "[tabular]") {
  DataSchema s;
  s.task = "classification";
  s.features = {"a", "b"};
  s.targets = {"kind"};
  s.classes = {"cat", "dog"};
  nlohmann::json training;
  set_data_schema(training, s);
  CHECK(data_schema_from_training(training, "m.json") == s);
  CHECK(!data_schema_from_training(nlohmann::json(), "m.json"));
  training["data"]["classes"] = {"cat"};
  CHECK_THAT(error_message<FormatError>([&] { data_schema_from_training(training, "m.json"); }),
             Contains("m.json: /training/data: a classifier's schema names its classes"));
  training["data"]["task"] = "ranking";
  CHECK_THAT(error_message<FormatError>([&] { data_schema_from_training(training, "m.json"); }),
             Contains("/training/data/task"));
}

TEST_CASE("new mlp's networks check their specification", "[tabular]") {
  models::TabularMlp spec;
  spec.features = 3;
  spec.task = Task::Classification;
  spec.outputs = 1;
  CHECK_THROWS_AS(models::tabular_mlp(spec), UsageError);
  spec.outputs = 2;
  spec.activation = "gelu";
  CHECK_THROWS_AS(models::tabular_mlp(spec), UsageError);
  spec.activation = "tanh";
  spec.batchnorm = true;
  spec.hidden = {5, 4};
  const Model m = models::tabular_mlp(spec).build(1);
  CHECK(m.state.count("bn2.running_var") == 1);
  CHECK(m.parameter_count() == 3 * 5 + 5 + 2 * 5 + 5 * 4 + 4 + 2 * 4 + 4 * 2 + 2);
}

TEST_CASE("new cnn's network: blocks of conv, batchnorm, relu and pooling, then dense logits", "[tabular]") {
  models::ImageCnn spec;
  spec.channels = 3;
  spec.height = 8;
  spec.width = 6;
  spec.widths = {4, 5};
  spec.batchnorm = true;
  spec.classes = 7;
  const Model m = models::image_cnn(spec).build(1);
  // conv1 3->4, conv2 4->5 (3x3 kernels), two batchnorms, dense 5*2*1 -> 7.
  CHECK(m.parameter_count() == (4 * 3 * 9 + 4) + (5 * 4 * 9 + 5) + 2 * 4 + 2 * 5 + (5 * 2 * 1 * 7 + 7));
  const TaskRoles r = task_roles(m.graph);
  CHECK(r.task == Task::Classification);
  CHECK(r.features == 3 * 8 * 6);
  spec.widths = {4, 5, 6};  // 8x6 -> 4x3 -> 2x1 -> no pixel
  CHECK_THAT(error_message<UsageError>([&] { models::image_cnn(spec); }), Contains("block 3 pools 2x1 pixels"));
}
