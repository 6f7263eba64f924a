/// \file
/// The op registry's record. An op is data, not a class: a shape rule, a forward and a
/// backward kernel for float and double, and the facts the planner needs (which tensors
/// the backward reads, whether the output may overwrite the input, scratch sizes).
///
/// Adding an op: one file pair in ops/ that defines `const OpDef& my_op();` and one line in
/// ops/registry.cpp. Kernels are templates instantiated for float and double, set through
/// PLANGRAD_SET_KERNELS or dispatch_kernels (below), which compile them once more for each
/// kernel path (kernels/isa.hpp); the backward sits right beside its forward with its math
/// in a comment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "core/graph.hpp"
#include "core/random.hpp"
#include "core/tensor.hpp"
#include "core/visibility.hpp"
#include "kernels/isa.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// Train: batchnorm normalizes with batch statistics and updates running statistics.
/// Eval: batchnorm uses the running statistics.
enum class Mode { Train, Eval };

/// What a kernel sees of one node at one step. Every tensor is a view onto the plan's
/// arena (or onto parameter/state storage); nothing here allocates.
template <class T>
struct OpArgs {
  Span<const TensorRef<T>> in;   ///< forward inputs, in the op's declared order
  Span<const TensorRef<T>> out;  ///< forward outputs
  /// Backward only. d_out[k] is the gradient of out[k] (data == nullptr when that output
  /// has none). d_in[i] receives the gradient of in[i]; data == nullptr when input i needs
  /// no gradient, and then the kernel must skip it.
  Span<const TensorRef<T>> d_out;
  Span<const TensorRef<T>> d_in;  ///< backward only: the input gradients (see d_out)
  /// Backward only: accumulate[i] != 0 means add into d_in[i] (it already holds another
  /// consumer's contribution); 0 means overwrite it (its memory holds garbage).
  Span<const char> accumulate;
  T* workspace = nullptr;  ///< OpDef::workspace elements, live for this step only
  std::size_t workspace_size = 0;  ///< those elements' count (what the plan sized it to)
  T* saved = nullptr;      ///< OpDef::saved elements, written by forward, read by backward
  const Attrs* attrs = nullptr;  ///< normalized: every declared attribute present
  Mode mode = Mode::Train;       ///< the plan's mode
  /// The step's random stream (core/random.hpp), owned by the executor; nullptr reads as
  /// seed 0, step 0 (a kernel run outside a plan, as the op tests do).
  const StepRandom* random = nullptr;
  std::uint64_t stream = 0;  ///< this node's stream: stream_hash of its name

  /// counter_key of this node's stream at this step: draw element i as counter_bits(key, i).
  std::uint64_t random_key() const { return counter_key(random ? *random : StepRandom{}, stream); }

  /// accumulate[i] != 0: add into d_in[i] rather than overwrite it.
  bool accumulates(std::size_t i) const { return accumulate[i] != 0; }
};

/// A kernel: one node's forward or backward at one step, in scalar type T.
template <class T>
using KernelFn = void (*)(const OpArgs<T>&);

/// An op's forward and backward kernel in one scalar type.
template <class T>
struct Kernels {
  KernelFn<T> forward = nullptr;   ///< required
  KernelFn<T> backward = nullptr;  ///< nullptr: the op has no gradient rule
};

/// Output shapes from input shapes and (normalized) attributes. Throws ShapeError with a
/// message that names the offending shapes; infer_output_shapes (below) prefixes the node
/// and op.
using ShapeFn = std::vector<Shape> (*)(const std::vector<Shape>& in, const Attrs& attrs);
/// The result of a shape rule with one output. (`return {shape};` would copy the shape
/// out of an initializer list: a heap allocation per node more at planning time.)
inline std::vector<Shape> one_output(Shape shape) {
  std::vector<Shape> out;
  out.push_back(std::move(shape));
  return out;
}
/// Element counts of scratch memory, from input shapes and attributes.
using SizeFn = std::size_t (*)(const std::vector<Shape>& in, const Attrs& attrs);

