#include "serialization/load_predictor.hpp"

#include <memory>
#include <utility>

#include "serialization/model_json.hpp"

namespace plangrad {

Predictor load_predictor(const std::string& path, PredictorOptions options) {
  return Predictor(std::make_shared<const Model>(load_model(path)), std::move(options));
}

}  // namespace plangrad
