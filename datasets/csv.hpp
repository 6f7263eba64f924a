// Delimited text data: a header row naming the columns, then one example per row
// (RFC 4180 quoting: a field in double quotes may hold the delimiter, a line break or a
// doubled quote ""). Every problem is a DataError naming the file, the line and the
// column: a ragged row, a missing value, a non-number in a numeric column.
//
//   CsvTable t = read_csv("wine.csv");                      // ',' (or '\t' for .tsv)
//   std::vector<float> x = numeric_columns(t, t.columns_except({"class"}));
//   ClassColumn y = class_column(t, t.column("class"));     // class indices, names
#pragma once

#include <cstddef>
#include <string>
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
  std::vector<std::string> cells;    // row-major, rows() * header.size() fields
  std::vector<std::size_t> lines;    // per row: the 1-based line it starts on

  std::size_t rows() const { return lines.size(); }
  std::size_t cols() const { return header.size(); }
  const std::string& cell(std::size_t row, std::size_t col) const { return cells[row * cols() + col]; }

  // The index of column `name`; a DataError naming the file and the columns it has.
  std::size_t column(const std::string& name) const;
  // The indices of `names`, in the order given (each once).
  std::vector<std::size_t> columns(const std::vector<std::string>& names) const;
  // Every column but `names`, in file order.
  std::vector<std::size_t> columns_except(const std::vector<std::string>& names) const;
  // "file.csv, line 12, column 'age'": where a cell is, for messages.
  std::string where(std::size_t row, std::size_t col) const;
};

// Reads a regular file within limits().data_bytes. A file with no header, a header with an
// empty or repeated name, no data rows, or a row whose field count differs from the
// header's is a DataError naming the file and line.
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

}  // namespace plangrad
PLANGRAD_PUBLIC_END
