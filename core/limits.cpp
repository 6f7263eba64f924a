#include "core/limits.hpp"

#include "core/errors.hpp"

namespace plangrad {
namespace {

Limits& current() {
  static Limits l;
  return l;
}

const char* const kNames[] = {"tensor-elements", "arena-bytes", "model-file-bytes", "json-depth",
                              "nodes", "name-length", "data-bytes", "line-bytes", nullptr};

std::uint64_t Limits::*const kFields[] = {&Limits::tensor_elements, &Limits::arena_bytes,
                                          &Limits::model_file_bytes, &Limits::json_depth,
                                          &Limits::nodes, &Limits::name_length, &Limits::data_bytes,
                                          &Limits::line_bytes};

}  // namespace

const Limits& limits() { return current(); }
void set_limits(const Limits& l) { current() = l; }

const char* const* limit_names() { return kNames; }

void set_limit(Limits& l, const std::string& name, std::uint64_t value) {
  for (std::size_t i = 0; kNames[i]; ++i) {
    if (name != kNames[i]) continue;
    if (value < 1) throw UsageError("limit " + name + " must be at least 1");
    l.*kFields[i] = value;
    return;
  }
  std::string known;
  for (std::size_t i = 0; kNames[i]; ++i) known += (i ? ", " : "") + std::string(kNames[i]);
  throw UsageError("unknown limit '" + name + "' (expected one of " + known + ")");
}

std::string limit_hint(const std::string& name, std::uint64_t value) {
  return "the limit of " + std::to_string(value) + " (" + name + "; raise it with --limit " + name +
         "=N, or plangrad::set_limits in C++)";
}

}  // namespace plangrad
