// The flag parser of the examples and the command-line program: every mistake is a
// UsageError that names the flag, and the bounds it prints are the real ones.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cli/flags.hpp"
#include "core/errors.hpp"

using namespace plangrad;
using Catch::Matchers::Contains;

TEST_CASE("flags read values in both spellings", "[flags]") {
  Flags f(std::vector<std::string>{"model.json", "--lr", "0.5", "--epochs=3", "--resume"});
  CHECK(f.get_double("--lr", 0.1, 1e-12, 10) == 0.5);
  CHECK(f.get_int("--epochs", 1, 1, 100) == 3);
  CHECK(f.has("--resume"));
  CHECK(f.get("--out", "default.json") == "default.json");
  CHECK(f.positional() == std::vector<std::string>{"model.json"});
  CHECK_NOTHROW(f.finish());
}

TEST_CASE("an empty flag value is refused, not taken for the default", "[flags]") {
  Flags f(std::vector<std::string>{"--out="});
  CHECK_THROWS_WITH(f.get("--out", "model.json"), Contains("--out") && Contains("empty"));
  Flags g(std::vector<std::string>{"--epochs="});
  CHECK_THROWS_WITH(g.get_int("--epochs", 5, 1, 100), Contains("--epochs") && Contains("empty"));
}

TEST_CASE("an out-of-range flag names its real bounds", "[flags]") {
  Flags f(std::vector<std::string>{"--lr", "0"});
  CHECK_THROWS_WITH(f.get_double("--lr", 0.1, 1e-12, 10), Contains("[1e-12, 10]") && Contains("got 0"));
  Flags g(std::vector<std::string>{"--momentum", "1.5"});
  CHECK_THROWS_WITH(g.get_double("--momentum", 0, 0, 0.999), Contains("[0, 0.999]"));
}

TEST_CASE("unknown, repeated and malformed flags are usage errors", "[flags]") {
  CHECK_THROWS_AS(Flags(std::vector<std::string>{"--lr", "1", "--lr", "2"}), UsageError);
  Flags f(std::vector<std::string>{"--frobnicate"});
  CHECK_THROWS_WITH(f.finish(), Contains("--frobnicate"));
  Flags g(std::vector<std::string>{"--epochs", "3x"});
  CHECK_THROWS_WITH(g.get_int("--epochs", 1, 1, 10), Contains("takes an integer"));
}
