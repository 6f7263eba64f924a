#include "engine/executor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <type_traits>
#include <cstring>
#include <optional>
#include <utility>

#include "core/activity.hpp"
#include "core/checked.hpp"
#include "core/errors.hpp"
#include "core/limits.hpp"

namespace plangrad {

// Everything a run touches, made once: the arena, one view per tensor, and per step the
// kernel and its argument block.
template <class T>
struct Executor<T>::Bound {
  struct FreeArena {
    void operator()(void* p) const { std::free(p); }
  };
  struct StepExec {
    StepKind kind = StepKind::Forward;
    KernelFn<T> kernel = nullptr;
    std::vector<TensorRef<T>> in, out, d_out, d_in;
    std::vector<char> accumulate;
    OpArgs<T> args;
    TensorRef<T> target;               // Fill / Update
    TensorRef<const T> grad;           // Update
    TensorRef<T> grad_rw;              // Update: the same gradient, for clipping in place
    T fill_value = T(0);
    std::size_t optimizer_slot = 0;    // Update
    std::string parameter;             // Update
  };

  std::unique_ptr<void, FreeArena> arena;
  std::vector<TensorRef<T>> tensors;
  std::vector<StepExec> steps;
  std::vector<std::size_t> updates;  // the Update steps, in order (an UpdateSink's k)
  bool has_updates = false;
  bool updates_last = false;  // every Update step after every Backward step
};

namespace {
template <class T>
TensorRef<const T> as_const(const TensorRef<T>& t) {
  return {t.data, t.shape};
}
}  // namespace

template <class T>
Executor<T>::Executor(BasicModel<T>& model, Plan plan, Optimizer<T>* optimizer)
    : model_(model), plan_(std::move(plan)), optimizer_(optimizer), bound_(std::make_unique<Bound>()) {
  if (plan_.elem_bytes != sizeof(T))
    throw UsageError("the plan was made for " + std::to_string(plan_.elem_bytes) +
                     "-byte scalars; this executor runs " + std::to_string(sizeof(T)) + "-byte ones");
  Bound& b = *bound_;
  const Activity activity("allocating a " + std::to_string(plan_.arena_bytes) + "-byte arena");
  // A plan made in this process was checked against the limit; one built by hand was not.
  if (plan_.arena_bytes > limits().arena_bytes)
    throw ShapeError("a plan's arena of " + std::to_string(plan_.arena_bytes) + " bytes is more than " +
                     limit_hint("arena-bytes", limits().arena_bytes));
  if (plan_.arena_bytes > 0) {
    const std::size_t bytes = add_sizes(plan_.arena_bytes, 63) / 64 * 64;
    b.arena.reset(std::aligned_alloc(64, bytes));
    if (!b.arena) throw std::bad_alloc();
    std::memset(b.arena.get(), 0, bytes);  // touch every page now, not in the first step
  }
  auto* base = static_cast<unsigned char*>(b.arena.get());

  const Schedule& s = plan_.schedule;
  b.tensors.resize(s.tensors.size());
  for (std::size_t t = 0; t < s.tensors.size(); ++t) {
    const TensorInfo& info = s.tensors[t];
    TensorRef<T>& ref = b.tensors[t];
    ref.shape = info.shape;
    if (!info.external()) {  // in the arena, unless fuse merged away every step touching it
      const std::optional<std::size_t>& offset = plan_.offset[t];
      ref.data = offset ? reinterpret_cast<T*>(base + *offset) : nullptr;
      continue;
    }
    auto& store = info.role == TensorRole::Parameter ? model_.parameters : model_.state;
    auto it = store.find(info.name);
    if (it == store.end())
      throw GraphError(std::string("model has no data for ") + role_name(info.role) + " '" + info.name + "'");
    if (it->second.shape() != info.shape)
      throw ShapeError(std::string(role_name(info.role)) + " '" + info.name + "' is " +
                       shape_str(it->second.shape()) +
                       " but the plan expects " + shape_str(info.shape));
    ref.data = it->second.data();
  }

  auto view = [&](int t) { return t < 0 ? TensorRef<T>{} : b.tensors[static_cast<std::size_t>(t)]; };
  auto views = [&](const std::vector<int>& ids) {
    std::vector<TensorRef<T>> out;
    for (int t : ids) out.push_back(view(t));
    return out;
  };
  b.steps.resize(s.steps.size());
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const Step& step = s.steps[i];
    auto& e = b.steps[i];
    e.kind = step.kind;
    switch (step.kind) {
      case StepKind::Forward:
      case StepKind::Backward: {
        // A fused step runs the node's kernels with the add_bias or relu before it folded in,
        // or with the relu and max-pool after it.
        const NodeInfo& node = plan_.graph.nodes[static_cast<std::size_t>(step.node)];
        const Kernels<T>& k = step.fused < 0                            ? node.op->kernels<T>()
                              : relu_fused(plan_.graph, step)      ? node.op->after_relu_kernels<T>()
                              : relu_pool_fused(plan_.graph, step) ? node.op->then_relu_pool_kernels<T>()
                                                                   : node.op->after_bias_kernels<T>();
        e.kernel = step.kind == StepKind::Forward ? k.forward : k.backward;
        if (!e.kernel)
          throw GraphError("op '" + node.op->name + "' has no " +
                           (step.kind == StepKind::Forward ? "forward" : "backward") + " kernel for this scalar type");
        e.in = views(step.in);
        e.out = views(step.out);
        e.d_out = views(step.d_out);
        e.d_in = views(step.d_in);
        e.accumulate = step.accumulate;
        e.args.in = make_span(std::as_const(e.in));
        e.args.out = make_span(std::as_const(e.out));
        e.args.d_out = make_span(std::as_const(e.d_out));
        e.args.d_in = make_span(std::as_const(e.d_in));
        e.args.accumulate = make_span(std::as_const(e.accumulate));
        e.args.workspace = view(step.workspace).data;
        e.args.workspace_size = step.workspace < 0 ? 0 : view(step.workspace).size();
        e.args.saved = view(step.saved).data;
        e.args.attrs = &node.attrs;
        e.args.mode = plan_.mode;
        e.args.random = &random_;
        e.args.stream = stream_hash(node.name.data(), node.name.size());
        break;
      }
      case StepKind::Fill:
        e.target = view(step.target);
        e.fill_value = static_cast<T>(step.fill_value);
        break;
      case StepKind::Update:
        e.target = view(step.target);
        e.grad = as_const(view(step.grad));
        e.grad_rw = view(step.grad);
        e.parameter = s.tensors[static_cast<std::size_t>(step.target)].name;
        b.has_updates = true;
        b.updates.push_back(i);
        break;
    }
  }
  b.updates_last = true;
  bool seen_update = false;
  for (const Step& step : s.steps) {
    seen_update = seen_update || step.kind == StepKind::Update;
    if (seen_update && step.kind == StepKind::Backward) b.updates_last = false;
  }
  set_optimizer(optimizer);
}

