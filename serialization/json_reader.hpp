// Strict reading of parsed JSON, shared by the model reader and the checkpoint reader:
// every problem is a FormatError that names the source and the JSON Pointer (RFC 6901)
// of the offending value,
//   "run.ckpt.json: /training/batches/rng/2: expected a string, got an integer"
//   "mlp.json: /graph/nodes/3: missing key \"op\""
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace plangrad {

// JSON Pointer escaping of one reference token: "~" -> "~0", "/" -> "~1".
std::string json_pointer_token(const std::string& key);

// The document in `text`; malformed JSON is a FormatError "<source>: malformed JSON at
// byte N: ...".
nlohmann::json parse_json(const std::string& text, const std::string& source);

// A JSON value and where it is: the source's name and the value's path. A reader points at
// the value, which must outlive it.
class JsonReader {
 public:
  JsonReader(const nlohmann::json& value, std::string source, std::string path = "");
  JsonReader(nlohmann::json&&, std::string, std::string = "") = delete;

  const nlohmann::json& value() const { return *value_; }
  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }  // "" for the root

  // FormatError "<source>: <path>: <what>" (the root's path shown as "/").
  [[noreturn]] void fail(const std::string& what) const;

  // Each of these returns *this, or fails with "expected an object, got an array" etc.
  const JsonReader& object() const;
  const JsonReader& array() const;

  // An object's member, failing with `missing key "key"` at the object's path.
  JsonReader member(const std::string& key) const;
  // An object's member, or nothing when the key is absent.
  std::optional<JsonReader> find(const std::string& key) const;
  // Fails at the first member whose key is not one of `allowed`: `unknown key "k"`.
  void only_keys(std::initializer_list<const char*> allowed) const;
  // f(key, member) for each member of an object, in the JSON library's order (by key).
  template <class F>
  void for_each_member(F&& f) const {
    object();
    for (auto it = value_->begin(); it != value_->end(); ++it)
      f(it.key(), JsonReader(it.value(), source_, path_ + "/" + json_pointer_token(it.key())));
  }

  // An array's element i < size().
  JsonReader element(std::size_t i) const;
  std::size_t size() const;  // an array's length

  const std::string& string() const;
  std::int64_t integer() const;  // any integer an int64_t holds
  std::int64_t integer(std::int64_t min) const;
  std::uint64_t unsigned_integer() const;
  double number() const;  // an integer or a fraction
  bool boolean() const;
  std::vector<double> numbers() const;  // an array of numbers

 private:
  const nlohmann::json* value_;
  std::string source_;
  std::string path_;
};

// What a JSON value is, for messages: "an integer", "a number", "a string", "an array",
// "an object", "a boolean", "null".
const char* json_type(const nlohmann::json& j);

}  // namespace plangrad
