// index_graph: checks a Graph's names, ops, arities and attributes, and resolves names
// to indices for the passes that follow.
#include <string_view>
#include <utility>

#include "core/errors.hpp"
#include "planner/passes.hpp"

namespace plangrad {

int IndexedGraph::find_value(const std::string& name) const {
  return value_index.find(name, [this](int i) { return std::string_view(values[static_cast<std::size_t>(i)].name); });
}

int IndexedGraph::require_value(const std::string& name, const char* what) const {
  const int v = find_value(name);
  if (v < 0) throw GraphError(std::string(what) + " '" + name + "' is not a value of the graph");
  return v;
}

namespace {
ValueRole role_of(ValueKind kind) {
  switch (kind) {
    case ValueKind::Input: return ValueRole::Input;
    case ValueKind::Parameter: return ValueRole::Parameter;
    case ValueKind::State: return ValueRole::State;
  }
  return ValueRole::Input;
}

// The loops below look up or insert one name after another in tables of a few MB, and
// compare against names and hashes in arrays of tens of MB: each probe would wait for
// cache misses in turn. They hash every name first; then, kAhead names on, prefetch the
// name's slot, and kAhead / 2 names on (its slot has arrived by then), what the probe
// will read of the entry in that slot; so the misses of many lookups overlap.
constexpr std::size_t kAhead = 16;

// Prefetches the slot of hashes[k + kAhead]; returns the entry in the first slot of
// hashes[k + kAhead / 2], or -1, for the caller to prefetch what a probe reads of it.
// (always_inline: see NameIndex::prefetch_slot.)
[[gnu::always_inline]] inline int entry_ahead(const NameIndex& index, const std::vector<std::size_t>& hashes,
                                              std::size_t k) {
  if (k + kAhead < hashes.size()) index.prefetch_slot(hashes[k + kAhead]);
  return k + kAhead / 2 < hashes.size() ? index.first_entry(hashes[k + kAhead / 2]) : -1;
}
}  // namespace

IndexedGraph index_graph(const Graph& graph) {
  IndexedGraph g;
  // Every name's hash, in the order the loops below use them (see kAhead). Value and node
  // hashes are by index too: a probe that meets another name compares these few MB rather
  // than the names in g.values and graph.nodes (tens of MB). This is also the one pass
  // that counts values and inputs: each pass over the nodes costs cache misses.
  std::vector<std::size_t> value_hash, node_hash, in_hash;
  value_hash.reserve(graph.values.size() + graph.nodes.size());  // most ops have one output
  node_hash.reserve(graph.nodes.size());
  in_hash.reserve(2 * graph.nodes.size());
  for (const ValueDecl& v : graph.values) value_hash.push_back(NameIndex::hash(v.name));
  for (const Node& node : graph.nodes) {
    node_hash.push_back(NameIndex::hash(node.name));
    for (const std::string& out : node.outputs) value_hash.push_back(NameIndex::hash(out));
    for (const std::string& in : node.inputs) in_hash.push_back(NameIndex::hash(in));
  }
  const std::size_t n_values = value_hash.size(), n_inputs = in_hash.size();
  g.values.reserve(n_values);
  g.value_index.reserve(n_values);

  // `where` names the declaring place in an error; it is only built when one is thrown.
  auto value_name = [&](int i) { return std::string_view(g.values[static_cast<std::size_t>(i)].name); };
  auto value_hash_of = [&](int i) { return value_hash[static_cast<std::size_t>(i)]; };
  // Values are added in the order of value_hash: the new value's index is its position.
  auto add_value = [&](ValueInfo info, auto&& where) {
    if (info.name.empty()) throw GraphError(where() + ": a value has an empty name");
    const std::size_t k = g.values.size();
    // A probe of an insert that meets another name reads its hash only.
    const int e = entry_ahead(g.value_index, value_hash, k);
    if (e >= 0) __builtin_prefetch(&value_hash[static_cast<std::size_t>(e)]);
    g.values.push_back(std::move(info));
    const int index = static_cast<int>(k);
    if (!g.value_index.insert(index, value_hash[k], value_name, value_hash_of)) {
      const std::string name = g.values.back().name;
      g.values.pop_back();
      throw GraphError(where() + ": duplicate value name '" + name + "'");
    }
    return index;
  };

  for (const ValueDecl& v : graph.values) {
    for (Dim d : v.shape)
      if (d < 0 && !(d == kBatchDim && v.kind == ValueKind::Input))
        throw ShapeError(std::string(kind_name(v.kind)) + " '" + v.name + "' has an invalid shape " +
                         shape_str(v.shape));
    add_value({v.name, v.shape, -1, role_of(v.kind)},
              [&] { return std::string(kind_name(v.kind)) + " '" + v.name + "'"; });
  }

  // Then the nodes: each one's outputs, then its inputs. An input resolves at once when
  // its value is known by then: in a graph listed in execution order every input is, and
  // the value was made moments ago (still in cache). Otherwise it resolves after the
  // loop: a node may name a value that a later node produces (the order in the file is
  // not the order of execution; toposort finds that). Each use is noted in two small
  // arrays, from which the consumers are filled below without reading the nodes again.
  NameIndex node_names;
  node_names.reserve(graph.nodes.size());
  auto node_name = [&](int i) { return std::string_view(graph.nodes[static_cast<std::size_t>(i)].name); };
  auto node_hash_of = [&](int i) { return node_hash[static_cast<std::size_t>(i)]; };
  g.nodes.reserve(graph.nodes.size());  // filled in order: no pass to default-construct them first
  g.attr_sets.resize(1);  // the empty set
  g.node_ids.reserve(n_values - graph.values.size() + n_inputs);
  std::vector<std::uint32_t> uses(n_values, 0);
  std::vector<int> use_value(n_inputs), use_node(n_inputs);
  struct Later {
    std::size_t k_in;  // the input's position in in_hash
    std::size_t node, input;
  };
  std::vector<Later> later;
  std::size_t k_in = 0;
  // The ops met so far: a graph has a few, and the registry's lookup takes a lock.
  std::vector<std::pair<std::string_view, const OpDef*>> ops_seen;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    const int e = entry_ahead(node_names, node_hash, n);
    if (e >= 0) __builtin_prefetch(&node_hash[static_cast<std::size_t>(e)]);
    auto where = [&] { return "node '" + node.name + "'"; };
    if (node.name.empty()) throw GraphError("node #" + std::to_string(n) + " has an empty name");
    if (!node_names.insert(static_cast<int>(n), node_hash[n], node_name, node_hash_of))
      throw GraphError("duplicate node name '" + node.name + "'");
    const OpDef* op = nullptr;
    for (const auto& [name, def] : ops_seen)
      if (name == node.op) {
        op = def;
        break;
      }
    if (!op && (op = lookup_op(node.op))) ops_seen.emplace_back(op->name, op);
    if (!op) throw GraphError(where() + ": unknown op '" + node.op + "'");
    if (node.inputs.size() != op->inputs.size())
      throw GraphError(node.op + " '" + node.name + "': takes " + std::to_string(op->inputs.size()) +
                       " inputs, got " + std::to_string(node.inputs.size()));
    if (node.outputs.size() != op->outputs.size())
      throw GraphError(node.op + " '" + node.name + "': has " + std::to_string(op->outputs.size()) +
                       " outputs, got " + std::to_string(node.outputs.size()));
    NodeInfo& info = g.nodes.emplace_back();
    info.name = node.name;
    info.op = op;
    Attrs attrs = normalize_attrs(*op, node.name, node.attrs);
    if (!attrs.items().empty()) {
      info.attrs = static_cast<std::uint32_t>(g.attr_sets.size());
      g.attr_sets.push_back(std::move(attrs));
    }
    info.outputs = {static_cast<std::uint32_t>(g.node_ids.size()), static_cast<std::uint32_t>(node.outputs.size())};
    for (const std::string& out : node.outputs)
      g.node_ids.push_back(add_value({out, {}, static_cast<int>(n), ValueRole::Intermediate}, where));
    info.inputs = {static_cast<std::uint32_t>(g.node_ids.size()), static_cast<std::uint32_t>(node.inputs.size())};
    for (std::size_t i = 0; i < node.inputs.size(); ++i, ++k_in) {
      // A find reads the hash and the name of the value it finds, whose uses it counts.
      const int ahead = entry_ahead(g.value_index, in_hash, k_in);
      if (ahead >= 0) {
        __builtin_prefetch(&value_hash[static_cast<std::size_t>(ahead)]);
        __builtin_prefetch(&g.values[static_cast<std::size_t>(ahead)]);
        __builtin_prefetch(&uses[static_cast<std::size_t>(ahead)], 1);
      }
      const int v = g.value_index.find(node.inputs[i], in_hash[k_in], value_name, value_hash_of);
      if (v < 0) later.push_back({k_in, n, i});
      else ++uses[static_cast<std::size_t>(v)];
      g.node_ids.push_back(v);
      use_value[k_in] = v;
      use_node[k_in] = static_cast<int>(n);
    }
  }
  for (const Later& l : later) {
    const Node& node = graph.nodes[l.node];
    const std::string& in = node.inputs[l.input];
    const int v = g.value_index.find(in, in_hash[l.k_in], value_name, value_hash_of);
    if (v < 0)
      throw GraphError(node.op + " '" + node.name + "': input '" + in + "' is not a value of the graph");
    g.node_ids[g.nodes[l.node].inputs.begin + l.input] = v;
    ++uses[static_cast<std::size_t>(v)];
    use_value[l.k_in] = v;
  }
  // Every value's consumers as ranges of one array: counted above, filled in node order
  // (one entry per use).
  std::uint32_t begin = 0;
  g.consumer_ranges.resize(g.values.size());
  std::vector<std::uint32_t>& next = uses;  // from here: where each value's next consumer goes
  for (std::size_t v = 0; v < g.values.size(); ++v) {
    const std::uint32_t count = uses[v];
    g.consumer_ranges[v] = {begin, count};
    next[v] = begin;
    begin += count;
  }
  g.consumer_ids.resize(n_inputs);
  for (std::size_t k = 0; k < n_inputs; ++k)
    g.consumer_ids[next[static_cast<std::size_t>(use_value[k])]++] = use_node[k];
  for (const std::string& out : graph.outputs) g.outputs.push_back(g.require_value(out, "graph output"));
  return g;
}

}  // namespace plangrad
