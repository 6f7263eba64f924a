/// \file
/// plangrad in one include: declare a network, plan it, train it, save and load it, predict.
/// \code
///   #include <plangrad/plangrad.hpp>
/// \endcode
/// The individual headers are installed beside it (`<plangrad/engine/builder.hpp>`, ...).
#pragma once

/// \mainpage plangrad API reference
/// plangrad.hpp includes every public header. A network is declared with GraphBuilder,
/// planned with make_plan and run by an Executor; fit trains it, Evaluator and evaluate
/// measure it, Predictor predicts with it; save_model and load_model (model files) and
/// save_checkpoint and load_checkpoint keep it. An op of one's own is an OpDef given to
/// register_op (ops/op.hpp). Errors are the types in core/errors.hpp.

/// \namespace plangrad
/// Everything plangrad declares.

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "core/model.hpp"
#include "core/version.hpp"
#include "engine/builder.hpp"
#include "engine/evaluate.hpp"
#include "engine/communicator.hpp"
#include "engine/executor.hpp"
#include "engine/fit.hpp"
#include "engine/lr_schedule.hpp"
#include "engine/optimizer.hpp"
#include "engine/predictor.hpp"
#include "planner/plan.hpp"
#include "serialization/checkpoint.hpp"
#include "serialization/load_predictor.hpp"
#include "serialization/model_json.hpp"
