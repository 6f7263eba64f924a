// A small command-line flag parser for the examples and the plangrad program:
// `--name value` or `--name=value`; every flag is read once, then finish() rejects what
// is left over. Bad values and unknown flags are UsageErrors naming the flag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace plangrad {

class Flags {
 public:
  Flags(int argc, char** argv);  // skips argv[0]
  explicit Flags(std::vector<std::string> args);

  std::string get(const std::string& name, const std::string& fallback);
  bool has(const std::string& name);  // a flag given without a value: --resume
  std::int64_t get_int(const std::string& name, std::int64_t fallback, std::int64_t min, std::int64_t max);
  double get_double(const std::string& name, double fallback, double min, double max);
  // Arguments that are not flags, in order (a model file, say).
  const std::vector<std::string>& positional() const { return positional_; }
  // A UsageError for any flag that no get/has call asked for.
  void finish() const;

 private:
  struct Item {
    std::string name, value;
    bool has_value = false;
    bool used = false;
  };
  Item* find(const std::string& name);
  std::vector<Item> items_;
  std::vector<std::string> positional_;
};

// A comma-separated flag value as its items, empty ones kept for the caller to refuse or
// skip: "a,b,,c" is {"a", "b", "", "c"}, "" is {""}.
std::vector<std::string> split_commas(const std::string& text);

}  // namespace plangrad
