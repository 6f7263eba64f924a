#include "engine/predictor.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "core/checked.hpp"
#include "core/errors.hpp"
#include "engine/evaluate.hpp"
#include "engine/executor.hpp"
#include "planner/plan.hpp"

namespace plangrad {
namespace {

// What a plan computes: the model's output, or the probabilities node added after it.
enum class Head { Output, Probabilities };

}  // namespace

struct Predictor::State {
  // One executor at one batch size, with its input and output buffers found once (a
  // TensorRef copy copies its shape: a heap allocation a warm call must not make).
  struct Runner {
    std::unique_ptr<Executor<float>> exec;
    float* in = nullptr;
    const float* out = nullptr;
  };

  // The plan of one head at one batch size and its idle executors. `idle` has room for
  // every executor made for it (reserved as each is made), so giving one back, in a
  // destructor, neither allocates nor throws.
  struct Pool {
    std::shared_ptr<const Plan> plan;
    std::vector<std::unique_ptr<Runner>> idle;
    std::size_t made = 0;
  };

  // Keeps a shared model alive; owns nothing when the caller keeps the model.
  std::shared_ptr<const Model> owner;
  const Model* model = nullptr;
  PredictorRoles roles;
  // The model's graph with a softmax (C >= 2) or sigmoid (C = 1) node after the output:
  // what probabilities() plans. Empty when the output is not [N, C].
  Graph probability_graph;
  std::string probability_value;

  mutable std::mutex mutex;  // guards pools (the map and every Pool in it)
  mutable std::map<std::pair<Head, std::size_t>, Pool> pools;

  const Graph& graph(Head head) const { return head == Head::Output ? model->graph : probability_graph; }
  const std::string& value(Head head) const { return head == Head::Output ? roles.output : probability_value; }

