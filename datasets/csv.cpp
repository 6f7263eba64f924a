#include "datasets/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

#include "core/activity.hpp"
#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"

namespace plangrad {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A field as a user would recognise it in a message, cut to a readable length.
std::string shown(const std::string& field) {
  return "'" + (field.size() > 40 ? field.substr(0, 40) + "..." : field) + "'";
}

bool is_missing(const std::string& field) {
  return field.empty() || field == "NA" || field == "NaN" || field == "nan" || field == "?" || field == "N/A";
}

// Splits `text` into records of fields. Quotes follow RFC 4180; a record ends at an
// unquoted \n (an \r before it is dropped). `line_of` gets each record's first line.
std::vector<std::vector<std::string>> split_records(const std::string& text, const std::string& source,
                                                    char delim, std::vector<std::size_t>& line_of) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> fields;
  std::string field;
  std::size_t line = 1, record_line = 1;
  bool quoted = false, was_quoted = false, any = false;
  auto end_field = [&] {
    fields.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    records.push_back(std::move(fields));
    fields.clear();
    line_of.push_back(record_line);
    any = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted)
        throw DataError(source + ", line " + std::to_string(line) + ": a quote inside an unquoted field " +
                        shown(field + '"'));
      quoted = was_quoted = any = true;
    } else if (c == delim) {
      any = true;
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) end_record();
      else fields.clear();  // a blank line: no record
      ++line;
      record_line = line;
    } else {
      if (was_quoted)
        throw DataError(source + ", line " + std::to_string(line) + ": text after a closing quote");
      field += c;
      any = true;
    }
  }
  if (quoted) throw DataError(source + ", line " + std::to_string(record_line) + ": a quoted field is never closed");
  if (any || !field.empty()) end_record();
  return records;
}

}  // namespace

std::size_t CsvTable::column(const std::string& name) const {
  for (std::size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return c;
  std::string known;
  for (const std::string& h : header) known += (known.empty() ? "'" : ", '") + h + "'";
  throw DataError(source + ": no column '" + name + "' (the columns are " + known + ")");
}

std::vector<std::size_t> CsvTable::columns(const std::vector<std::string>& names) const {
  std::vector<std::size_t> out;
  for (const std::string& n : names) {
    const std::size_t c = column(n);
    if (std::find(out.begin(), out.end(), c) != out.end())
      throw DataError(source + ": column '" + n + "' is named twice");
    out.push_back(c);
  }
  return out;
}

std::vector<std::size_t> CsvTable::columns_except(const std::vector<std::string>& names) const {
  const std::vector<std::size_t> skip = columns(names);
  std::vector<std::size_t> out;
  for (std::size_t c = 0; c < header.size(); ++c)
    if (std::find(skip.begin(), skip.end(), c) == skip.end()) out.push_back(c);
  return out;
}

std::string CsvTable::where(std::size_t row, std::size_t col) const {
  return source + ", line " + std::to_string(lines[row]) + ", column '" + header[col] + "'";
}

CsvTable parse_csv(const std::string& text, const std::string& source, char delimiter) {
  CsvTable t;
  t.source = source;
  std::vector<std::size_t> line_of;
  std::vector<std::vector<std::string>> records = split_records(text, source, delimiter, line_of);
  if (records.empty()) throw DataError(source + ": empty file (expected a header row and data rows)");
  t.header = std::move(records[0]);
  std::set<std::string> seen;
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    if (t.header[c].empty())
      throw DataError(source + ", line " + std::to_string(line_of[0]) + ": header column " + std::to_string(c + 1) +
                      " has no name");
    if (!seen.insert(t.header[c]).second)
      throw DataError(source + ", line " + std::to_string(line_of[0]) + ": column '" + t.header[c] +
                      "' appears twice in the header");
  }
  if (records.size() == 1) throw DataError(source + ": a header and no data rows");
  t.cells.reserve((records.size() - 1) * t.cols());
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != t.cols())
      throw DataError(source + ", line " + std::to_string(line_of[r]) + ": " + std::to_string(records[r].size()) +
                      " fields, but the header has " + std::to_string(t.cols()) + " (with delimiter '" +
                      (delimiter == '\t' ? std::string("\\t") : std::string(1, delimiter)) + "')");
    for (std::string& f : records[r]) t.cells.push_back(std::move(f));
    t.lines.push_back(line_of[r]);
  }
  return t;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  char delimiter = options.delimiter;
  if (delimiter == 0) delimiter = ends_with(path, ".tsv") || ends_with(path, ".tab") ? '\t' : ',';
  const Activity activity("reading data file '" + path + "'");
  const std::string text = read_regular_file(path, "data file", limits().data_bytes, "data-bytes");
  return parse_csv(text, path, delimiter);
}

