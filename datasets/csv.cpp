#include "datasets/csv.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "core/activity.hpp"
#include "core/errors.hpp"
#include "core/file_io.hpp"
#include "core/limits.hpp"
#include "core/random.hpp"

namespace plangrad {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A field as a user would recognise it in a message, cut to a readable length.
std::string shown(std::string_view field) {
  return "'" + (field.size() > 40 ? std::string(field.substr(0, 40)) + "..." : std::string(field)) + "'";
}

bool is_missing(std::string_view field) {
  return field.empty() || field == "NA" || field == "NaN" || field == "nan" || field == "?" || field == "N/A";
}

std::string delimiter_name(char delim) { return delim == '\t' ? std::string("\\t") : std::string(1, delim); }

}  // namespace

// Splits text fed in pieces into records of fields, straight into a CsvTable. Quotes follow
// RFC 4180; a record ends at an unquoted \n (an \r before it is dropped); a blank line is
// no record. Each record is checked as it ends (the header's names, a data row's field
// count), so a malformed file fails at its first bad line, and no record may grow past
// line_bytes.
class CsvParser {
 public:
  CsvParser(CsvTable& table, char delim, std::uint64_t line_bytes)
      : t_(table), delim_(delim), line_bytes_(line_bytes) {}

  void feed(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) take(p[i]);
  }

  void finish() {
    if (pending_cr_) end_line();
    if (quote_seen_) quote_seen_ = quoted_ = false;  // the file ends right after a closing quote
    if (quoted_) fail_line(record_line_, "a quoted field is never closed");
    if (any_) end_record();
    if (!have_header_) throw DataError(t_.source + ", line 1: empty file (expected a header row naming the columns, then data rows)");
    if (t_.rows() == 0)
      throw DataError(t_.source + ", line " + std::to_string(t_.header_line + 1) +
                      ": a header and no data rows");
  }

 private:
  [[noreturn]] void fail_line(std::size_t line, const std::string& what) const {
    throw DataError(t_.source + ", line " + std::to_string(line) + ": " + what);
  }

  // Where the field being read is: its column's name in a data row, its place in the header.
  std::string field_where() const {
    const std::size_t k = fields_;  // fields finished in this record
    std::string where = t_.source + ", line " + std::to_string(record_line_) + ", ";
    if (have_header_ && k < t_.cols()) return where + "column '" + t_.header[k] + "'";
    return where + "column " + std::to_string(k + 1);
  }

  void take(char c) {
    if (pending_cr_) {
      pending_cr_ = false;
      end_line();
      if (c == '\n') return;  // \r\n is one line break
    }
    if (++record_bytes_ > line_bytes_)
      throw DataError(field_where() + ": a line longer than " + std::to_string(line_bytes_) +
                      " bytes (is the file delimited text, with delimiter '" + delimiter_name(delim_) + "'?); " +
                      limit_hint("line-bytes", line_bytes_));
    if (quoted_) {
      if (quote_seen_) {
        quote_seen_ = false;
        if (c == '"') {  // "" inside quotes: one quote
          t_.text_ += '"';
          return;
        }
        quoted_ = false;  // the closing quote; c is read as outside quotes below
      } else {
        if (c == '"') quote_seen_ = true;
        else {
          if (c == '\n') ++line_;
          t_.text_ += c;
        }
        return;
      }
    }
    if (c == '"') {
      if (field_bytes() != 0 || was_quoted_)
        fail_line(line_, "a quote inside an unquoted field " + shown(current_field() + '"'));
      quoted_ = was_quoted_ = any_ = true;
    } else if (c == delim_) {
      any_ = true;
      end_field();
    } else if (c == '\r') {
      pending_cr_ = true;
    } else if (c == '\n') {
      end_line();
    } else {
      if (was_quoted_) fail_line(line_, "text after a closing quote");
      t_.text_ += c;
      any_ = true;
    }
  }

  std::size_t field_bytes() const { return t_.text_.size() - field_start_; }
  std::string current_field() const { return t_.text_.substr(field_start_); }

  void end_line() {
    if (any_) end_record();
    ++line_;
    record_line_ = line_;
    record_bytes_ = 0;
  }

  void end_field() {
    t_.ends_.push_back(t_.text_.size());
    field_start_ = t_.text_.size();
    ++fields_;
    was_quoted_ = false;
  }

  void end_record() {
    end_field();
    if (!have_header_) take_header();
    else if (fields_ != t_.cols())
      fail_line(record_line_, std::to_string(fields_) + " fields, but the header has " + std::to_string(t_.cols()) +
                                  " (with delimiter '" + delimiter_name(delim_) + "')");
    else t_.lines.push_back(record_line_);
    fields_ = 0;
    any_ = false;
  }

  // The first record: its fields become the header's names, and the field store starts over.
  void take_header() {
    std::set<std::string> seen;
    for (std::size_t c = 0; c < fields_; ++c) {
      std::string name = t_.text_.substr(t_.ends_[c], t_.ends_[c + 1] - t_.ends_[c]);
      if (name.empty()) fail_line(record_line_, "header column " + std::to_string(c + 1) + " has no name");
      if (!seen.insert(name).second) fail_line(record_line_, "column '" + name + "' appears twice in the header");
      t_.header.push_back(std::move(name));
    }
    t_.header_line = record_line_;
    t_.text_.clear();
    t_.ends_.assign(1, 0);
    field_start_ = 0;
    have_header_ = true;
  }

  CsvTable& t_;
  char delim_;
  std::uint64_t line_bytes_;
  std::size_t line_ = 1, record_line_ = 1;
  std::uint64_t record_bytes_ = 0;
  std::size_t field_start_ = 0, fields_ = 0;
  bool quoted_ = false, quote_seen_ = false, was_quoted_ = false, any_ = false, pending_cr_ = false;
  bool have_header_ = false;
};

