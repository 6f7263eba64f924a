#include "core/init.hpp"

#include <cmath>

#include "core/errors.hpp"

namespace plangrad {

Dim fan_in_of(const Shape& shape) {
  if (shape.size() == 2) return shape[0];
  if (shape.size() == 4) return shape[1] * shape[2] * shape[3];
  return shape.empty() ? 1 : shape[0];
}

Dim fan_out_of(const Shape& shape) {
  if (shape.size() == 2) return shape[1];
  if (shape.size() == 4) return shape[0] * shape[2] * shape[3];
  return shape.empty() ? 1 : shape[0];
}

std::string init_name(const Init& init) {
  switch (init.kind) {
    case Init::Kind::Zeros: return "zeros";
    case Init::Kind::Constant: return "constant:" + std::to_string(init.value);
    case Init::Kind::GlorotUniform: return "glorot_uniform";
    case Init::Kind::TorchDefault: return "torch_default";
    case Init::Kind::KaimingUniform: return "kaiming_uniform";
    case Init::Kind::HeNormal: return "he_normal";
  }
  return "?";
}

Init parse_init(const std::string& text) {
  if (text == "zeros") return init::zeros();
  if (text == "glorot_uniform") return init::glorot_uniform();
  if (text == "torch_default") return init::torch_default();
  if (text == "kaiming_uniform") return init::kaiming_uniform();
  if (text == "he_normal") return init::he_normal();
  if (text.rfind("constant:", 0) == 0) {
    try {
      std::size_t used = 0;
      const double v = std::stod(text.substr(9), &used);
      if (used == text.size() - 9 && std::isfinite(v)) return init::constant(v);
    } catch (const std::exception&) {
    }
  }
  throw UsageError("unknown initializer '" + text +
                   "' (expected zeros, constant:V, glorot_uniform, torch_default, "
                   "kaiming_uniform or he_normal)");
}

template <class T>
void fill_init(const Init& init, const Shape& shape, T* data, Rng& rng) {
  const std::size_t n = numel(shape);
  const double fan_in = static_cast<double>(init.fan_in > 0 ? init.fan_in : fan_in_of(shape));
  const double fan_out = static_cast<double>(fan_out_of(shape));
  auto uniform = [&](double bound) {
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(rng.uniform(-bound, bound));
  };
  switch (init.kind) {
    case Init::Kind::Zeros:
      for (std::size_t i = 0; i < n; ++i) data[i] = T(0);
      break;
    case Init::Kind::Constant:
      for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(init.value);
      break;
    case Init::Kind::GlorotUniform: uniform(std::sqrt(6.0 / (fan_in + fan_out))); break;
    case Init::Kind::TorchDefault: uniform(1.0 / std::sqrt(fan_in)); break;
    case Init::Kind::KaimingUniform: uniform(std::sqrt(6.0 / fan_in)); break;
    case Init::Kind::HeNormal: {
      const double sd = std::sqrt(2.0 / fan_in);
      for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(sd * rng.normal());
      break;
    }
  }
}

template void fill_init<float>(const Init&, const Shape&, float*, Rng&);
template void fill_init<double>(const Init&, const Shape&, double*, Rng&);

}  // namespace plangrad
