#include "engine/optimizer.hpp"

#include "kernels/isa.hpp"
#include "kernels/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/errors.hpp"

namespace plangrad {

namespace {

std::string num(double x) {
  std::ostringstream s;
  s.precision(17);
  s << x;
  return s.str();
}

bool positive(double x) { return x > 0 && std::isfinite(x); }       // false for NaN
bool non_negative(double x) { return x >= 0 && std::isfinite(x); }  // false for NaN

// What is wrong with a set of options, naming the option; empty when they are valid.
std::string problem(const SgdOptions& o) {
  if (!positive(o.lr)) return "lr must be positive, got " + num(o.lr);
  if (!non_negative(o.momentum)) return "momentum must be non-negative, got " + num(o.momentum);
  if (!non_negative(o.weight_decay)) return "weight_decay must be non-negative, got " + num(o.weight_decay);
  if (o.nesterov && !(o.momentum > 0)) return "nesterov needs momentum > 0";
  return {};
}

std::string problem(const AdamOptions& o) {
  if (!positive(o.lr)) return "lr must be positive, got " + num(o.lr);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) return "beta1 must be in [0, 1), got " + num(o.beta1);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) return "beta2 must be in [0, 1), got " + num(o.beta2);
  if (!positive(o.eps)) return "eps must be positive, got " + num(o.eps);
  if (!non_negative(o.weight_decay)) return "weight_decay must be non-negative, got " + num(o.weight_decay);
  return {};
}

AdamOptions as_adam(const AdamWOptions& o) { return {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay}; }

}  // namespace

const char* optimizer_kind(const OptimizerOptions& options) {
  if (std::holds_alternative<SgdOptions>(options)) return "sgd";
  return std::holds_alternative<AdamOptions>(options) ? "adam" : "adamw";
}

std::string options_problem(const OptimizerOptions& options) {
  if (const auto* o = std::get_if<SgdOptions>(&options)) return problem(*o);
  if (const auto* o = std::get_if<AdamOptions>(&options)) return problem(*o);
  return problem(as_adam(std::get<AdamWOptions>(options)));
}

std::vector<std::string> state_buffers(const OptimizerOptions& options) {
  if (const auto* o = std::get_if<SgdOptions>(&options))
    return o->momentum > 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
  return {"exp_avg", "exp_avg_sq"};
}

namespace {

// What set_state takes: a snapshot of the optimizer's kind, with valid options, holding
// exactly the model's parameters (`slots`), each with exactly the buffers its options
// keep, of the parameter's size (`sizes`, by slot). A DataError names the first mismatch.
void check_snapshot(const OptimizerState& s, const char* kind, const std::map<std::string, std::size_t>& slots,
                    const std::vector<std::size_t>& sizes) {
  auto fail = [&](const std::string& what) { throw DataError(std::string("optimizer state (") + kind + "): " + what); };
  if (std::string(s.kind()) != kind) fail("kind '" + std::string(s.kind()) + "' does not match this optimizer");
  if (std::string p = options_problem(s.options); !p.empty()) fail(p);
  if (s.step < 0) fail("step must be non-negative, got " + std::to_string(s.step));
  const std::vector<std::string> buffers = state_buffers(s.options);
  auto keeps = [&](const std::string& b) { return std::find(buffers.begin(), buffers.end(), b) != buffers.end(); };
  for (const auto& [name, k] : slots) {
    const auto it = s.parameters.find(name);
    if (it == s.parameters.end()) fail("no state for parameter '" + name + "'");
    const ParameterState& p = it->second;
    for (const std::string& b : buffers) {
      const auto bt = p.buffers.find(b);
      if (bt == p.buffers.end()) fail("parameter '" + name + "' has no buffer '" + b + "'");
      if (bt->second.size() != sizes[k])
        fail("buffer '" + b + "' of parameter '" + name + "' has " + std::to_string(bt->second.size()) +
             " values, the parameter " + std::to_string(sizes[k]));
    }
    for (const auto& [b, values] : p.buffers)
      if (!keeps(b)) fail("parameter '" + name + "' has an unexpected buffer '" + b + "'");
    if (p.started && !keeps("momentum_buffer"))
      fail("parameter '" + name + "' is marked started, but these options keep no momentum buffer");
  }
  for (const auto& [name, p] : s.parameters)
    if (!slots.count(name)) fail("parameter '" + name + "' is not in the model");
}

template <class T>
void copy_buffer(const OptimizerState& s, const std::string& parameter, const std::string& buffer,
                 std::vector<T>& dst) {
  const std::vector<double>& src = s.parameters.at(parameter).buffers.at(buffer);
  for (std::size_t i = 0; i < src.size(); ++i) dst[i] = static_cast<T>(src[i]);
}

template <class T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

std::size_t find_slot(const std::map<std::string, std::size_t>& slots, const std::string& parameter, const char* who) {
  auto it = slots.find(parameter);
  if (it == slots.end()) throw GraphError(std::string(who) + ": no state for parameter '" + parameter + "'");
  return it->second;
}

}  // namespace