/// The type of an attribute's value: an integer, a number, a string, a list of integers
/// (AttrValue's alternatives, in order).
enum class AttrType { Int, Float, String, Ints };

/// One attribute an op takes.
struct AttrSpec {
  std::string name;               ///< its key in Node::attrs
  AttrType type = AttrType::Int;  ///< the type its value must have
  bool required = false;          ///< whether a node must give it
  AttrValue default_value{std::int64_t{0}};  ///< used when !required and the node omits it
};

/// The op registry's record (see the file's description): everything the planner and the
/// executor know of an op.
struct OpDef {
  std::string name;                  ///< the op's name in graphs and model files
  std::vector<std::string> inputs;   ///< input roles, e.g. {"x", "w"}: the arity
  std::vector<std::string> outputs;  ///< output roles, e.g. {"y"}
  std::vector<AttrSpec> attrs;       ///< the attributes it takes
  ShapeFn shape = nullptr;           ///< its shape rule (required)

  /// Per input: whether a gradient flows to it (class-index labels: no).
  std::vector<bool> differentiable;
  /// Which forward tensors the backward kernel reads. Everything else may be freed (or
  /// overwritten in place) once the forward pass no longer needs it.
  std::vector<bool> backward_reads_in;
  std::vector<bool> backward_reads_out;  ///< per output, as backward_reads_in per input
  /// out[0] may share in[0]'s memory when the planner finds in[0] dead after this step
  /// (element-wise ops). The forward kernel must then work with in[0].data == out[0].data.
  bool inplace = false;
  /// d_in[0] may share d_out[0]'s memory when d_out[0] dies at this step and d_in[0] is
  /// overwritten, not accumulated. The backward kernel must then work with them aliased.
  bool backward_inplace = false;
  /// Does the forward write state inputs (batchnorm's running statistics in Train mode)?
  bool writes_state = false;
  /// The last input role may repeat (concat): a node gives inputs.size() inputs or more,
  /// the extra ones with the last role's differentiable and backward_reads_in flags.
  bool variadic = false;

  /// What is wrong with the n values a model file gives parameter or state input `input`
  /// ("" when nothing): values that parse but mean nothing to the op, such as a negative
  /// running variance. Loaders call it; nullptr accepts any finite data.
  using DataCheckFn = std::string (*)(std::size_t input, const float* data, std::size_t n);
  DataCheckFn check_data = nullptr;  ///< see DataCheckFn

  SizeFn workspace = nullptr;  ///< scratch for the forward and for the backward step
  SizeFn saved = nullptr;      ///< memory kept from forward to backward

  Kernels<float> f32;   ///< the float kernels (forward required)
  Kernels<double> f64;  ///< the double kernels (forward required)

  /// y = x + bias broadcast over rows: the op whose work OpDef::after_bias kernels fold
  /// into the activation after it. The fuse pass keys on this flag, so it names no op.
  bool bias_add = false;

  /// Bias and activation fused: kernels that run an add_bias and then this op on its
  /// output as one step, so the sum x + bias never goes to memory, with the same bits as
  /// the two steps. The forward reads add_bias's inputs {x, bias} and writes this op's
  /// output; the backward reads this op's output and its gradient and writes add_bias's
  /// input gradients {dx, dbias}, with add_bias's accumulate flags. Left empty by ops that
  /// have none; the planner decides where they run (planner/fuse.cpp).
  struct {
    Kernels<float> f32;
    Kernels<double> f64;
  } after_bias;

  /// ReLU and this op fused: kernels that run a relu and then this op on its output as one
  /// step, so relu's output never goes to memory, with the same bits as the two steps. The
  /// forward reads relu's input z and writes this op's output; the backward reads z and this
  /// op's output gradient and writes z's gradient, with relu's accumulate flag. Attributes
  /// are this op's. Left empty by ops that have none (max_pool2d has them: max commutes
  /// with relu); the planner decides where they run (planner/fuse.cpp).
  struct {
    Kernels<float> f32;
    Kernels<double> f64;
  } after_relu;