std::vector<float> numeric_columns(const CsvTable& t, const std::vector<std::size_t>& cols) {
  std::vector<float> out;
  out.reserve(t.rows() * cols.size());
  for (std::size_t r = 0; r < t.rows(); ++r)
    for (std::size_t c : cols) {
      const std::string& f = t.cell(r, c);
      if (is_missing(f)) throw DataError(t.where(r, c) + ": missing value " + shown(f));
      // strtod skips leading white space; trailing white space is allowed too.
      const char* begin = f.c_str();
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(begin, &end);
      while (end && (*end == ' ' || *end == '\t')) ++end;
      if (end == begin || *end != '\0')
        throw DataError(t.where(r, c) + ": " + shown(f) + " is not a number");
      if (!std::isfinite(v) || std::abs(v) > std::numeric_limits<float>::max())
        throw DataError(t.where(r, c) + ": " + shown(f) + " is not a finite float");
      out.push_back(static_cast<float>(v));
    }
  return out;
}

namespace {

// The label as a class index when it is a non-negative integer in plain digits, else -1.
long long integer_label(const std::string& f) {
  if (f.empty() || f.size() > 9) return -1;
  for (char ch : f)
    if (ch < '0' || ch > '9') return -1;
  return std::stoll(f);
}

}  // namespace

ClassColumn class_column(const CsvTable& t, std::size_t col) {
  bool integers = true;
  long long largest = -1;
  std::set<std::string> distinct;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const std::string& f = t.cell(r, col);
    if (is_missing(f)) throw DataError(t.where(r, col) + ": missing label " + shown(f));
    const long long k = integer_label(f);
    integers = integers && k >= 0;
    largest = std::max(largest, k);
    distinct.insert(f);
  }
  std::vector<std::string> names;
  if (integers)
    for (long long k = 0; k <= largest; ++k) names.push_back(std::to_string(k));
  else
    names.assign(distinct.begin(), distinct.end());
  return class_column(t, col, names);
}

ClassColumn class_column(const CsvTable& t, std::size_t col, const std::vector<std::string>& names) {
  std::map<std::string, std::size_t> index;
  for (std::size_t k = 0; k < names.size(); ++k) index.emplace(names[k], k);
  ClassColumn out;
  out.names = names;
  out.indices.reserve(t.rows());
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const std::string& f = t.cell(r, col);
    if (is_missing(f)) throw DataError(t.where(r, col) + ": missing label " + shown(f));
    // An integer label also matches its index when the names are indices ("07" is 7).
    auto it = index.find(f);
    if (it == index.end()) {
      const long long k = integer_label(f);
      if (k >= 0) it = index.find(std::to_string(k));
    }
    if (it == index.end()) {
      std::string known;
      for (std::size_t k = 0; k < names.size() && k < 20; ++k) known += (k ? ", " : "") + names[k];
      throw DataError(t.where(r, col) + ": label " + shown(f) + " is not one of the " + std::to_string(names.size()) +
                      " classes (" + known + (names.size() > 20 ? ", ..." : "") + ")");
    }
    out.indices.push_back(static_cast<float>(it->second));
  }
  return out;
}

}  // namespace plangrad
