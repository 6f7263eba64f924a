// What the circle and ball examples share: a recipe's optimizer made from its options, and
// a data set written as text, the exact points scripts/torch_repro.py trains PyTorch on.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <variant>

#include "core/errors.hpp"
#include "core/model.hpp"
#include "core/tensor_storage.hpp"
#include "engine/optimizer.hpp"

namespace plangrad::examples {

// A fresh optimizer of the options' kind (SGD or Adam) over the model.
inline std::unique_ptr<Optimizer<float>> make_recipe_optimizer(const Model& model, const OptimizerOptions& options) {
  if (const auto* sgd = std::get_if<SgdOptions>(&options)) return std::make_unique<SGD<float>>(model, *sgd);
  if (const auto* adam = std::get_if<AdamOptions>(&options)) return std::make_unique<Adam<float>>(model, *adam);
  throw UsageError("an example recipe takes SGD or Adam");
}

// One line per example: its features, then its label, each float printed with 9
// significant digits so that reading it back gives the same float.
inline void write_points(const std::string& path, const Tensor<float>& points, const Tensor<float>& labels) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw DataError(path + ": cannot write");
  const std::size_t n = labels.size(), features = points.size() / n;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < features; ++j)
      std::fprintf(f, "%.9g ", static_cast<double>(points.data()[i * features + j]));
    std::fprintf(f, "%.0f\n", static_cast<double>(labels.data()[i]));
  }
  if (std::fclose(f) != 0) throw DataError(path + ": cannot write");
}

}  // namespace plangrad::examples
