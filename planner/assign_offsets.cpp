// assign_offsets: places buffers with known live intervals in one arena so that no two
// buffers live at a common step overlap. Two heuristics, the smaller arena wins:
//  - greedy by decreasing size, each buffer at the best-fitting gap among the buffers
//    already placed that overlap it in time (TFLite's ArenaPlanner, XLA's heap simulator);
//  - a sweep over time that frees dead buffers and allocates best-fit from a coalescing
//    free list, O(n log n), for graphs too large for the quadratic greedy.
#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <queue>
#include <set>

#include "planner/memory.hpp"

namespace plangrad {
namespace {

constexpr std::size_t kAlign = 64;
std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }
bool overlaps_in_time(const BufferRequest& a, const BufferRequest& b) {
  return a.first <= b.last && b.first <= a.last;
}
// Every size is rounded to a multiple of the largest alignment of the whole set (alignments
// are powers of two), so every offset, a sum of such sizes, is a multiple of each buffer's
// alignment. Rounding each size to its own alignment alone is not enough: a 64-byte buffer
// followed by a 128-aligned one puts the latter at offset 64.
struct Padding {
  std::size_t unit = kAlign;
  explicit Padding(const std::vector<BufferRequest>& buffers) {
    for (const BufferRequest& b : buffers) unit = std::max(unit, b.alignment);
  }
  std::size_t operator()(const BufferRequest& b) const { return round_up(b.bytes, unit); }
};

OffsetAssignment greedy_by_size(const std::vector<BufferRequest>& buffers) {
  const Padding padded(buffers);
  std::vector<std::size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (padded(buffers[a]) != padded(buffers[b])) return padded(buffers[a]) > padded(buffers[b]);
    return buffers[a].first < buffers[b].first;
  });
  OffsetAssignment result{std::vector<std::size_t>(buffers.size(), 0), 0, "greedy-by-size"};
  std::vector<std::size_t> placed;
  std::vector<std::size_t> overlapping;
  for (std::size_t i : order) {
    const std::size_t size = padded(buffers[i]);
    if (size == 0) continue;
    overlapping.clear();
    for (std::size_t p : placed)
      if (overlaps_in_time(buffers[p], buffers[i])) overlapping.push_back(p);
    std::sort(overlapping.begin(), overlapping.end(),
              [&](std::size_t a, std::size_t b) { return result.offsets[a] < result.offsets[b]; });
    std::size_t end = 0, best = SIZE_MAX, best_gap = SIZE_MAX;
    for (std::size_t p : overlapping) {
      const std::size_t off = result.offsets[p];
      if (off > end && off - end >= size && off - end < best_gap) {
        best_gap = off - end;
        best = end;
      }
      end = std::max(end, off + padded(buffers[p]));
    }
    result.offsets[i] = best != SIZE_MAX ? best : end;
    result.arena_bytes = std::max(result.arena_bytes, result.offsets[i] + size);
    placed.push_back(i);
  }
  return result;
}

// The buffers by first step, and by decreasing size within a step (ties by index).
std::vector<std::size_t> sweep_order(const std::vector<BufferRequest>& buffers, const Padding& padded) {
  std::vector<std::size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (buffers[a].first != buffers[b].first) return buffers[a].first < buffers[b].first;
    return padded(buffers[a]) > padded(buffers[b]);
  });
  return order;
}

OffsetAssignment sweep_best_fit(const std::vector<BufferRequest>& buffers) {
  const Padding padded(buffers);
  const std::vector<std::size_t> order = sweep_order(buffers, padded);
  OffsetAssignment result{std::vector<std::size_t>(buffers.size(), 0), 0, "sweep-best-fit"};
  std::map<std::size_t, std::size_t> free_by_offset;             // offset -> size
  std::set<std::pair<std::size_t, std::size_t>> free_by_size;    // (size, offset)
  std::size_t top = 0;
  using Death = std::pair<int, std::size_t>;  // (last step, buffer)
  std::priority_queue<Death, std::vector<Death>, std::greater<Death>> alive;

  auto release = [&](std::size_t off, std::size_t size) {
    auto next = free_by_offset.lower_bound(off);
    if (next != free_by_offset.end() && next->first == off + size) {  // merge right
      size += next->second;
      free_by_size.erase({next->second, next->first});
      next = free_by_offset.erase(next);
    }
    if (next != free_by_offset.begin()) {  // merge left
      auto prev = std::prev(next);
      if (prev->first + prev->second == off) {
        off = prev->first;
        size += prev->second;
        free_by_size.erase({prev->second, prev->first});
        free_by_offset.erase(prev);
      }
    }
    if (off + size == top) {
      top = off;  // the free block at the top just lowers the top
      return;
    }
    free_by_offset.emplace(off, size);
    free_by_size.emplace(size, off);
  };

  for (std::size_t i : order) {
    const std::size_t size = padded(buffers[i]);
    if (size == 0) continue;
    while (!alive.empty() && alive.top().first < buffers[i].first) {
      const std::size_t d = alive.top().second;
      alive.pop();
      release(result.offsets[d], padded(buffers[d]));
    }
    auto fit = free_by_size.lower_bound({size, 0});
    if (fit != free_by_size.end()) {
      const auto [block_size, block_off] = *fit;
      free_by_size.erase(fit);
      free_by_offset.erase(block_off);
      result.offsets[i] = block_off;
      if (block_size > size) {
        free_by_offset.emplace(block_off + size, block_size - size);
        free_by_size.emplace(block_size - size, block_off + size);
      }
    } else {
      result.offsets[i] = top;
      top += size;
    }
    result.arena_bytes = std::max(result.arena_bytes, result.offsets[i] + size);
    alive.push({buffers[i].last, i});
  }
  return result;
}

}  // namespace

