// The CSV/TSV reader: RFC 4180 quoting, and every malformed table a DataError that names
// the file, the line and the column.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "datasets/csv.hpp"
#include "tests/error_message.hpp"
#include "tests/temp_dir.hpp"

using namespace plangrad;
using plangrad::testing::error_message;
using Catch::Matchers::Contains;

namespace {

CsvTable parse(const std::string& text) { return parse_csv(text, "t.csv"); }

}  // namespace

TEST_CASE("a CSV table reads its header, rows and line numbers", "[csv]") {
  const CsvTable t = parse("a,b,label\n1,2.5,x\n\n-3,4e2,y\n");
  CHECK(t.header == std::vector<std::string>{"a", "b", "label"});
  REQUIRE(t.rows() == 2);
  CHECK(t.lines == std::vector<std::size_t>{2, 4});  // the blank line 3 is no row
  CHECK(numeric_columns(t, t.columns({"b", "a"})) == std::vector<float>{2.5f, 1.0f, 400.0f, -3.0f});
  CHECK(t.columns_except({"label"}) == std::vector<std::size_t>{0, 1});
}

TEST_CASE("quoted fields hold delimiters, quotes and line breaks", "[csv]") {
  const CsvTable t = parse("name,\"text, quoted\"\r\n\"a \"\"b\"\"\",\"line1\nline2\"\r\nplain,\"\"\r\nlast,x\n");
  CHECK(t.header[1] == "text, quoted");
  REQUIRE(t.rows() == 3);
  CHECK(t.cell(0, 0) == "a \"b\"");
  CHECK(t.cell(0, 1) == "line1\nline2");
  CHECK(t.cell(1, 1).empty());
  CHECK(t.lines == std::vector<std::size_t>{2, 4, 5});  // the quoted line break counts
}

TEST_CASE("a TSV file splits on tabs", "[csv]") {
  testing::TempDir dir;
  const std::string path = dir.file("d.tsv");
  std::ofstream(path) << "x\ty\n1,5\t2\n";
  const CsvTable t = read_csv(path);
  CHECK(t.header == std::vector<std::string>{"x", "y"});
  CHECK(t.cell(0, 0) == "1,5");
}

TEST_CASE("malformed tables name the file, the line and the column", "[csv]") {
  CHECK_THAT(error_message<DataError>([] { parse("a,b\n1,2\n3\n"); }), Contains("t.csv, line 3") && Contains("1 fields") && Contains("has 2"));
  CHECK_THAT(error_message<DataError>([] { parse(""); }), Contains("empty file"));
  CHECK_THAT(error_message<DataError>([] { parse("a,b\n"); }), Contains("a header and no data rows"));
  CHECK_THAT(error_message<DataError>([] { parse("a,a\n1,2\n"); }), Contains("'a' appears twice"));
  CHECK_THAT(error_message<DataError>([] { parse("a,\n1,2\n"); }), Contains("header column 2 has no name"));
  CHECK_THAT(error_message<DataError>([] { parse("a,b\n1,\"2\n"); }), Contains("line 2") && Contains("never closed"));
  CHECK_THAT(error_message<DataError>([] { parse("a,b\n1,2\"x\n"); }), Contains("line 2") && Contains("quote inside an unquoted field"));
  CHECK_THAT(error_message<DataError>([] { parse("a,b\n1,\"2\"x\n"); }), Contains("text after a closing quote"));
  const CsvTable t = parse("a,b\n1,2\n3,abc\n4,\n5,NA\n6,1e39\n");
  CHECK_THAT(error_message<DataError>([&] { numeric_columns(t, {1}); }), Contains("t.csv, line 3, column 'b'") && Contains("'abc' is not a number"));
  const CsvTable missing = parse("a,b\n4,\n");
  CHECK_THAT(error_message<DataError>([&] { numeric_columns(missing, {1}); }), Contains("line 2, column 'b'") && Contains("missing value"));
  const CsvTable na = parse("a,b\n5,NA\n");
  CHECK_THAT(error_message<DataError>([&] { numeric_columns(na, {1}); }), Contains("missing value 'NA'"));
  const CsvTable huge = parse("a,b\n6,1e39\n");
  CHECK_THAT(error_message<DataError>([&] { numeric_columns(huge, {1}); }), Contains("not a finite float"));
  CHECK_THAT(error_message<DataError>([&] { t.column("c"); }), Contains("no column 'c'") && Contains("'a', 'b'"));
}

TEST_CASE("class labels: integers are indices, names are sorted", "[csv]") {
  const CsvTable ints = parse("x,y\n1,2\n1,0\n1,2\n");
  const ClassColumn a = class_column(ints, 1);
  CHECK(a.indices == std::vector<float>{2, 0, 2});
  CHECK(a.names == std::vector<std::string>{"0", "1", "2"});
  const CsvTable named = parse("x,species\n1,virginica\n1,setosa\n1,versicolor\n1,setosa\n");
  const ClassColumn b = class_column(named, 1);
  CHECK(b.names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(b.indices == std::vector<float>{2, 0, 1, 0});
  // A validation file's labels against the training classes: an unseen class is an error.
  const CsvTable val = parse("x,species\n1,setosa\n1,oak\n");
  CHECK_THAT(error_message<DataError>([&] { class_column(val, 1, b.names); }),
             Contains("line 3, column 'species'") && Contains("'oak' is not one of the 3 classes"));
  const CsvTable blank = parse("x,y\n1,\n");
  CHECK_THAT(error_message<DataError>([&] { class_column(blank, 1); }), Contains("missing label"));
}

TEST_CASE("a CSV file past the data limit is refused before it is read", "[csv][limits]") {
  testing::TempDir dir;
  const std::string path = dir.file("big.csv");
  std::ofstream(path) << "a\n" << std::string(1000, '1') << "\n";
  Limits saved = limits(), small = saved;
  small.data_bytes = 500;
  set_limits(small);
  const std::string msg = error_message<DataError>([&] { read_csv(path); });
  set_limits(saved);
  CHECK_THAT(msg, Contains("big.csv") && Contains("--limit data-bytes="));
  CHECK(read_csv(path).rows() == 1);
}
