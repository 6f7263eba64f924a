// The CSV/TSV reader: RFC 4180 quoting, and every malformed table a DataError that names
// the file, the line and the column.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
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

TEST_CASE("a line longer than the line-bytes limit names its line and column", "[csv][limits]") {
  Limits saved = limits(), small = saved;
  small.line_bytes = 64;
  set_limits(small);
  const std::string wide = "a,b\n1,2\n3," + std::string(100, '4') + "\n";
  const std::string msg = error_message<DataError>([&] { parse(wide); });
  const std::string header = error_message<DataError>([&] { parse(std::string(100, 'h') + "\n1\n"); });
  set_limits(saved);
  CHECK_THAT(msg, Contains("t.csv, line 3, column 'b'") && Contains("a line longer than 64 bytes") &&
                      Contains("--limit line-bytes="));
  CHECK_THAT(header, Contains("t.csv, line 1, column 1") && Contains("a line longer than 64 bytes"));
  CHECK(parse(wide).cell(1, 1).size() == 100);  // within the default limit
}

TEST_CASE("a file of one 2 GB line is reported as a long line, not read whole", "[csv][limits]") {
  testing::TempDir dir;
  const std::string path = dir.file("one-line.csv");
  std::ofstream(path) << "a,b,c";
  std::filesystem::resize_file(path, std::uintmax_t{2} << 30);  // sparse: no disk taken
  const std::string msg = error_message<DataError>([&] { read_csv(path); });
  CHECK_THAT(msg, Contains("one-line.csv, line 1, column 3") && Contains("a line longer than 16777216 bytes") &&
                      Contains("--limit line-bytes="));
  // Within the data limit, the line limit still stops the read at its first 16 MiB.
  Limits saved = limits(), big = saved;
  big.data_bytes = std::uint64_t{3} << 30;
  set_limits(big);
  const std::string within = error_message<DataError>([&] { read_csv(path); });
  set_limits(saved);
  CHECK_THAT(within, Contains("one-line.csv, line 1, column 3") && Contains("a line longer than"));
}

TEST_CASE("a file read in pieces parses as the same text whole", "[csv]") {
  testing::TempDir dir;
  const std::string path = dir.file("pieces.csv");
  std::string text = "name,\"value, quoted\"\r\n";
  for (int i = 0; i < 20000; ++i) text += "\"row " + std::to_string(i) + "\"\"\"," + std::to_string(i) + "\r\n";
  std::ofstream(path, std::ios::binary) << text;
  const CsvTable whole = parse_csv(text, path), read = read_csv(path);
  REQUIRE(read.rows() == 20000);
  CHECK(read.header == whole.header);
  CHECK(read.lines == whole.lines);
  CHECK(read.cell(19999, 0) == "row 19999\"");
  CHECK(read.cell(12345, 1) == "12345");
  for (std::size_t r = 0; r < read.rows(); r += 997) CHECK(read.cell(r, 0) == whole.cell(r, 0));
}

TEST_CASE("malformed headers and empty files name the line", "[csv]") {
  CHECK_THAT(error_message<DataError>([] { parse(""); }), Contains("t.csv, line 1: empty file"));
  CHECK_THAT(error_message<DataError>([] { parse("\n\n"); }), Contains("t.csv, line 1: empty file"));
  CHECK_THAT(error_message<DataError>([] { parse("a,b\n"); }), Contains("t.csv, line 2: a header and no data rows"));
  CHECK_THAT(error_message<DataError>([] { parse("a,b\n1,2,3\n"); }), Contains("t.csv, line 2: 3 fields"));
  const CsvTable t = parse("\n\nx,y\n1,2\n");  // the header is the first record
  CHECK(t.header_line == 3);
  CHECK(t.lines == std::vector<std::size_t>{4});
  CHECK_THAT(error_message<DataError>([&] { t.column("z"); }), Contains("t.csv, line 3: no column 'z'"));
  CHECK_THAT(error_message<DataError>([&] { t.columns({"x", "x"}); }),
             Contains("t.csv, line 3, column 'x': the column is named twice"));
}

TEST_CASE("a subset keeps its rows' fields and lines", "[csv]") {
  const CsvTable t = parse("a,b\n1,x\n2,y\n3,z\n");
  const CsvTable s = t.subset({2, 0});
  CHECK(s.header == t.header);
  REQUIRE(s.rows() == 2);
  CHECK(s.cell(0, 1) == "z");
  CHECK(s.cell(1, 0) == "1");
  CHECK(s.lines == std::vector<std::size_t>{4, 2});
  CHECK_THAT(error_message<DataError>([&] { class_column(s, 1, {"x", "y"}); }), Contains("t.csv, line 4, column 'b'"));
}

TEST_CASE("a seeded split: disjoint, complete, sorted, sized by the fraction", "[csv][split]") {
  const RowSplit s = split_rows(442, 0.2, 7);
  CHECK(s.held_out.size() == 88);  // round(88.4)
  CHECK(s.kept.size() == 354);
  std::vector<std::size_t> all = s.held_out;
  all.insert(all.end(), s.kept.begin(), s.kept.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i] == i);
  CHECK(std::is_sorted(s.held_out.begin(), s.held_out.end()));
  CHECK(std::is_sorted(s.kept.begin(), s.kept.end()));
  CHECK(split_rows(442, 0.2, 7).held_out == s.held_out);
  CHECK(split_rows(442, 0.2, 8).held_out != s.held_out);
  // The first rows held out for seed 7, as scripts/torch_tabular.py draws them too.
  CHECK(std::vector<std::size_t>(s.held_out.begin(), s.held_out.begin() + 5) == std::vector<std::size_t>{2, 7, 9, 29, 30});
  CHECK(split_rows(3, 0.01, 1).held_out.size() == 1);
  CHECK(split_rows(3, 0.99, 1).kept.size() == 1);
  CHECK_THROWS_AS(split_rows(10, 1.0, 1), UsageError);
  CHECK_THROWS_AS(split_rows(1, 0.5, 1), UsageError);
}
