// TensorProto -> Const: every dimension, count and byte length checked before anything is
// copied, since the file may come from anyone.
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"
#include "onnx/import.hpp"

namespace plangrad::onnx_import {

std::size_t count_of(const Shape& dims, const std::string& where) {
  std::uint64_t n = 1;
  for (const Dim d : dims) {
    if (d < 0) throw FormatError(where + ": negative dimension in " + shape_str(dims));
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n))
      throw FormatError(where + ": the dimensions " + shape_str(dims) + " overflow");
  }
  if (n > limits().tensor_elements)
    throw FormatError(where + ": " + shape_str(dims) + " has " + std::to_string(n) + " elements, more than " +
                      limit_hint("tensor-elements", limits().tensor_elements));
  return static_cast<std::size_t>(n);
}

namespace {

// The bytes of an external-data tensor: `location` relative to the model's folder (no
// absolute path, no ".."), `offset` and `length` inside the file.
std::string external_bytes(const onnx::TensorProto& t, const std::string& where, const std::string& dir) {
  if (dir.empty()) throw FormatError(where + ": external data is not read here");
  std::string location;
  std::uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (const auto& e : t.external_data()) {
    auto number = [&](const std::string& v) {
      if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
        throw FormatError(where + ": external data " + e.key() + " '" + v + "' is not a number");
      return static_cast<std::uint64_t>(std::stoull(v));
    };
    if (e.key() == "location") location = e.value();
    else if (e.key() == "offset") offset = number(e.value());
    else if (e.key() == "length") length = number(e.value()), has_length = true;
  }
  if (location.empty()) throw FormatError(where + ": external data without a location");
  const std::filesystem::path rel(location);
  if (rel.is_absolute()) throw FormatError(where + ": external data location '" + location + "' is absolute");
  for (const auto& part : rel)
    if (part == "..") throw FormatError(where + ": external data location '" + location + "' leaves the model's folder");
  const std::string path = (std::filesystem::path(dir) / rel).string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw FormatError(where + ": external data file '" + path + "' is missing");
  const std::string bytes = read_regular_file(path, "ONNX external data", limits().model_file_bytes, "model-file-bytes");
  if (offset > bytes.size()) throw FormatError(where + ": external data offset " + std::to_string(offset) + " is past the end of '" + path + "'");
  if (!has_length) length = bytes.size() - offset;
  if (length > bytes.size() - offset)
    throw FormatError(where + ": external data length " + std::to_string(length) + " at offset " + std::to_string(offset) +
                      " is past the end of '" + path + "' (" + std::to_string(bytes.size()) + " bytes)");
  return bytes.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
}

template <class From, class To>
void copy_raw(const std::string& raw, std::size_t n, std::vector<To>& out, const std::string& where) {
  if (raw.size() / sizeof(From) != n || raw.size() % sizeof(From) != 0)
    throw FormatError(where + ": raw_data of " + std::to_string(raw.size()) + " bytes for " + std::to_string(n) +
                      " elements of " + std::to_string(sizeof(From)) + " bytes");
  out.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    From v;
    std::memcpy(&v, raw.data() + k * sizeof(From), sizeof(From));
    out[k] = static_cast<To>(v);
  }
}

template <class Field, class To>
void copy_field(const Field& field, std::size_t n, std::vector<To>& out, const std::string& where) {
  if (static_cast<std::size_t>(field.size()) != n)
    throw FormatError(where + ": " + std::to_string(field.size()) + " values for " + std::to_string(n) + " elements");
  out.assign(field.begin(), field.end());
}

}  // namespace

Const read_tensor(const onnx::TensorProto& t, const std::string& where, const std::string& dir) {
  Const c;
  for (const std::int64_t d : t.dims()) c.dims.push_back(d);
  const std::size_t n = count_of(c.dims, where);
  if (t.has_segment()) throw FormatError(where + ": segmented tensors are not read");
  std::string external;
  const bool is_external = t.data_location() == onnx::TensorProto::EXTERNAL;
  if (is_external) external = external_bytes(t, where, dir);
  const std::string& raw = is_external ? external : t.raw_data();
  const bool use_raw = is_external || t.has_raw_data();
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (use_raw) copy_raw<float>(raw, n, c.f, where);
      else copy_field(t.float_data(), n, c.f, where);
      break;
    case onnx::TensorProto::DOUBLE: {
      std::vector<double> d;
      if (use_raw) copy_raw<double>(raw, n, d, where);
      else copy_field(t.double_data(), n, d, where);
      c.f.resize(n);
      for (std::size_t k = 0; k < n; ++k) {
        if (std::isfinite(d[k]) && std::fabs(d[k]) > static_cast<double>(std::numeric_limits<float>::max()))
          throw FormatError(where + ": value " + std::to_string(d[k]) + " does not fit a float32");
        c.f[k] = static_cast<float>(d[k]);
      }
      break;
    }
    case onnx::TensorProto::INT64:
      c.is_int = true;
      if (use_raw) copy_raw<std::int64_t>(raw, n, c.i, where);
      else copy_field(t.int64_data(), n, c.i, where);
      break;
    case onnx::TensorProto::INT32:
      c.is_int = true;
      if (use_raw) copy_raw<std::int32_t>(raw, n, c.i, where);
      else copy_field(t.int32_data(), n, c.i, where);
      break;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      c.is_int = true;
      if (use_raw) {
        if (t.data_type() == onnx::TensorProto::INT8) copy_raw<std::int8_t>(raw, n, c.i, where);
        else copy_raw<std::uint8_t>(raw, n, c.i, where);
      } else {
        copy_field(t.int32_data(), n, c.i, where);
      }
      break;
    default:
      throw FormatError(where + ": element type " + std::to_string(t.data_type()) +
                        " is not read (float, double, int64, int32, int8, uint8, bool are)");
  }
  // A kBatchValue in a file is just a number; only Shape makes the batch marker.
  for (const std::int64_t v : c.i)
    if (v == kBatchValue) throw FormatError(where + ": value " + std::to_string(v) + " is out of range");
  return c;
}

}  // namespace plangrad::onnx_import