// ---- SGD ------------------------------------------------------------------------------

template <class T>
SGD<T>::SGD(const BasicModel<T>& model, SgdOptions options) : Optimizer<T>(options.lr), options_(options) {
  if (std::string p = problem(options); !p.empty()) throw UsageError("SGD: " + p);
  for (const auto& [name, p] : model.parameters) {
    slots_.emplace(name, sizes_.size());
    sizes_.push_back(p.size());
    velocity_.emplace_back(options.momentum > 0 ? p.size() : 0, T(0));
  }
  started_.assign(sizes_.size(), 0);
}

template <class T>
std::size_t SGD<T>::slot(const std::string& parameter) const {
  return find_slot(slots_, parameter, "SGD");
}

template <class T>
void SGD<T>::drop_state(const std::string& parameter) {
  const std::size_t k = find_slot(slots_, parameter, "SGD");
  std::vector<T>().swap(velocity_[k]);
  slots_.erase(parameter);
}

// torch.optim.sgd._single_tensor_sgd, dampening 0:
//   d_p = d_p.add(param, alpha=weight_decay)
//   buf = clone(d_p) on the first step, else buf.mul_(momentum).add_(d_p)
//   d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
//   param.add_(d_p, alpha=-lr)
namespace {
// SGD with momentum over n elements (the parameter, its velocity and gradient do not
// overlap; each loop vectorizes).
template <class T>
void momentum_step(T* __restrict w, T* __restrict v, const T* __restrict g, std::size_t n, T lr, T wd,
                   T mu, bool first, bool nesterov) {
  if (first && !nesterov) {
    for (std::size_t i = 0; i < n; ++i) {
      const T d = g[i] + wd * w[i];
      v[i] = d;
      w[i] -= lr * v[i];
    }
  } else if (!nesterov) {
    for (std::size_t i = 0; i < n; ++i) {
      const T d = g[i] + wd * w[i];
      v[i] = mu * v[i] + d;
      w[i] -= lr * v[i];
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const T d = g[i] + wd * w[i];
      v[i] = first ? d : mu * v[i] + d;
      w[i] -= lr * (d + mu * v[i]);
    }
  }
}
}  // namespace

