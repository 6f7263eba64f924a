// The strict JSON reader shared by model files and checkpoints: each problem is a
// FormatError "<source>: <JSON pointer>: <what>".
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "serialization/json_reader.hpp"

using namespace plangrad;
using Catch::Matchers::Equals;
using nlohmann::json;

namespace {

template <class F>
std::string format_message(F&& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "<no FormatError thrown>";
}

}  // namespace

TEST_CASE("json reader: JSON pointer tokens are escaped", "[serialization][json]") {
  CHECK(json_pointer_token("a/b~c") == "a~1b~0c");
  CHECK(json_pointer_token("fc1.weight") == "fc1.weight");
}

TEST_CASE("json reader: values and the paths of their problems", "[serialization][json]") {
  const json doc = json::parse(R"({"a/b": [1, "two", 2.5, -4, true, null, 18446744073709551615],
                                   "obj": {"x": 1, "y~": {}}, "list": [0.5, 1, "x"]})");
  const JsonReader root(doc, "f.json");
  const JsonReader list = root.member("a/b");
  CHECK(list.path() == "/a~1b");
  CHECK(list.size() == 7);
  CHECK(list.element(0).integer() == 1);
  CHECK(list.element(0).integer(1) == 1);
  CHECK(list.element(0).unsigned_integer() == 1);
  CHECK(list.element(2).number() == 2.5);
  CHECK(list.element(1).string() == "two");
  CHECK(list.element(4).boolean());
  CHECK(root.member("obj").find("y~")->path() == "/obj/y~0");
  CHECK_FALSE(root.member("obj").find("z"));
  CHECK(root.member("list").element(0).number() == 0.5);

  CHECK_THAT(format_message([&] { root.member("nope"); }), Equals("f.json: /: missing key \"nope\""));
  CHECK_THAT(format_message([&] { list.member("x"); }), Equals("f.json: /a~1b: expected an object, got an array"));
  CHECK_THAT(format_message([&] { root.member("obj").array(); }), Equals("f.json: /obj: expected an array, got an object"));
  CHECK_THAT(format_message([&] { list.element(1).integer(); }),
             Equals("f.json: /a~1b/1: expected an integer, got a string"));
  CHECK_THAT(format_message([&] { list.element(2).integer(); }),
             Equals("f.json: /a~1b/2: expected an integer, got a number"));
  CHECK_THAT(format_message([&] { list.element(6).integer(); }), Equals("f.json: /a~1b/6: integer out of range"));
  CHECK(list.element(6).unsigned_integer() == 18446744073709551615ull);
  CHECK_THAT(format_message([&] { list.element(3).integer(0); }),
             Equals("f.json: /a~1b/3: expected an integer >= 0, got -4"));
  CHECK_THAT(format_message([&] { list.element(3).unsigned_integer(); }),
             Equals("f.json: /a~1b/3: expected a non-negative integer, got -4"));
  CHECK_THAT(format_message([&] { list.element(5).number(); }), Equals("f.json: /a~1b/5: expected a number, got null"));
  CHECK_THAT(format_message([&] { list.element(0).boolean(); }),
             Equals("f.json: /a~1b/0: expected true or false, got an integer"));
  CHECK_THAT(format_message([&] { list.element(4).string(); }),
             Equals("f.json: /a~1b/4: expected a string, got a boolean"));
  CHECK_THAT(format_message([&] { list.element(7); }), Equals("f.json: /a~1b: no element 7 in an array of 7"));
  CHECK_THAT(format_message([&] { root.member("list").numbers(); }),
             Equals("f.json: /list/2: expected a number, got a string"));
  CHECK_THAT(format_message([&] { root.member("obj").only_keys({"x"}); }), Equals("f.json: /obj/y~0: unknown key \"y~\""));
  CHECK_NOTHROW(root.member("obj").only_keys({"x", "y~"}));

  std::string visited;
  root.member("obj").for_each_member([&](const std::string& key, const JsonReader& m) { visited += key + "@" + m.path() + " "; });
  CHECK(visited == "x@/obj/x y~@/obj/y~0 ");
}

TEST_CASE("json reader: malformed JSON names the source and the byte", "[serialization][json]") {
  CHECK_THAT(format_message([] { parse_json("{\"a\": ", "g.json"); }),
             Catch::Matchers::StartsWith("g.json: malformed JSON at byte 7"));
  CHECK(parse_json("[1]", "g.json") == json::array({1}));
}