template <class T>
Executor<T>::~Executor() = default;

template <class T>
void Executor<T>::set_loss_seed(T seed) {
  for (auto& e : bound_->steps)
    if (e.kind == StepKind::Fill) e.fill_value = seed;
}

template <class T>
void Executor<T>::set_optimizer(Optimizer<T>* optimizer) {
  optimizer_ = optimizer;
  if (!optimizer_) return;
  for (auto& e : bound_->steps)
    if (e.kind == StepKind::Update) e.optimizer_slot = optimizer_->slot(e.parameter);
}

namespace {
std::size_t input_tensor(const Plan& plan, const std::string& name) {
  const int t = plan.tensor_of_value(name);
  if (t < 0 || plan.schedule.tensors[static_cast<std::size_t>(t)].role != TensorRole::Input)
    throw GraphError("'" + name + "' is not an input of this plan");
  return static_cast<std::size_t>(t);
}
}  // namespace

template <class T>
TensorRef<T> Executor<T>::input(const std::string& name) {
  return bound_->tensors[input_tensor(plan_, name)];
}

// By reference: a TensorRef copy copies its shape, a heap allocation on every step.
template <class T>
void Executor<T>::set_input(const std::string& name, const T* data, std::size_t n) {
  const TensorRef<T>& dst = bound_->tensors[input_tensor(plan_, name)];
  if (n != dst.size())
    throw DataError("input '" + name + "' takes " + std::to_string(dst.size()) + " values " +
                    shape_str(dst.shape) + ", got " + std::to_string(n));
  std::copy(data, data + n, dst.data);
}