  // An executor for a call: an idle one from the pool, else a new one (and the plan, at
  // the first call of the size). The Lease gives it back.
  class Lease;
  Lease lease(Head head, std::size_t n) const;
  // A new executor at batch n, counted in its pool (made with the plan, at the first of its
  // size), and that pool; the caller gives it back to pool.idle.
  std::pair<std::unique_ptr<Runner>, Pool*> make_runner(Head head, std::size_t n) const;
  std::size_t executors(Head head, std::size_t n) const {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = pools.find({head, n});
    return it == pools.end() ? 0 : it->second.made;
  }
};

class Predictor::State::Lease {
 public:
  Lease(const State& state, Pool& pool, std::unique_ptr<Runner> runner)
      : state_(state), pool_(pool), runner_(std::move(runner)) {}
  ~Lease() {
    std::lock_guard<std::mutex> lock(state_.mutex);
    pool_.idle.push_back(std::move(runner_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Runner& operator*() const { return *runner_; }
  Runner* operator->() const { return runner_.get(); }

 private:
  const State& state_;
  Pool& pool_;
  std::unique_ptr<Runner> runner_;
};

Predictor::State::Lease Predictor::State::lease(Head head, std::size_t n) const {
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = pools.find({head, n});
    if (it != pools.end() && !it->second.idle.empty()) {
      Pool& pool = it->second;
      std::unique_ptr<Runner> runner = std::move(pool.idle.back());
      pool.idle.pop_back();
      return Lease(*this, pool, std::move(runner));
    }
  }
  auto [runner, pool] = make_runner(head, n);
  return Lease(*this, *pool, std::move(runner));
}

auto Predictor::State::make_runner(Head head, std::size_t n) const -> std::pair<std::unique_ptr<Runner>, Pool*> {
  const std::pair<Head, std::size_t> key{head, n};
  std::shared_ptr<const Plan> plan;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = pools.find(key);
    if (it != pools.end()) plan = it->second.plan;
  }
  // Planning and allocating an arena take a while: other calls go on meanwhile. Two first
  // calls of one size may both plan it; one plan is kept.
  if (!plan) {
    PlanRequest request;
    request.kind = PlanKind::Inference;  // and so Eval mode
    request.outputs = {value(head)};
    request.batch = static_cast<std::int64_t>(n);
    plan = std::make_shared<const Plan>(make_plan(graph(head), request));
  }
  auto runner = std::make_unique<Runner>();
  // An Eval-mode inference plan never writes the model (predictor.hpp), so the executor,
  // which takes a model it may train, is given the const one.
  runner->exec = std::make_unique<Executor<float>>(const_cast<Model&>(*model), Plan(*plan));
  runner->in = runner->exec->input(roles.input).data;
  runner->out = runner->exec->value(value(head)).data;
  std::lock_guard<std::mutex> lock(mutex);
  Pool& pool = pools[key];
  if (!pool.plan) pool.plan = plan;
  pool.idle.reserve(pool.made + 1);
  ++pool.made;
  return {std::move(runner), &pool};
}

Predictor::Predictor(const Model& model, PredictorOptions options)
    : Predictor(std::shared_ptr<const Model>(std::shared_ptr<const Model>(), &model), std::move(options)) {}

Predictor::Predictor(std::shared_ptr<const Model> model, PredictorOptions options) : state_(std::make_unique<State>()) {
  if (!model) throw UsageError("Predictor: no model");
  State& s = *state_;
  s.model = model.get();
  s.owner = std::move(model);
  s.roles = predictor_roles(s.model->graph, options);
  if (s.roles.columns > 0) s.probability_graph = with_probabilities(s.model->graph, s.roles, &s.probability_value);
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;

const Model& Predictor::model() const { return *state_->model; }
const std::string& Predictor::input() const { return state_->roles.input; }
const std::string& Predictor::output() const { return state_->roles.output; }
std::size_t Predictor::input_size() const { return state_->roles.input_size; }
std::size_t Predictor::output_size() const { return state_->roles.output_size; }
std::size_t Predictor::columns() const { return state_->roles.columns; }

namespace {

void check_pointers(const float* input, const void* out, std::size_t n, const char* call) {
  if (n > 0 && (!input || !out))
    throw UsageError(std::string("Predictor::") + call + ": a null input or output for " + std::to_string(n) +
                     " examples");
}

}  // namespace

void Predictor::predict(const float* input, std::size_t n, float* out) const {
  check_pointers(input, out, n, "predict");
  if (n == 0) return;
  const State& s = *state_;
  const State::Lease r = s.lease(Head::Output, n);
  std::copy_n(input, n * s.roles.input_size, r->in);
  r->exec->run();
  std::copy_n(r->out, n * s.roles.output_size, out);
}

std::vector<float> Predictor::predict(const float* input, std::size_t n) const {
  std::vector<float> out(mul_sizes(n, state_->roles.output_size));
  predict(input, n, out.data());
  return out;
}

namespace {

// The examples in `input`: a UsageError unless its size is a multiple of an example's.
std::size_t examples_in(const std::vector<float>& input, std::size_t input_size, const std::string& name,
                        const char* call) {
  if (input.size() % input_size != 0)
    throw UsageError(std::string("Predictor::") + call + ": " + std::to_string(input.size()) +
                     " floats are not whole examples of the input '" + name + "' (" + std::to_string(input_size) +
                     " floats each)");
  return input.size() / input_size;
}

}  // namespace

std::vector<float> Predictor::predict(const std::vector<float>& input) const {
  return predict(input.data(), examples_in(input, state_->roles.input_size, state_->roles.input, "predict"));
}

namespace {

void require_columns(std::size_t columns, const std::string& output, const char* call) {
  if (columns == 0)
    throw UsageError(std::string("Predictor::") + call + ": the output '" + output +
                     "' is not [N, C] (logits of C classes, or one logit)");
}

}  // namespace

void Predictor::probabilities(const float* input, std::size_t n, float* out) const {
  const State& s = *state_;
  require_columns(s.roles.columns, s.roles.output, "probabilities");
  check_pointers(input, out, n, "probabilities");
  if (n == 0) return;
  const State::Lease r = s.lease(Head::Probabilities, n);
  std::copy_n(input, n * s.roles.input_size, r->in);
  r->exec->run();
  std::copy_n(r->out, n * s.roles.columns, out);
}

std::vector<float> Predictor::probabilities(const std::vector<float>& input) const {
  const State& s = *state_;
  require_columns(s.roles.columns, s.roles.output, "probabilities");
  const std::size_t n = examples_in(input, s.roles.input_size, s.roles.input, "probabilities");
  std::vector<float> out(mul_sizes(n, s.roles.columns));
  probabilities(input.data(), n, out.data());
  return out;
}

void Predictor::classes(const float* input, std::size_t n, std::size_t* out) const {
  const State& s = *state_;
  require_columns(s.roles.columns, s.roles.output, "classes");
  check_pointers(input, out, n, "classes");
  if (n == 0) return;
  const State::Lease r = s.lease(Head::Output, n);
  std::copy_n(input, n * s.roles.input_size, r->in);
  r->exec->run();
  for (std::size_t i = 0; i < n; ++i) out[i] = predicted_class(r->out + i * s.roles.columns, s.roles.columns);
}

std::vector<std::size_t> Predictor::classes(const std::vector<float>& input) const {
  const State& s = *state_;
  require_columns(s.roles.columns, s.roles.output, "classes");
  std::vector<std::size_t> out(examples_in(input, s.roles.input_size, s.roles.input, "classes"));
  classes(input.data(), out.size(), out.data());
  return out;
}

void Predictor::warm_up(std::size_t n, std::size_t executors, bool probabilities) const {
  const State& s = *state_;
  if (probabilities) require_columns(s.roles.columns, s.roles.output, "warm_up");
  if (n == 0) return;
  const Head head = probabilities ? Head::Probabilities : Head::Output;
  while (s.executors(head, n) < executors) {
    auto [runner, pool] = s.make_runner(head, n);
    std::lock_guard<std::mutex> lock(s.mutex);
    pool->idle.push_back(std::move(runner));
  }
}

std::size_t Predictor::executors(std::size_t n, bool probabilities) const {
  return state_->executors(probabilities ? Head::Probabilities : Head::Output, n);
}

}  // namespace plangrad
