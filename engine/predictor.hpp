/// \file
/// Predictor: a model's predictions for any number of examples, from any number of threads.
/// \code
///   Predictor p(model);                                   // or serialization's load_predictor(path)
///   std::vector<float> logits = p.predict(x);             // x: n examples, n * p.input_size() floats
///   std::vector<float> probs = p.probabilities(x);        // softmax over C >= 2 logits, sigmoid for one
///   std::vector<std::size_t> cls = p.classes(x);          // engine/evaluate.hpp's predicted_class
/// \endcode
/// It runs Eval-mode inference plans (batchnorm uses its running statistics), one per batch
/// size a call has asked for, each made at the first call of its size. Executors are pooled
/// per batch size: a call takes an idle one of its size (its own arena) or makes one, and
/// gives it back when it returns. So concurrent calls on one Predictor are safe and never
/// share an arena, and once each batch size has as many executors as calls of that size
/// run at once, a call allocates nothing on the heap. Plans and executors are kept for the
/// Predictor's life: a service that sees arbitrary batch sizes should bucket them (pad to a
/// few sizes), or it keeps a plan per size.
///
/// The model is only read: an Eval-mode inference plan has no update steps, and in Eval
/// mode no kernel writes a parameter or state (batchnorm reads its running statistics). So
/// the Predictor takes a const Model, its calls are const, and several Predictors (one per
/// thread, say) may share one model.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "engine/predictor_roles.hpp"

namespace plangrad {

/// A model's predictions, from any number of threads (see the file's description).
class Predictor {
 public:
  /// Views `model`, which must outlive the Predictor. Executors view the model's parameters
  /// and state where they are: values changed between calls (training it on) are seen by
  /// the next call; storage replaced or reshaped is not, and must not happen while the
  /// Predictor lives; nothing may change the model during a call.
  ///
  /// Both constructors find the input and the output with predictor_roles
  /// (engine/predictor_roles.hpp), whose UsageErrors name the candidates when there is not
  /// exactly one.
  explicit Predictor(const Model& model, PredictorOptions options = {});
  /// Shares ownership of the model: it lives as long as its last owner. The input and the
  /// output are found as by the other constructor.
  explicit Predictor(std::shared_ptr<const Model> model, PredictorOptions options = {});

  ~Predictor();
  /// Not while a call runs; a moved-from Predictor may only be destroyed or assigned to.
  Predictor(Predictor&&) noexcept;
  /// \copydoc Predictor(Predictor&&)
  Predictor& operator=(Predictor&&) noexcept;
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  /// The model it predicts with.
  const Model& model() const;
  const std::string& input() const;   ///< the input's name
  const std::string& output() const;  ///< the output's name
  std::size_t input_size() const;     ///< floats per example: the input's dimensions after N
  std::size_t output_size() const;    ///< floats per example of the output
  /// The output's columns when it is [N, C] (C logits, or one); 0 for any other rank, which
  /// probabilities() and classes() refuse.
  std::size_t columns() const;

  /// The output for n examples: `input` holds n * input_size() floats, `out` receives
  /// n * output_size(). n == 0 does nothing. The same bits as an Executor running an
  /// Eval-mode inference plan of the model's graph at batch n.
  void predict(const float* input, std::size_t n, float* out) const;
  /// The same, returned as a vector of n * output_size() floats.
  std::vector<float> predict(const float* input, std::size_t n) const;
  /// n = input.size() / input_size(); a UsageError when that does not divide.
  std::vector<float> predict(const std::vector<float>& input) const;

  /// Probabilities for an [N, C] output, n * C floats: softmax over the C logits of each
  /// example (C >= 2), or for one logit (C = 1) its sigmoid, the probability of class 1.
  /// Computed by the graph's own ops: the model's graph with a softmax (or sigmoid) node
  /// after the output, planned like predict's.
  void probabilities(const float* input, std::size_t n, float* out) const;
  /// The same for input.size() / input_size() examples, returned as a vector.
  std::vector<float> probabilities(const std::vector<float>& input) const;

  /// The predicted class of each example (engine/evaluate.hpp: predicted_class, the one
  /// definition: the first largest logit; for one logit, 1 when it is positive).
  void classes(const float* input, std::size_t n, std::size_t* out) const;
  /// The same for input.size() / input_size() examples, returned as a vector.
  std::vector<std::size_t> classes(const std::vector<float>& input) const;

  /// Makes, ahead of the calls, the plans and `executors` executors for batch size n (for
  /// predict and classes, and with `probabilities` for probabilities), so that the first
  /// calls of that size allocate nothing either.
  void warm_up(std::size_t n, std::size_t executors = 1, bool probabilities = false) const;
  /// Executors made so far for batch size n (predict's and classes', or probabilities').
  std::size_t executors(std::size_t n, bool probabilities = false) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace plangrad