  /// This op, a relu on its output and a 2x2 stride-2 max_pool2d without padding on relu's
  /// output, fused: one step in which neither this op's output nor relu's goes to memory,
  /// nor their gradients, with the same bits as the three steps. The forward reads this
  /// op's inputs and writes the max-pool's output; the backward (if any) reads this op's
  /// inputs and the max-pool's output gradient and writes this op's input gradients, with
  /// this op's accumulate flags. Attributes and saved memory are this op's; the forward's
  /// workspace is sized by `workspace` (none when null). Left empty by ops that have none:
  /// batchnorm has both kernels, conv2d and conv2d_nobias a forward (inference plans); the
  /// planner decides where they run (planner/fuse.cpp).
  struct {
    Kernels<float> f32;
    Kernels<double> f64;
    SizeFn workspace = nullptr;
  } then_relu_pool;

  /// Whether a node may give this op n inputs (see variadic).
  bool takes(std::size_t n) const { return variadic ? n >= inputs.size() : n == inputs.size(); }
  /// The input count a node must give, as errors name it: "2", or "1 or more".
  std::string arity() const { return std::to_string(inputs.size()) + (variadic ? " or more" : ""); }
  /// differentiable[i]; for a variadic op's extra inputs, the last entry.
  bool differentiable_at(std::size_t i) const {
    return differentiable[i < differentiable.size() ? i : differentiable.size() - 1];
  }
  /// backward_reads_in[i]; for a variadic op's extra inputs, the last entry.
  bool backward_reads_in_at(std::size_t i) const {
    return backward_reads_in[i < backward_reads_in.size() ? i : backward_reads_in.size() - 1];
  }

  /// f32 or f64, by T.
  template <class T>
  const Kernels<T>& kernels() const;
  /// after_bias.f32 or after_bias.f64, by T.
  template <class T>
  const Kernels<T>& after_bias_kernels() const;
  /// after_relu.f32 or after_relu.f64, by T.
  template <class T>
  const Kernels<T>& after_relu_kernels() const;
  /// then_relu_pool.f32 or then_relu_pool.f64, by T.
  template <class T>
  const Kernels<T>& then_relu_pool_kernels() const;
};

/// f32.
template <>
inline const Kernels<float>& OpDef::kernels<float>() const { return f32; }
/// f64.
template <>
inline const Kernels<double>& OpDef::kernels<double>() const { return f64; }
/// after_bias.f32.
template <>
inline const Kernels<float>& OpDef::after_bias_kernels<float>() const { return after_bias.f32; }
/// after_bias.f64.
template <>
inline const Kernels<double>& OpDef::after_bias_kernels<double>() const { return after_bias.f64; }
/// after_relu.f32.
template <>
inline const Kernels<float>& OpDef::after_relu_kernels<float>() const { return after_relu.f32; }
/// after_relu.f64.
template <>
inline const Kernels<double>& OpDef::after_relu_kernels<double>() const { return after_relu.f64; }
/// then_relu_pool.f32.
template <>
inline const Kernels<float>& OpDef::then_relu_pool_kernels<float>() const { return then_relu_pool.f32; }
/// then_relu_pool.f64.
template <>
inline const Kernels<double>& OpDef::then_relu_pool_kernels<double>() const { return then_relu_pool.f64; }

/// A kernel compiled for each path: F itself on the generic path, and wrappers that inline
/// F's whole body (flatten), compiled for the AVX2 and the AVX-512 target, on the others.
/// What F reaches only through a function pointer (a thread pool's parts) is not inlined
/// and runs baseline code: slower, never different bits, since nothing is contracted into
/// an FMA (-ffp-contract=off) and vectorizing an element-wise loop changes no rounding.
namespace kernel_paths {
#if PLANGRAD_KERNEL_DISPATCH
template <class T, KernelFn<T> F>
[[gnu::target(PLANGRAD_TARGET_AVX2), gnu::flatten]] void avx2(const OpArgs<T>& a) {
  F(a);
}
template <class T, KernelFn<T> F>
[[gnu::target(PLANGRAD_TARGET_AVX512), gnu::flatten]] void avx512(const OpArgs<T>& a) {
  F(a);
}
#endif
}  // namespace kernel_paths

