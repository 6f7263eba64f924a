/// \file
/// Named parameter initializers, each drawing from an explicit Rng.
#pragma once

#include <string>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace plangrad {

/// How a parameter or state value is initialized: a Kind (the functions in plangrad::init
/// make each) and its numbers.
struct Init {
  /// The initializers; the functions in plangrad::init say what each draws.
  enum class Kind { Zeros, Constant, GlorotUniform, TorchDefault, KaimingUniform, HeNormal };
  Kind kind = Kind::Zeros;  ///< which initializer
  double value = 0.0;  ///< Constant's value
  Dim fan_in = 0;      ///< overrides the fan-in derived from the shape (a bias's layer)
};

/// fan_in / fan_out of a shape: a dense weight [in, out]; a conv weight [F, C, KH, KW]
/// has fan_in C*KH*KW and fan_out F*KH*KW; a vector [n] has n for both.
Dim fan_in_of(const Shape& shape);
/// \copydoc fan_in_of
Dim fan_out_of(const Shape& shape);

/// The initializers by name, as GraphBuilder takes them.
namespace init {
/// All zeros.
inline Init zeros() { return {Init::Kind::Zeros, 0.0, 0}; }
/// Every value `v`.
inline Init constant(double v) { return {Init::Kind::Constant, v, 0}; }
/// U(±sqrt(6 / (fan_in + fan_out)))
inline Init glorot_uniform() { return {Init::Kind::GlorotUniform, 0.0, 0}; }
/// PyTorch's nn.Linear / nn.Conv2d default for weight and bias: U(±1/sqrt(fan_in)).
inline Init torch_default(Dim fan_in = 0) { return {Init::Kind::TorchDefault, 0.0, fan_in}; }
/// He / Kaiming for ReLU: U(±sqrt(6 / fan_in)) and N(0, 2 / fan_in).
inline Init kaiming_uniform() { return {Init::Kind::KaimingUniform, 0.0, 0}; }
/// \copydoc kaiming_uniform
inline Init he_normal() { return {Init::Kind::HeNormal, 0.0, 0}; }
}  // namespace init

/// The name parse_init reads back: "zeros", "constant:0.500000", "glorot_uniform", ...
std::string init_name(const Init& init);
/// Parses "zeros", "constant:0.5", "glorot_uniform", "torch_default", "kaiming_uniform",
/// "he_normal"; a UsageError for anything else.
Init parse_init(const std::string& text);

/// Fills data[numel(shape)] from rng.
template <class T>
void fill_init(const Init& init, const Shape& shape, T* data, Rng& rng);

}  // namespace plangrad
