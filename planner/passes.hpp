// The planner's passes. Each is a pure function from plain structures to a plain
// structure, tested on its own; make_plan (planner/plan.hpp) composes them:
//
//   index_graph -> toposort -> prune -> infer_shapes          planner/indexed_graph.hpp
//   -> build_forward -> build_backward -> fuse                 planner/schedule.hpp
//   -> liveness -> assign_slots -> assign_offsets -> Plan      planner/memory.hpp
#pragma once

#include "planner/indexed_graph.hpp"
#include "planner/memory.hpp"
#include "planner/schedule.hpp"