/// F as compiled for `isa` (nullptr stays nullptr).
template <class T, KernelFn<T> F>
KernelFn<T> kernel_for(Isa isa) {
  if constexpr (F == nullptr) {
    return nullptr;
  } else {
#if PLANGRAD_KERNEL_DISPATCH
    if (isa == Isa::avx512) return &kernel_paths::avx512<T, F>;
    if (isa == Isa::avx2) return &kernel_paths::avx2<T, F>;
#else
    (void)isa;
#endif
    return F;
  }
}

/// A forward and backward kernel as compiled for the process's path (kernel_isa()), as an
/// OpDef holds them: d.f32 = dispatch_kernels<float, &fwd<float>, &bwd<float>>().
template <class T, KernelFn<T> Fwd, KernelFn<T> Bwd>
Kernels<T> dispatch_kernels() {
  const Isa isa = kernel_isa();
  return Kernels<T>{kernel_for<T, Fwd>(isa), kernel_for<T, Bwd>(isa)};
}

/// Fills OpDef::f32 and OpDef::f64 from a pair of kernel templates, as ops/matmul.cpp does:
///   PLANGRAD_SET_KERNELS(d, matmul_forward, matmul_backward);
#define PLANGRAD_SET_KERNELS(def, fwd, bwd)                                                  \
  do {                                                                                       \
    (def).f32 = ::plangrad::dispatch_kernels<float, &fwd<float>, &bwd<float>>();             \
    (def).f64 = ::plangrad::dispatch_kernels<double, &fwd<double>, &bwd<double>>();          \
  } while (0)

/// A ShapeError naming `what` ("matmul 'fc1' output 'y'", "input 'x'") when `shape` has a
/// negative dimension or more elements than limits().tensor_elements (core/limits.hpp). Every
/// tensor a plan holds passes here: op outputs in infer_output_shapes, declared values when
/// their batch is bound.
void check_tensor_size(const Shape& shape, const std::string& what);

/// A symbolic batch (kBatchDim) reaches no shape rule: shapes are inferred with the batch
/// bound to each of two nominal sizes, and a dimension that differs between the two results
/// depends on the batch. The builder does this node by node as a graph is declared;
/// planner/passes.hpp's symbolic_shapes does it for a whole graph.
inline constexpr Dim kNominalBatches[2] = {2, 3};
/// `shape` with every kBatchDim replaced by `batch`.
Shape bind_batch(Shape shape, Dim batch);
/// The shape inferred at kNominalBatches[0] with kBatchDim wherever the one inferred at
/// kNominalBatches[1] differs (or is shorter).
Shape mark_batch_dims(const Shape& at_first, const Shape& at_second);

/// The registry. find_op throws GraphError("unknown op 'x'"); lookup_op returns nullptr.
const OpDef& find_op(std::string_view name);
/// \copydoc find_op
const OpDef* lookup_op(std::string_view name);
/// Every registered op: the built-in ones, then those register_op added.
std::vector<const OpDef*> all_ops();
/// Adds a user-defined op at run time (a GraphError if the name is taken, or the record
/// lacks a name, a shape rule or forward kernels, or its per-input and per-output flags do
/// not match its arity).
void register_op(OpDef def);

/// The node's attributes checked against the op's schema, with defaults filled in. An
/// unknown, missing or ill-typed attribute is a GraphError naming the node and attribute.
Attrs normalize_attrs(const OpDef& op, const std::string& node, const Attrs& attrs);

/// op.shape with the node's name and op prefixed to any ShapeError, and the result checked
/// (one shape per declared output, no negative dimension):
/// `"matmul 'fc2': inner dimensions 25 and 30 differ (a [100, 25], b [30, 2])"`
std::vector<Shape> infer_output_shapes(const OpDef& op, const std::string& node,
                                       const std::vector<Shape>& in, const Attrs& attrs);

}  // namespace plangrad
PLANGRAD_PUBLIC_END
