// plangrad in one include: declare a network, plan it, train it, save and load it, predict.
//   #include <plangrad/plangrad.hpp>
// The individual headers are installed beside it (<plangrad/engine/builder.hpp>, ...).
#pragma once

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "core/model.hpp"
#include "core/version.hpp"
#include "engine/builder.hpp"
#include "engine/evaluate.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "engine/optimizer.hpp"
#include "engine/predictor.hpp"
#include "planner/plan.hpp"
#include "serialization/checkpoint.hpp"
#include "serialization/load_predictor.hpp"
#include "serialization/model_json.hpp"
