/// \file
/// Resource limits. A model or data file may come from anyone, so every size it asks for is
/// bounded before memory is taken for it. The defaults suit small networks; a program that
/// needs more raises them once, before it loads or plans anything (the command-line
/// program's `--limit NAME=VALUE`, or set_limits in C++).
#pragma once

#include <cstdint>
#include <string>

#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// The bounds, one per kind of size; the process's are limits().
struct Limits {
  std::uint64_t tensor_elements = std::uint64_t{1} << 28;  ///< any one tensor (1 GiB of float)
  std::uint64_t arena_bytes = std::uint64_t{1} << 33;      ///< one plan's arena: 8 GiB
  std::uint64_t model_file_bytes = std::uint64_t{1} << 28; ///< a model or checkpoint file: 256 MiB
  std::uint64_t json_depth = 64;                           ///< nesting of a JSON document
  std::uint64_t nodes = 1'000'000;                         ///< nodes of a graph read from a file
  std::uint64_t name_length = 1024;                        ///< bytes of a value or node name
  std::uint64_t data_bytes = std::uint64_t{1} << 30;       ///< a data file, decompressed: 1 GiB
  std::uint64_t line_bytes = std::uint64_t{1} << 24;       ///< one record of a CSV file: 16 MiB
};

/// The process's limits. Set them before loading or planning; reading them is safe from
/// any thread, changing them while another thread loads or plans is not.
const Limits& limits();
/// Replaces the process's limits (see limits() for when).
void set_limits(const Limits& limits);

/// "tensor-elements", ...: the names `--limit NAME=VALUE` takes, in Limits' order, then nullptr.
const char* const* limit_names();
/// Sets the limit called `name` (UsageError for an unknown name or a value below 1).
void set_limit(Limits& limits, const std::string& name, std::uint64_t value);
/// "the limit of 268435456 tensor elements (raise it with --limit tensor-elements=N or
/// plangrad::set_limits)": the end of every error that a limit raises.
std::string limit_hint(const std::string& name, std::uint64_t value);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
