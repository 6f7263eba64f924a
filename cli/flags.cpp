#include "cli/flags.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/errors.hpp"

namespace plangrad {
namespace {
// Text that reads back as v (%g, more digits only where needed): a bound of 1e-12 prints
// as 1e-12, not 0.000000.
std::string number(double v) {
  char buf[32];
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}
}  // namespace

Flags::Flags(int argc, char** argv) : Flags(std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc)) {}

Flags::Flags(std::vector<std::string> args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional_.push_back(a);
      continue;
    }
    Item item;
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      item = {a.substr(0, eq), a.substr(eq + 1), true};
    } else {
      item.name = a;
      if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        item.value = args[++i];
        item.has_value = true;
      }
    }
    for (const Item& seen : items_)
      if (seen.name == item.name) throw UsageError("flag " + item.name + " is given twice");
    items_.push_back(std::move(item));
  }
}

Flags::Item* Flags::find(const std::string& name) {
  for (Item& item : items_)
    if (item.name == name) {
      item.used = true;
      return &item;
    }
  return nullptr;
}

std::string Flags::get(const std::string& name, const std::string& fallback) {
  const Item* item = find(name);
  if (!item) return fallback;
  if (!item->has_value) throw UsageError("flag " + name + " needs a value");
  // `--out=` would otherwise read as "no flag" and quietly mean the default.
  if (item->value.empty()) throw UsageError("flag " + name + " needs a value, got an empty one");
  return item->value;
}

bool Flags::has(const std::string& name) {
  const Item* item = find(name);
  if (item && item->has_value) throw UsageError("flag " + name + " takes no value (got '" + item->value + "')");
  return item != nullptr;
}

std::int64_t Flags::get_int(const std::string& name, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  if (!find(name)) return fallback;
  const std::string text = get(name, "");
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw UsageError("flag " + name + " takes an integer, got '" + text + "'");
  if (v < min || v > max)
    throw UsageError("flag " + name + " must be in [" + std::to_string(min) + ", " + std::to_string(max) +
                     "], got " + text);
  return v;
}

double Flags::get_double(const std::string& name, double fallback, double min, double max) {
  if (!find(name)) return fallback;
  const std::string text = get(name, "");
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v))
    throw UsageError("flag " + name + " takes a number, got '" + text + "'");
  if (v < min || v > max)
    throw UsageError("flag " + name + " must be in [" + number(min) + ", " + number(max) + "], got " + text);
  return v;
}

void Flags::finish() const {
  for (const Item& item : items_)
    if (!item.used) throw UsageError("unknown flag " + item.name);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

}  // namespace plangrad