std::size_t CsvTable::column(const std::string& name) const {
  for (std::size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return c;
  std::string known;
  for (const std::string& h : header) known += (known.empty() ? "'" : ", '") + h + "'";
  throw DataError(source + ", line " + std::to_string(header_line) + ": no column '" + name + "' (the columns are " +
                  known + ")");
}

std::vector<std::size_t> CsvTable::columns(const std::vector<std::string>& names) const {
  std::vector<std::size_t> out;
  for (const std::string& n : names) {
    const std::size_t c = column(n);
    if (std::find(out.begin(), out.end(), c) != out.end())
      throw DataError(where_header(c) + ": the column is named twice");
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

std::string CsvTable::where_header(std::size_t col) const {
  return source + ", line " + std::to_string(header_line) + ", column '" + header[col] + "'";
}

CsvTable CsvTable::subset(const std::vector<std::size_t>& rows) const {
  CsvTable t;
  t.source = source;
  t.header = header;
  t.header_line = header_line;
  std::vector<std::string_view> fields(cols());
  for (const std::size_t r : rows) {
    if (r >= this->rows())
      throw UsageError("CsvTable::subset: row " + std::to_string(r) + " of a table of " +
                       std::to_string(this->rows()));
    for (std::size_t c = 0; c < cols(); ++c) fields[c] = cell(r, c);
    t.add_row(fields, lines[r]);
  }
  return t;
}

void CsvTable::add_row(const std::vector<std::string_view>& fields, std::size_t line) {
  if (fields.size() != cols())
    throw UsageError("CsvTable::add_row: " + std::to_string(fields.size()) + " fields for " + std::to_string(cols()) +
                     " columns");
  for (const std::string_view f : fields) {
    text_.append(f.data(), f.size());
    ends_.push_back(text_.size());
  }
  lines.push_back(line);
}

CsvTable parse_csv(const std::string& text, const std::string& source, char delimiter) {
  CsvTable t;
  t.source = source;
  CsvParser parser(t, delimiter, limits().line_bytes);
  parser.feed(text.data(), text.size());
  parser.finish();
  return t;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  char delimiter = options.delimiter;
  if (delimiter == 0) delimiter = ends_with(path, ".tsv") || ends_with(path, ".tab") ? '\t' : ',';
  const Activity activity("reading data file '" + path + "'");
  const int fd = open_regular_file(path, "data file");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const auto fail_read = [&] { throw DataError("cannot read data file '" + path + "': " + std::strerror(errno)); };
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_read();
  const std::uint64_t limit = limits().data_bytes, line_bytes = limits().line_bytes;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  // A file past the limit is refused by its size; its start is parsed first, so that a file
  // of one endless line (not delimited text at all) is reported as that.
  const bool too_big = size > limit;
  const std::uint64_t budget = too_big ? std::min(size, line_bytes + 1) : limit;

  CsvTable t;
  t.source = path;
  CsvParser parser(t, delimiter, line_bytes);
  std::vector<char> buffer(1 << 16);
  std::uint64_t have = 0;
  while (true) {
    const std::uint64_t want = std::min<std::uint64_t>(buffer.size(), budget - have + (too_big ? 0 : 1));
    if (want == 0) break;
    const ssize_t r = ::read(fd, buffer.data(), static_cast<std::size_t>(want));
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      fail_read();
    }
    have += static_cast<std::uint64_t>(r);
    if (!too_big && have > limit)  // the file grew past the limit while being read
      throw DataError("data file '" + path + "' grew past " + limit_hint("data-bytes", limit));
    parser.feed(buffer.data(), static_cast<std::size_t>(r));
  }
  if (too_big)
    throw DataError("data file '" + path + "' has " + std::to_string(size) + " bytes, more than " +
                    limit_hint("data-bytes", limit));
  parser.finish();
  return t;
}

std::vector<float> numeric_columns(const CsvTable& t, const std::vector<std::size_t>& cols) {
  std::vector<float> out;
  out.reserve(t.rows() * cols.size());
  std::string field;
  for (std::size_t r = 0; r < t.rows(); ++r)
    for (std::size_t c : cols) {
      const std::string_view f = t.cell(r, c);
      if (is_missing(f)) throw DataError(t.where(r, c) + ": missing value " + shown(f));
      // strtod needs a terminated string, and skips leading white space; trailing white
      // space is allowed too.
      field.assign(f.data(), f.size());
      const char* begin = field.c_str();
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(begin, &end);
      while (end && (*end == ' ' || *end == '\t')) ++end;
      if (end == begin || end != field.c_str() + field.size())
        throw DataError(t.where(r, c) + ": " + shown(f) + " is not a number");
      if (!std::isfinite(v) || std::abs(v) > std::numeric_limits<float>::max())
        throw DataError(t.where(r, c) + ": " + shown(f) + " is not a finite float");
      out.push_back(static_cast<float>(v));
    }
  return out;
}

namespace {

// The label as a class index when it is a non-negative integer in plain digits, else -1.
long long integer_label(std::string_view f) {
  if (f.empty() || f.size() > 9) return -1;
  long long k = 0;
  for (char ch : f) {
    if (ch < '0' || ch > '9') return -1;
    k = k * 10 + (ch - '0');
  }
  return k;
}

}  // namespace

bool integer_labels(const CsvTable& t, std::size_t col) {
  for (std::size_t r = 0; r < t.rows(); ++r)
    if (integer_label(t.cell(r, col)) < 0) return false;
  return true;
}

ClassColumn class_column(const CsvTable& t, std::size_t col) {
  bool integers = true;
  long long largest = -1;
  std::set<std::string, std::less<>> distinct;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const std::string_view f = t.cell(r, col);
    if (is_missing(f)) throw DataError(t.where(r, col) + ": missing label " + shown(f));
    const long long k = integer_label(f);
    integers = integers && k >= 0;
    largest = std::max(largest, k);
    if (distinct.find(f) == distinct.end()) distinct.emplace(f);
  }
  std::vector<std::string> names;
  if (integers)
    for (long long k = 0; k <= largest; ++k) names.push_back(std::to_string(k));
  else
    names.assign(distinct.begin(), distinct.end());
  return class_column(t, col, names);
}

ClassColumn class_column(const CsvTable& t, std::size_t col, const std::vector<std::string>& names) {
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t k = 0; k < names.size(); ++k) index.emplace(names[k], k);
  ClassColumn out;
  out.names = names;
  out.indices.reserve(t.rows());
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const std::string_view f = t.cell(r, col);
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

RowSplit split_rows(std::size_t n, double fraction, std::uint64_t seed) {
  if (!(fraction > 0.0 && fraction < 1.0))
    throw UsageError("the split fraction must lie strictly between 0 and 1, got " + std::to_string(fraction));
  if (n < 2) throw UsageError("a split needs at least 2 rows, the data has " + std::to_string(n));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[static_cast<std::size_t>(rng.below(i + 1))]);
  const double wanted = std::round(static_cast<double>(n) * fraction);
  const std::size_t held = std::clamp<std::size_t>(static_cast<std::size_t>(wanted), 1, n - 1);
  RowSplit s;
  s.held_out.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(held));
  s.kept.assign(order.begin() + static_cast<std::ptrdiff_t>(held), order.end());
  std::sort(s.held_out.begin(), s.held_out.end());
  std::sort(s.kept.begin(), s.kept.end());
  return s;
}

}  // namespace plangrad
