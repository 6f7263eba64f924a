#include "core/model.hpp"

#include "core/errors.hpp"

namespace plangrad {

namespace {
template <class Map>
auto& lookup(Map& map, const std::string& name, const char* what) {
  auto it = map.find(name);
  if (it == map.end()) throw GraphError(std::string("model has no ") + what + " '" + name + "'");
  return it->second;
}

template <class U, class T>
Tensor<U> cast_tensor(const Tensor<T>& t) {
  Tensor<U> out(t.shape());
  for (std::size_t i = 0; i < t.size(); ++i) out[i] = static_cast<U>(t[i]);
  return out;
}
}  // namespace

template <class T>
Tensor<T>& BasicModel<T>::parameter(const std::string& name) {
  return lookup(parameters, name, "parameter");
}
template <class T>
const Tensor<T>& BasicModel<T>::parameter(const std::string& name) const {
  return lookup(parameters, name, "parameter");
}
template <class T>
Tensor<T>& BasicModel<T>::state_tensor(const std::string& name) {
  return lookup(state, name, "state tensor");
}

template <class T>
std::size_t BasicModel<T>::parameter_count() const {
  std::size_t n = 0;
  for (const auto& [name, p] : parameters) n += p.size();
  return n;
}

template <class T>
void BasicModel<T>::check() const {
  std::size_t declared_params = 0, declared_state = 0;
  for (const ValueDecl& v : graph.values) {
    if (v.kind == ValueKind::Input) continue;
    const auto& store = v.kind == ValueKind::Parameter ? parameters : state;
    (v.kind == ValueKind::Parameter ? declared_params : declared_state)++;
    auto it = store.find(v.name);
    if (it == store.end())
      throw GraphError(std::string(kind_name(v.kind)) + " '" + v.name + "' has no data");
    if (it->second.shape() != v.shape)
      throw ShapeError(std::string(kind_name(v.kind)) + " '" + v.name + "' is declared " +
                       shape_str(v.shape) + " but its data is " + shape_str(it->second.shape()));
  }
  if (declared_params != parameters.size() || declared_state != state.size())
    throw GraphError("model holds data for parameters or state the graph does not declare");
}

template <class T>
template <class U>
BasicModel<U> BasicModel<T>::cast() const {
  BasicModel<U> out;
  out.graph = graph;
  for (const auto& [name, p] : parameters) out.parameters.emplace(name, cast_tensor<U>(p));
  for (const auto& [name, s] : state) out.state.emplace(name, cast_tensor<U>(s));
  return out;
}

template struct BasicModel<float>;
template struct BasicModel<double>;
template BasicModel<double> BasicModel<float>::cast<double>() const;
template BasicModel<float> BasicModel<double>::cast<float>() const;
template BasicModel<float> BasicModel<float>::cast<float>() const;
template BasicModel<double> BasicModel<double>::cast<double>() const;

}  // namespace plangrad
