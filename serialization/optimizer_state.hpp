// An optimizer's snapshot (engine/optimizer.hpp: OptimizerState) as JSON, the "optimizer"
// object of a checkpoint (serialization/checkpoint.hpp):
//
//   {"kind": "sgd" | "adam" | "adamw", "step": integer >= 0, "learning_rate": number,
//    "options": {"momentum", "weight_decay", "nesterov" (0 or 1)}          for sgd
//               {"beta1", "beta2", "eps", "weight_decay"}                  for adam, adamw
//    "parameters": {name: {"started": bool, "buffers": {name: [numbers]}}}}
//
// "learning_rate" is the options' lr. Every number reads back as the double written, so
// buffer values (floats or doubles widened to double) come back exactly.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/optimizer.hpp"
#include "serialization/json_reader.hpp"

namespace plangrad {

nlohmann::json optimizer_state_to_json(const OptimizerState& state);

// FormatError at the JSON path for an unknown kind, options other than the kind's (each a
// number; nesterov 0 or 1), or a value of the wrong type. Whether the state fits an
// optimizer and its model (option values, parameters, buffers and their sizes) is checked
// when it is put back: Optimizer::set_state, make_optimizer.
OptimizerState optimizer_state_from_json(const JsonReader& r);

}  // namespace plangrad
