#include "serialization/optimizer_state.hpp"

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace plangrad {

using nlohmann::json;

json optimizer_state_to_json(const OptimizerState& s) {
  json parameters = json::object();
  for (const auto& [name, p] : s.parameters) {
    json buffers = json::object();
    for (const auto& [bname, values] : p.buffers) buffers[bname] = values;
    parameters[name] = {{"started", p.started}, {"buffers", std::move(buffers)}};
  }
  double lr = 0;
  json options;
  std::visit(
      [&](const auto& o) {
        lr = o.lr;
        if constexpr (std::is_same_v<std::decay_t<decltype(o)>, SgdOptions>)
          // nesterov as a number: the format's options are all numbers.
          options = {{"momentum", o.momentum}, {"weight_decay", o.weight_decay}, {"nesterov", o.nesterov ? 1.0 : 0.0}};
        else
          options = {{"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps}, {"weight_decay", o.weight_decay}};
      },
      s.options);
  return {{"kind", s.kind()},
          {"step", s.step},
          {"learning_rate", lr},
          {"options", std::move(options)},
          {"parameters", std::move(parameters)}};
}

OptimizerState optimizer_state_from_json(const JsonReader& r) {
  r.object();
  OptimizerState s;
  const JsonReader kind = r.member("kind");
  const std::string& name = kind.string();
  s.step = r.member("step").integer(0);
  const double lr = r.member("learning_rate").number();
  const JsonReader options = r.member("options");
  auto option = [&](const char* key) { return options.member(key).number(); };
  if (name == "sgd") {
    options.only_keys({"momentum", "weight_decay", "nesterov"});
    const JsonReader nesterov = options.member("nesterov");
    const double n = nesterov.number();
    if (n != 0 && n != 1) nesterov.fail("expected 0 or 1, got " + nesterov.value().dump());
    s.options = SgdOptions{lr, option("momentum"), option("weight_decay"), n == 1};
  } else if (name == "adam" || name == "adamw") {
    options.only_keys({"beta1", "beta2", "eps", "weight_decay"});
    const double beta1 = option("beta1"), beta2 = option("beta2"), eps = option("eps"),
                 weight_decay = option("weight_decay");
    if (name == "adam")
      s.options = AdamOptions{lr, beta1, beta2, eps, weight_decay};
    else
      s.options = AdamWOptions{lr, beta1, beta2, eps, weight_decay};
  } else {
    kind.fail("unknown optimizer '" + name + "' (expected sgd, adam or adamw)");
  }
  // The same ranges as the flags and the constructors: a checkpoint with a learning rate
  // of -5 or a momentum of 5 would otherwise load and end the run in NaN.
  if (const std::string problem = options_problem(s.options); !problem.empty()) options.fail(problem);
  r.member("parameters").for_each_member([&](const std::string& parameter, const JsonReader& p) {
    ParameterState& ps = s.parameters[parameter];
    ps.started = p.member("started").boolean();
    p.member("buffers").for_each_member(
        [&](const std::string& buffer, const JsonReader& values) { ps.buffers[buffer] = values.numbers(); });
  });
  return s;
}

}  // namespace plangrad