template <class T>
void SGD<T>::update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) {
  const T lr = static_cast<T>(this->lr_), wd = static_cast<T>(options_.weight_decay),
          mu = static_cast<T>(options_.momentum);
  T* w = param.data;
  const T* g = grad.data;
  const std::size_t n = param.size();
  if (options_.momentum == 0) {
    on_kernel_path([=] {
      for (std::size_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
    });
    return;
  }
  T* v = velocity_[slot].data();
  const bool first = !started_[slot], nesterov = options_.nesterov;
  on_kernel_path([=] {
    parallel_chunks(threads_for_elements(static_cast<long>(n)), static_cast<long>(n), 1L << 14, [=](long b, long e) {
      momentum_step(w + b, v + b, g + b, static_cast<std::size_t>(e - b), lr, wd, mu, first, nesterov);
    });
  });
  started_[slot] = 1;
}

template <class T>
OptimizerState SGD<T>::state() const {
  OptimizerState s;
  SgdOptions o = options_;
  o.lr = this->lr_;
  s.options = o;
  s.step = this->step_;
  for (const auto& [name, k] : slots_) {
    ParameterState& p = s.parameters[name];
    p.started = started_[k] != 0;
    if (options_.momentum > 0) p.buffers.emplace("momentum_buffer", as_doubles(velocity_[k]));
  }
  return s;
}

template <class T>
void SGD<T>::set_state(const OptimizerState& state) {
  check_snapshot(state, kind(), slots_, sizes_);
  options_ = std::get<SgdOptions>(state.options);
  this->lr_ = options_.lr;
  this->step_ = state.step;
  const bool momentum = options_.momentum > 0;
  for (const auto& [name, k] : slots_) {
    velocity_[k].assign(momentum ? sizes_[k] : 0, T(0));
    if (momentum) copy_buffer(state, name, "momentum_buffer", velocity_[k]);
    started_[k] = state.parameters.at(name).started ? 1 : 0;
  }
}

// ---- Adam, AdamW ----------------------------------------------------------------------

template <class T>
Adam<T>::Adam(const BasicModel<T>& model, AdamOptions options) : Adam(model, options, false) {}

template <class T>
Adam<T>::Adam(const BasicModel<T>& model, AdamOptions options, bool decoupled)
    : Optimizer<T>(options.lr), options_(options), decoupled_(decoupled) {
  if (std::string p = problem(options); !p.empty()) throw UsageError(std::string(decoupled ? "AdamW: " : "Adam: ") + p);
  for (const auto& [name, p] : model.parameters) {
    slots_.emplace(name, exp_avg_.size());
    exp_avg_.emplace_back(p.size(), T(0));
    exp_avg_sq_.emplace_back(p.size(), T(0));
  }
}

template <class T>
AdamW<T>::AdamW(const BasicModel<T>& model, AdamWOptions o)
    : Adam<T>(model, AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay}, true) {}

template <class T>
std::size_t Adam<T>::slot(const std::string& parameter) const {
  return find_slot(slots_, parameter, decoupled_ ? "AdamW" : "Adam");
}

template <class T>
void Adam<T>::drop_state(const std::string& parameter) {
  const std::size_t k = find_slot(slots_, parameter, decoupled_ ? "AdamW" : "Adam");
  std::vector<T>().swap(exp_avg_[k]);
  std::vector<T>().swap(exp_avg_sq_[k]);
  slots_.erase(parameter);
}

template <class T>
void Adam<T>::begin_step() {
  Optimizer<T>::begin_step();
  const double t = static_cast<double>(this->step_);
  bias_correction1_ = 1 - std::pow(options_.beta1, t);
  bias_correction2_ = 1 - std::pow(options_.beta2, t);
}

