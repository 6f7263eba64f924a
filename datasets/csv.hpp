// Delimited text data: a header row naming the columns, then one example per row
// (RFC 4180 quoting: a field in double quotes may hold the delimiter, a line break or a
// doubled quote ""). Every problem is a DataError naming the file, the line and the
// column: a ragged row, a missing value, a non-number in a numeric column, a line longer
// than limits().line_bytes.
//
//   CsvTable t = read_csv("wine.csv");                      // ',' (or '\t' for .tsv)
//   std::vector<float> x = numeric_columns(t, t.columns_except({"class"}));
//   ClassColumn y = class_column(t, t.column("class"));     // class indices, names
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

struct CsvOptions {
  // 0: ',' unless the file name ends in ".tsv" or ".tab" ('\t').
  char delimiter = 0;
};

class CsvTable {
 public:
  std::string source;                // the file (or name) the table came from
  std::vector<std::string> header;   // the column names, in file order
  std::size_t header_line = 1;       // the line the header is on
  std::vector<std::size_t> lines;    // per row: the 1-based line it starts on

  std::size_t rows() const { return lines.size(); }
  std::size_t cols() const { return header.size(); }
  // The field at (row, col), unquoted; valid while the table lives.
  std::string_view cell(std::size_t row, std::size_t col) const {
    const std::size_t i = row * cols() + col;
    return std::string_view(text_.data() + ends_[i], ends_[i + 1] - ends_[i]);
  }

  // The index of column `name`; a DataError naming the file, the header line and the
  // columns it has.
  std::size_t column(const std::string& name) const;
  // The indices of `names`, in the order given (each once).
  std::vector<std::size_t> columns(const std::vector<std::string>& names) const;
  // Every column but `names`, in file order.
  std::vector<std::size_t> columns_except(const std::vector<std::string>& names) const;
  // "file.csv, line 12, column 'age'": where a cell is, for messages.
  std::string where(std::size_t row, std::size_t col) const;
  // "file.csv, line 1, column 'age'": where a column's name is.
  std::string where_header(std::size_t col) const;

  // The rows `rows` (indices into this table, in the order given), with their lines.
  CsvTable subset(const std::vector<std::size_t>& rows) const;

  // Appends one row of cols() fields (the reader's, and for tables made in code).
  void add_row(const std::vector<std::string_view>& fields, std::size_t line);

 private:
  friend class CsvParser;
  // Every field's bytes, one after another, row-major; field i is text_[ends_[i], ends_[i+1]).
  // One string and one offset per field: a table of short numbers takes about the bytes of
  // its file plus 8 per field, where a string per field would take 32 or more.
  std::string text_;
  std::vector<std::size_t> ends_{0};
};

// Reads a regular file, streaming: within limits().data_bytes in all and
// limits().line_bytes per record (a file past data_bytes is refused by its size, after
// its first line-bytes are checked, so that one long line is reported as such). A file with
// no header, a header with an empty or repeated name, no data rows, or a row whose field
// count differs from the header's is a DataError naming the file and line.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});
CsvTable parse_csv(const std::string& text, const std::string& source, char delimiter = ',');

// The columns `cols` of every row as floats, row-major [rows, cols.size()]. An empty field,
// "NA", "NaN", "?" (missing values), anything that is not a finite number, or a number
// float cannot hold is a DataError naming the file, line and column.
std::vector<float> numeric_columns(const CsvTable& table, const std::vector<std::size_t>& cols);

// A column of class labels. When every label is a non-negative integer, the label is the
// class index and `names` are the indices as text ("0", "1", ...) up to the largest;
// otherwise the classes are the distinct labels in sorted order (scikit-learn's
// LabelEncoder) and the index is a label's place among them.
struct ClassColumn {
  std::vector<float> indices;      // per row, the class index as a float
  std::vector<std::string> names;  // class index -> label
};
ClassColumn class_column(const CsvTable& table, std::size_t col);
// The same with the classes given (a trained model's): a label not among `names` is a
// DataError naming the file, line and label.
ClassColumn class_column(const CsvTable& table, std::size_t col, const std::vector<std::string>& names);
// Whether every label of the column is a non-negative integer (class_column then takes
// them as indices).
bool integer_labels(const CsvTable& table, std::size_t col);

// A seeded split of n rows into two parts, each in increasing order: `held_out` takes
// round(n * fraction) rows (at least 1, and at least one row stays), `kept` the rest. The
// rows are shuffled by a Fisher-Yates shuffle of 0 .. n-1 from Rng(seed) (core/random.hpp:
// j = rng.below(i + 1) for i = n-1 down to 1, as BatchIterator shuffles); the first
// round(n * fraction) of that order are held out. A fraction outside (0, 1) or n < 2 is a
// UsageError.
struct RowSplit {
  std::vector<std::size_t> kept, held_out;
};
RowSplit split_rows(std::size_t n, double fraction, std::uint64_t seed);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