OffsetAssignment assign_offsets(const std::vector<BufferRequest>& buffers, std::size_t greedy_limit) {
  OffsetAssignment sweep = sweep_best_fit(buffers);
  if (buffers.size() > greedy_limit) return sweep;
  OffsetAssignment greedy = greedy_by_size(buffers);
  return greedy.arena_bytes <= sweep.arena_bytes ? greedy : sweep;
}

std::size_t naive_bytes(const std::vector<BufferRequest>& buffers) {
  const Padding padded(buffers);
  std::size_t total = 0;
  for (const BufferRequest& b : buffers) total += padded(b);
  return total;
}

std::size_t lower_bound_bytes(const std::vector<BufferRequest>& buffers) {
  const Padding padded(buffers);
  // +bytes at a buffer's first step, -bytes after its last; the running total's peak
  // over the steps, each step's events summed before the peak is taken.
  std::vector<std::pair<long long, long long>> events;  // (step, bytes)
  for (const BufferRequest& b : buffers) {
    const auto size = static_cast<long long>(padded(b));
    if (size == 0) continue;
    events.push_back({b.first, size});
    events.push_back({static_cast<long long>(b.last) + 1, -size});
  }
  std::sort(events.begin(), events.end());
  long long live = 0, peak = 0;
  for (std::size_t i = 0; i < events.size();) {
    const long long at = events[i].first;
    for (; i < events.size() && events[i].first == at; ++i) live += events[i].second;
    peak = std::max(peak, live);
  }
  return static_cast<std::size_t>(peak);
}

std::string check_offsets(const std::vector<BufferRequest>& buffers, const OffsetAssignment& a) {
  if (a.offsets.size() != buffers.size()) return "one offset per buffer expected";
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i].bytes == 0) continue;
    if (a.offsets[i] % std::max<std::size_t>(1, buffers[i].alignment) != 0)
      return "buffer " + std::to_string(i) + " at offset " + std::to_string(a.offsets[i]) +
             " is not aligned to " + std::to_string(buffers[i].alignment);
    if (a.offsets[i] + buffers[i].bytes > a.arena_bytes)
      return "buffer " + std::to_string(i) + " ends past the arena";
    order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return buffers[x].first < buffers[y].first; });
  // Sweep over time keeping the live buffers ordered by offset; each newcomer only needs
  // checking against its neighbours, since the live set never overlaps itself.
  std::set<std::pair<std::size_t, std::size_t>> live;  // (offset, buffer)
  using Death = std::pair<int, std::size_t>;
  std::priority_queue<Death, std::vector<Death>, std::greater<Death>> alive;
  for (std::size_t i : order) {
    while (!alive.empty() && alive.top().first < buffers[i].first) {
      live.erase({a.offsets[alive.top().second], alive.top().second});
      alive.pop();
    }
    const std::size_t begin = a.offsets[i], end = begin + buffers[i].bytes;
    auto next = live.lower_bound({begin, 0});
    auto clash = [&](std::size_t j) {
      return "buffers " + std::to_string(j) + " and " + std::to_string(i) + " are live at a common step and overlap in memory";
    };
    if (next != live.end() && next->first < end) return clash(next->second);
    if (next != live.begin()) {
      auto prev = std::prev(next);
      if (prev->first + buffers[prev->second].bytes > begin) return clash(prev->second);
    }
    live.insert({begin, i});
    alive.push({buffers[i].last, i});
  }
  return {};
}

}  // namespace plangrad
