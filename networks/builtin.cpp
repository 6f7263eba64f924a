#include "networks/builtin.hpp"

#include <vector>

#include "core/errors.hpp"
#include "networks/models.hpp"
#include "networks/resnet.hpp"

namespace plangrad::models {
namespace {

GraphBuilder mlp8x256() { return models::mlp(256, std::vector<Dim>(8, 256), 10); }

GraphBuilder fashion_resnet() { return models::fashion_resnet(); }

struct Builtin {
  const char* name;
  GraphBuilder (*declare)();
};

const Builtin kBuiltins[] = {
    {"circle", models::circle_mlp},       {"circle-bn", models::circle_bn}, {"residual", models::residual_dag},
    {"mlp8x256", mlp8x256},               {"mnist-mlp", models::mnist_mlp}, {"mnist-cnn", models::mnist_cnn},
    {"fashion-resnet", fashion_resnet},
};

GraphBuilder declare(const std::string& name) {
  for (const Builtin& m : kBuiltins)
    if (name == m.name) return m.declare();
  throw UsageError("unknown built-in model '" + name + "' (expected " + builtin_names() + ")");
}

}  // namespace

const char* builtin_names() { return "circle, circle-bn, residual, mlp8x256, mnist-mlp, mnist-cnn or fashion-resnet"; }

Graph builtin_graph(const std::string& name) { return declare(name).graph(); }

Model builtin_model(const std::string& name, std::uint64_t seed) { return declare(name).build(seed); }

}  // namespace plangrad::models