// torch.optim.adam._single_tensor_adam (amsgrad off) and adamw's, line by line:
//   param.mul_(1 - lr * weight_decay)                         (AdamW)
//   grad = grad.add(param, alpha=weight_decay)                (Adam)
//   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
//   step_size = lr / bias_correction1
//   denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-step_size)
// The scalars are Python floats (double) rounded to T by the kernels; addcmul computes
// self + value * t1 * t2 and addcdiv self + value * t1 / t2, left to right.
template <class T>
void Adam<T>::update(std::size_t slot, const TensorRef<T>& param, const TensorRef<const T>& grad) {
  if (this->step_ < 1) throw UsageError(std::string(kind()) + ": update before begin_step");
  const double lr = this->lr_;
  const T decay = static_cast<T>(1 - lr * options_.weight_decay);
  const T wd = static_cast<T>(options_.weight_decay);
  const T beta1 = static_cast<T>(options_.beta1), one_minus_beta1 = static_cast<T>(1 - options_.beta1);
  const T beta2 = static_cast<T>(options_.beta2), one_minus_beta2 = static_cast<T>(1 - options_.beta2);
  const T neg_step_size = static_cast<T>(-(lr / bias_correction1_));
  const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2_));
  const T eps = static_cast<T>(options_.eps);
  const bool l2 = !decoupled_ && options_.weight_decay != 0;
  const bool decay_weights = decoupled_ && options_.weight_decay != 0;

  T* w = param.data;
  const T* g = grad.data;
  T* m = exp_avg_[slot].data();
  T* v = exp_avg_sq_[slot].data();
  const std::size_t n = param.size();
  on_kernel_path([=] {
    for (std::size_t i = 0; i < n; ++i) {
      if (decay_weights) w[i] = w[i] * decay;
      const T gi = l2 ? g[i] + wd * w[i] : g[i];
      m[i] = m[i] * beta1 + one_minus_beta1 * gi;
      v[i] = v[i] * beta2 + one_minus_beta2 * gi * gi;
      const T denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
      w[i] = w[i] + neg_step_size * m[i] / denom;
    }
  });
}

template <class T>
OptimizerState Adam<T>::state() const {
  OptimizerState s;
  AdamOptions o = options_;
  o.lr = this->lr_;
  if (decoupled_)
    s.options = AdamWOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay};
  else
    s.options = o;
  s.step = this->step_;
  for (const auto& [name, k] : slots_) {
    ParameterState& p = s.parameters[name];
    p.buffers.emplace("exp_avg", as_doubles(exp_avg_[k]));
    p.buffers.emplace("exp_avg_sq", as_doubles(exp_avg_sq_[k]));
  }
  return s;
}

template <class T>
void Adam<T>::set_state(const OptimizerState& state) {
  std::vector<std::size_t> sizes;
  for (const auto& m : exp_avg_) sizes.push_back(m.size());
  check_snapshot(state, kind(), slots_, sizes);
  options_ = decoupled_ ? as_adam(std::get<AdamWOptions>(state.options)) : std::get<AdamOptions>(state.options);
  this->lr_ = options_.lr;
  this->step_ = state.step;
  for (const auto& [name, k] : slots_) {
    copy_buffer(state, name, "exp_avg", exp_avg_[k]);
    copy_buffer(state, name, "exp_avg_sq", exp_avg_sq_[k]);
  }
  const double t = static_cast<double>(this->step_);
  bias_correction1_ = 1 - std::pow(options_.beta1, t);
  bias_correction2_ = 1 - std::pow(options_.beta2, t);
}

// A fresh optimizer of the kind with default options: set_state brings the snapshot's.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const BasicModel<T>& model, const OptimizerState& state,
                                             const std::vector<std::string>& frozen) {
  std::unique_ptr<Optimizer<T>> opt;
  if (std::holds_alternative<SgdOptions>(state.options))
    opt = std::make_unique<SGD<T>>(model, SgdOptions{});
  else if (std::holds_alternative<AdamOptions>(state.options))
    opt = std::make_unique<Adam<T>>(model, AdamOptions{});
  else
    opt = std::make_unique<AdamW<T>>(model, AdamWOptions{});
  opt->freeze(frozen);
  opt->set_state(state);
  return opt;
}

void check_clipping(const GradientClipping& c) {
  if (!(c.norm >= 0) || !std::isfinite(c.norm))
    throw UsageError("clip norm must be finite and >= 0, got " + num(c.norm));
  if (!(c.value >= 0) || !std::isfinite(c.value))
    throw UsageError("clip value must be finite and >= 0, got " + num(c.value));
}

template class SGD<float>;
template class SGD<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;
template std::unique_ptr<Optimizer<float>> make_optimizer(const BasicModel<float>&, const OptimizerState&,
                                                          const std::vector<std::string>&);
template std::unique_ptr<Optimizer<double>> make_optimizer(const BasicModel<double>&, const OptimizerState&,
                                                           const std::vector<std::string>&);

}  // namespace plangrad