namespace {

template <class T>
T clamp_grad(T g, T bound) {
  return g < -bound ? -bound : (g > bound ? bound : g);
}

// torch.nn.utils.clip_grad_norm_'s factor for the gradients `each` visits (each(f) calls
// f(data, n) once per gradient), after clipping by value, their squares summed in double:
// max_norm / (total + 1e-6) when that is below 1, else 1 (and 1 for a NaN total: the loss
// check reports the divergence).
template <class T, class Each>
double norm_clip_factor(const Each& each, const GradientClipping& c) {
  double sum = 0;
  each([&](const T* g, std::size_t n) {
    if (c.value > 0) {
      const T bound = static_cast<T>(c.value);
      for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(clamp_grad(g[i], bound));
        sum += v * v;
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * static_cast<double>(g[i]);
    }
  });
  const double factor = c.norm / (std::sqrt(sum) + 1e-6);
  return factor < 1 ? factor : 1;
}

// One gradient clipped in place: by value, then scaled by the norm's factor.
template <class T>
void clip_in_place(T* g, std::size_t n, const GradientClipping& c, T scale) {
  if (c.value > 0)
    for (std::size_t i = 0; i < n; ++i) g[i] = clamp_grad(g[i], static_cast<T>(c.value));
  if (scale != T(1))
    for (std::size_t i = 0; i < n; ++i) g[i] *= scale;
}

}  // namespace

template <class T>
void Executor<T>::run() {
  Bound& b = *bound_;
  GradientClipping clip;
  if (b.has_updates) {
    if (!optimizer_) throw UsageError("a training plan needs an optimizer");
    clip = optimizer_->clipping();
    if (clip.norm > 0 && !b.updates_last && !sink_)
      throw UsageError("clipping by the global gradient norm needs a plan with updates_last (PlanRequest)");
    optimizer_->begin_step();
  }
  bool clip_ready = false;
  T scale = T(1);
  std::size_t k = 0;
  for (auto& e : b.steps) {
    switch (e.kind) {
      case StepKind::Forward:
      case StepKind::Backward: e.kernel(e.args); break;
      case StepKind::Fill: std::fill(e.target.begin(), e.target.end(), e.fill_value); break;
      case StepKind::Update:
        if (sink_) {
          sink_->gradient_ready(k++, e.grad);
          break;
        }
        if (clip.norm > 0 && !clip_ready) {
          scale = static_cast<T>(norm_clip_factor<T>(
              [&](const auto& f) {
                for (const auto& u : b.steps)
                  if (u.kind == StepKind::Update) f(u.grad.data, u.grad.size());
              },
              clip));
          clip_ready = true;
        }
        if (clip.value > 0 || scale != T(1)) clip_in_place(e.grad_rw.data, e.grad_rw.size(), clip, scale);
        optimizer_->update(e.optimizer_slot, e.target, e.grad);
        break;
    }
  }
  // A parameter is read by no step after its update's place (its gradient is complete
  // there), so making the updates at the end changes no value a step computes. Clipping
  // applies to the ranks' summed gradient, in the sink's own buffers.
  if (sink_) {
    if (clip.norm > 0)
      scale = static_cast<T>(norm_clip_factor<T>(
          [&](const auto& f) {
            for (std::size_t u = 0; u < b.updates.size(); ++u) f(sink_->reduced(u).data, sink_->reduced(u).size());
          },
          clip));
    for (std::size_t u = 0; u < b.updates.size(); ++u) {
      const auto& e = b.steps[b.updates[u]];
      const TensorRef<const T>& g = sink_->reduced(u);
      if (clip.value > 0 || scale != T(1)) clip_in_place(const_cast<T*>(g.data), g.size(), clip, scale);
      optimizer_->update(e.optimizer_slot, e.target, g);
    }
  }
  if (plan_.mode == Mode::Train) ++random_.step;
}

template <class T>
TensorRef<const T> Executor<T>::value(const std::string& name) const {
  const int t = plan_.tensor_of_value(name);
  if (t < 0) throw GraphError("value '" + name + "' is not computed by this plan");
  const TensorInfo& info = plan_.schedule.tensors[static_cast<std::size_t>(t)];
  if (!info.external() && info.role != TensorRole::Input && !plan_.kept(t))
    throw GraphError("value '" + name + "' is not kept by this plan (request it as an output)");
  return as_const(bound_->tensors[static_cast<std::size_t>(t)]);
}

template <class T>
TensorRef<const T> Executor<T>::grad(const std::string& name) const {
  const int t = plan_.tensor_of_grad(name);
  if (t < 0 || !plan_.kept(t))
    throw GraphError("the gradient of '" + name + "' is not kept by this plan (use a gradients plan)");
  return as_const(bound_->tensors[static_cast<std::size_t>(t)]);
}

template <class T>
T Executor<T>::loss() const {
  if (plan_.schedule.loss < 0) throw GraphError("this plan has no loss");
  return bound_->tensors[static_cast<std::size_t>(plan_.schedule.loss)][0];
}

template class Executor<float>;
template class Executor<double>;

}  // namespace plangrad
