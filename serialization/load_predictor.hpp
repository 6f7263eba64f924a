/// \file
/// A Predictor (engine/predictor.hpp) for a model file: the model is loaded here and owned
/// by the Predictor. Here and not in engine/, because reading the file format is this
/// layer's; the engine's Predictor takes a Model however it was made.
#pragma once

#include <string>

#include "engine/predictor.hpp"

namespace plangrad {

/// load_model(path) (serialization/model_json.hpp: its FormatErrors, limits and checks),
/// then a Predictor that shares ownership of it.
Predictor load_predictor(const std::string& path, PredictorOptions options = {});

}  // namespace plangrad
