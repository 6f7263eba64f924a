#include "serialization/json_reader.hpp"

#include <limits>
#include <utility>

#include "core/errors.hpp"
#include "core/limits.hpp"

namespace plangrad {

using nlohmann::json;

std::string json_pointer_token(const std::string& key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

json parse_json(const std::string& text, const std::string& source) {
  // Refused while parsing, before the document is built: a deeply nested value would
  // otherwise exhaust the stack of whatever walks it recursively (a dump, a destructor).
  const std::uint64_t max_depth = limits().json_depth;
  const json::parser_callback_t depth_check = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        static_cast<std::uint64_t>(depth) >= max_depth)
      throw FormatError(source + ": JSON nested deeper than " + limit_hint("json-depth", max_depth));
    return true;
  };
  try {
    return json::parse(text, depth_check);
  } catch (const json::parse_error& e) {
    throw FormatError(source + ": malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const json::exception& e) {
    throw FormatError(source + ": malformed JSON: " + e.what());
  }
}

const char* json_type(const json& j) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number_float()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  if (j.is_boolean()) return "a boolean";
  return "null";
}

JsonReader::JsonReader(const json& value, std::string source, std::string path)
    : value_(&value), source_(std::move(source)), path_(std::move(path)) {}

void JsonReader::fail(const std::string& what) const {
  throw FormatError(source_ + ": " + (path_.empty() ? "/" : path_) + ": " + what);
}

const JsonReader& JsonReader::object() const {
  if (!value_->is_object()) fail(std::string("expected an object, got ") + json_type(*value_));
  return *this;
}

const JsonReader& JsonReader::array() const {
  if (!value_->is_array()) fail(std::string("expected an array, got ") + json_type(*value_));
  return *this;
}

JsonReader JsonReader::member(const std::string& key) const {
  std::optional<JsonReader> m = find(key);
  if (!m) fail("missing key \"" + key + "\"");
  return std::move(*m);
}

std::optional<JsonReader> JsonReader::find(const std::string& key) const {
  object();
  const auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  return JsonReader(*it, source_, path_ + "/" + json_pointer_token(key));
}

void JsonReader::only_keys(std::initializer_list<const char*> allowed) const {
  object();
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    bool known = false;
    for (const char* a : allowed) known = known || it.key() == a;
    if (!known)
      JsonReader(it.value(), source_, path_ + "/" + json_pointer_token(it.key())).fail("unknown key \"" + it.key() + "\"");
  }
}

JsonReader JsonReader::element(std::size_t i) const {
  if (i >= size()) fail("no element " + std::to_string(i) + " in an array of " + std::to_string(size()));
  return JsonReader((*value_)[i], source_, path_ + "/" + std::to_string(i));
}

std::size_t JsonReader::size() const { return array().value().size(); }

const std::string& JsonReader::string() const {
  if (!value_->is_string()) fail(std::string("expected a string, got ") + json_type(*value_));
  return value_->get_ref<const std::string&>();
}

std::int64_t JsonReader::integer() const {
  if (!value_->is_number_integer()) fail(std::string("expected an integer, got ") + json_type(*value_));
  if (value_->is_number_unsigned() &&
      value_->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    fail("integer out of range");
  return value_->get<std::int64_t>();
}

std::int64_t JsonReader::integer(std::int64_t min) const {
  const std::int64_t v = integer();
  if (v < min) fail("expected an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
  return v;
}

std::uint64_t JsonReader::unsigned_integer() const {
  if (!value_->is_number_integer()) fail(std::string("expected a non-negative integer, got ") + json_type(*value_));
  if (!value_->is_number_unsigned() && value_->get<std::int64_t>() < 0)
    fail("expected a non-negative integer, got " + value_->dump());
  return value_->get<std::uint64_t>();
}

double JsonReader::number() const {
  if (!value_->is_number()) fail(std::string("expected a number, got ") + json_type(*value_));
  return value_->get<double>();
}

bool JsonReader::boolean() const {
  if (!value_->is_boolean()) fail(std::string("expected true or false, got ") + json_type(*value_));
  return value_->get<bool>();
}

std::vector<double> JsonReader::numbers() const {
  array();
  std::vector<double> out;
  out.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) {
    const json& v = (*value_)[i];
    if (!v.is_number()) element(i).fail(std::string("expected a number, got ") + json_type(v));
    out.push_back(v.get<double>());
  }
  return out;
}

}  // namespace plangrad
