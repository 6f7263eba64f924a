#include "engine/lr_schedule.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "core/errors.hpp"

namespace plangrad {

namespace {

constexpr double kPi = 3.141592653589793;  // Python's math.pi

// The shortest decimal that reads back to x.
std::string num(double x) {
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream s;
    s.precision(precision);
    s << x;
    if (std::strtod(s.str().c_str(), nullptr) == x || precision == 17) return s.str();
  }
  return {};
}

[[noreturn]] void bad(const std::string& text, const std::string& what) {
  throw UsageError("schedule '" + text + "': " + what +
                   " (expected constant, step:STEP_SIZE[:GAMMA], cosine:T_MAX[:eta_min=X][:warmup=N]"
                   "[:warmup_start_factor=F], linear:TOTAL_ITERS[:start_factor=F][:end_factor=F] or "
                   "onecycle:MAX_LR[:total=N][:pct_start=P][:div_factor=D][:final_div_factor=F])");
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = text.find(sep, begin);
    parts.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

// A whole token as an integer / a finite number, or a UsageError naming the field.
std::int64_t parse_int(const std::string& text, const std::string& field, const std::string& token) {
  if (token.empty() || !(std::isdigit(static_cast<unsigned char>(token[0])) || token[0] == '-'))
    bad(text, field + " must be an integer, got '" + token + "'");
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(token.c_str(), &end, 10);
  if (errno != 0 || end != token.c_str() + token.size())
    bad(text, field + " must be an integer, got '" + token + "'");
  return static_cast<std::int64_t>(v);
}

double parse_number(const std::string& text, const std::string& field, const std::string& token) {
  if (token.empty() || std::isspace(static_cast<unsigned char>(token[0])))
    bad(text, field + " must be a number, got '" + token + "'");
  char* end = nullptr;
  const double v = std::strtod(token.c_str(), &end);
  if (end != token.c_str() + token.size() || !std::isfinite(v))
    bad(text, field + " must be a finite number, got '" + token + "'");
  return v;
}

}  // namespace

void LrSchedule::validate() const {
  auto fail = [](const std::string& what) { throw UsageError("schedule: " + what); };
  switch (kind) {
    case Kind::Constant: return;
    case Kind::Step:
      if (step_size < 1) fail("step_size must be at least 1, got " + std::to_string(step_size));
      if (!(gamma > 0 && std::isfinite(gamma))) fail("gamma must be positive, got " + num(gamma));
      return;
    case Kind::Cosine:
      if (t_max < 1) fail("t_max must be at least 1, got " + std::to_string(t_max));
      if (!(eta_min >= 0 && std::isfinite(eta_min))) fail("eta_min must be non-negative, got " + num(eta_min));
      if (warmup < 0 || warmup >= t_max)
        fail("warmup must be in [0, t_max) = [0, " + std::to_string(t_max) + "), got " + std::to_string(warmup));
      if (!(warmup_start_factor > 0 && warmup_start_factor <= 1))
        fail("warmup_start_factor must be in (0, 1], got " + num(warmup_start_factor));
      return;
    case Kind::Linear:
      if (total_iters < 1) fail("total_iters must be at least 1, got " + std::to_string(total_iters));
      if (!(start_factor > 0 && start_factor <= 1)) fail("start_factor must be in (0, 1], got " + num(start_factor));
      if (!(end_factor >= 0 && end_factor <= 1)) fail("end_factor must be in [0, 1], got " + num(end_factor));
      return;
    case Kind::OneCycle:
      if (!(max_lr > 0 && std::isfinite(max_lr))) fail("max_lr must be positive, got " + num(max_lr));
      if (!(pct_start > 0 && pct_start < 1)) fail("pct_start must be in (0, 1), got " + num(pct_start));
      if (!(div_factor >= 1 && std::isfinite(div_factor))) fail("div_factor must be at least 1, got " + num(div_factor));
      if (!(final_div_factor >= 1 && std::isfinite(final_div_factor)))
        fail("final_div_factor must be at least 1, got " + num(final_div_factor));
      // OneCycleLR's first phase ends at step pct_start * total - 1, which must be past
      // step 0, or its pct divides by zero.
      if (total_steps < 0 || (total_steps > 0 && !(pct_start * static_cast<double>(total_steps) > 1)))
        fail("total steps " + std::to_string(total_steps) + " leave onecycle's rise (pct_start " + num(pct_start) +
             ") without a step");
      return;
  }
  fail("unknown kind");
}

LrSchedule LrSchedule::constant() { return LrSchedule{}; }

LrSchedule LrSchedule::step(std::int64_t step_size, double gamma) {
  LrSchedule s;
  s.kind = Kind::Step;
  s.step_size = step_size;
  s.gamma = gamma;
  s.validate();
  return s;
}

LrSchedule LrSchedule::cosine(std::int64_t t_max, double eta_min, std::int64_t warmup, double warmup_start_factor) {
  LrSchedule s;
  s.kind = Kind::Cosine;
  s.t_max = t_max;
  s.eta_min = eta_min;
  s.warmup = warmup;
  s.warmup_start_factor = warmup_start_factor;
  s.validate();
  return s;
}

LrSchedule LrSchedule::linear(std::int64_t total_iters, double start_factor, double end_factor) {
  LrSchedule s;
  s.kind = Kind::Linear;
  s.total_iters = total_iters;
  s.start_factor = start_factor;
  s.end_factor = end_factor;
  s.validate();
  return s;
}

LrSchedule LrSchedule::onecycle(double max_lr, std::int64_t total_steps, double pct_start, double div_factor,
                                double final_div_factor) {
  LrSchedule s;
  s.kind = Kind::OneCycle;
  s.max_lr = max_lr;
  s.total_steps = total_steps;
  s.pct_start = pct_start;
  s.div_factor = div_factor;
  s.final_div_factor = final_div_factor;
  s.validate();
  return s;
}

LrSchedule LrSchedule::with_total(std::int64_t total) const {
  LrSchedule s = *this;
  if (s.kind == Kind::OneCycle && s.total_steps == 0) {
    s.total_steps = total;
    s.validate();
  }
  return s;
}

// The closed forms of torch.optim.lr_scheduler (_get_closed_form_lr), operation for
// operation, so the rates agree with PyTorch's to the last bit or two.
double LrSchedule::lr(double base_lr, std::int64_t epoch) const {
  validate();
  if (epoch < 0) throw UsageError("schedule: epoch must be non-negative, got " + std::to_string(epoch));
  switch (kind) {
    case Kind::Constant: return base_lr;
    case Kind::Step:
      // base_lr * self.gamma ** (self.last_epoch // self.step_size)
      return base_lr * std::pow(gamma, static_cast<double>(epoch / step_size));
    case Kind::Cosine: {
      if (epoch < warmup) {
        // LinearLR: base_lr * (start_factor + (end_factor - start_factor) * min(total_iters, last_epoch) / total_iters)
        return base_lr * (warmup_start_factor +
                          (1.0 - warmup_start_factor) * static_cast<double>(epoch) / static_cast<double>(warmup));
      }
      const std::int64_t e = epoch - warmup, T = t_max - warmup;
      if (e >= T) return eta_min;
      // eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
      return eta_min + (base_lr - eta_min) *
                           (1 + std::cos(kPi * static_cast<double>(e) / static_cast<double>(T))) / 2;
    }
    case Kind::Linear:
      return base_lr * (start_factor + (end_factor - start_factor) *
                                           static_cast<double>(std::min(total_iters, epoch)) /
                                           static_cast<double>(total_iters));
    case Kind::OneCycle: {
      if (total_steps == 0) throw UsageError("schedule: onecycle's total steps are not set");
      // OneCycleLR.get_lr with anneal_strategy='cos', three_phase=False.
      const double initial = max_lr / div_factor, min_lr = initial / final_div_factor;
      const double end1 = pct_start * static_cast<double>(total_steps) - 1;
      const double end2 = static_cast<double>(total_steps) - 1;
      const double t = static_cast<double>(std::min(epoch, total_steps - 1));
      const auto anneal = [](double start, double end, double pct) {
        const double cos_out = std::cos(kPi * pct) + 1;
        return end + (start - end) / 2.0 * cos_out;
      };
      if (t <= end1) return anneal(initial, max_lr, t / end1);
      return anneal(max_lr, min_lr, (t - end1) / (end2 - end1));
    }
  }
  return base_lr;
}

LrSchedule LrSchedule::parse(const std::string& text) {
  const std::vector<std::string> parts = split(text, ':');
  const std::string& name = parts[0];
  LrSchedule s;
  if (name == "constant") {
    if (parts.size() != 1) bad(text, "constant takes no arguments");
    return s;
  }
  if (name == "step") {
    if (parts.size() < 2 || parts.size() > 3) bad(text, "step takes STEP_SIZE and an optional GAMMA");
    s.kind = Kind::Step;
    s.step_size = parse_int(text, "step_size", parts[1]);
    if (parts.size() == 3) s.gamma = parse_number(text, "gamma", parts[2]);
  } else if (name == "cosine") {
    if (parts.size() < 2) bad(text, "cosine takes T_MAX");
    s.kind = Kind::Cosine;
    s.t_max = parse_int(text, "t_max", parts[1]);
    bool seen_eta = false, seen_warmup = false, seen_factor = false;
    for (std::size_t i = 2; i < parts.size(); ++i) {
      const std::size_t eq = parts[i].find('=');
      if (eq == std::string::npos) bad(text, "expected KEY=VALUE, got '" + parts[i] + "'");
      const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
      auto once = [&](bool& seen) {
        if (seen) bad(text, "'" + key + "' given twice");
        seen = true;
      };
      if (key == "eta_min") {
        once(seen_eta);
        s.eta_min = parse_number(text, key, value);
      } else if (key == "warmup") {
        once(seen_warmup);
        s.warmup = parse_int(text, key, value);
      } else if (key == "warmup_start_factor") {
        once(seen_factor);
        s.warmup_start_factor = parse_number(text, key, value);
      } else {
        bad(text, "unknown key '" + key + "'");
      }
    }
    if (seen_factor && !seen_warmup) bad(text, "warmup_start_factor needs warmup");
  } else if (name == "linear" || name == "onecycle") {
    const bool linear = name == "linear";
    if (parts.size() < 2) bad(text, linear ? "linear takes TOTAL_ITERS" : "onecycle takes MAX_LR");
    if (linear) {
      s.kind = Kind::Linear;
      s.total_iters = parse_int(text, "total_iters", parts[1]);
    } else {
      s.kind = Kind::OneCycle;
      s.max_lr = parse_number(text, "max_lr", parts[1]);
    }
    std::vector<std::string> seen;
    for (std::size_t i = 2; i < parts.size(); ++i) {
      const std::size_t eq = parts[i].find('=');
      if (eq == std::string::npos) bad(text, "expected KEY=VALUE, got '" + parts[i] + "'");
      const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
      for (const std::string& k : seen)
        if (k == key) bad(text, "'" + key + "' given twice");
      seen.push_back(key);
      if (linear && key == "start_factor") s.start_factor = parse_number(text, key, value);
      else if (linear && key == "end_factor") s.end_factor = parse_number(text, key, value);
      else if (!linear && key == "total") s.total_steps = parse_int(text, key, value);
      else if (!linear && key == "pct_start") s.pct_start = parse_number(text, key, value);
      else if (!linear && key == "div_factor") s.div_factor = parse_number(text, key, value);
      else if (!linear && key == "final_div_factor") s.final_div_factor = parse_number(text, key, value);
      else bad(text, "unknown key '" + key + "'");
    }
  } else {
    bad(text, "unknown kind '" + name + "'");
  }
  try {
    s.validate();
  } catch (const UsageError& e) {
    bad(text, std::string(e.what()).substr(std::string("schedule: ").size()));
  }
  return s;
}

std::string LrSchedule::str() const {
  switch (kind) {
    case Kind::Constant: return "constant";
    case Kind::Step: return "step:" + std::to_string(step_size) + ":" + num(gamma);
    case Kind::Cosine: {
      std::string s = "cosine:" + std::to_string(t_max);
      if (eta_min != 0) s += ":eta_min=" + num(eta_min);
      if (warmup != 0) s += ":warmup=" + std::to_string(warmup) + ":warmup_start_factor=" + num(warmup_start_factor);
      return s;
    }
    case Kind::Linear:
      return "linear:" + std::to_string(total_iters) + ":start_factor=" + num(start_factor) +
             ":end_factor=" + num(end_factor);
    case Kind::OneCycle: {
      std::string s = "onecycle:" + num(max_lr);
      if (total_steps != 0) s += ":total=" + std::to_string(total_steps);
      return s + ":pct_start=" + num(pct_start) + ":div_factor=" + num(div_factor) +
             ":final_div_factor=" + num(final_div_factor);
    }
  }
  return "?";
}

bool LrSchedule::operator==(const LrSchedule& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::Constant: return true;
    case Kind::Step: return step_size == o.step_size && gamma == o.gamma;
    case Kind::Cosine:
      return t_max == o.t_max && eta_min == o.eta_min && warmup == o.warmup &&
             (warmup == 0 || warmup_start_factor == o.warmup_start_factor);
    case Kind::Linear:
      return total_iters == o.total_iters && start_factor == o.start_factor && end_factor == o.end_factor;
    case Kind::OneCycle:
      return max_lr == o.max_lr && total_steps == o.total_steps && pct_start == o.pct_start &&
             div_factor == o.div_factor && final_div_factor == o.final_div_factor;
  }
  return false;
}

}  // namespace plangrad
