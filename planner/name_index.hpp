// NameIndex: names to indices by open addressing over a table of indices into the
// caller's own array of names. No allocation per entry and no copy of any name: a graph
// of 100k nodes resolves its 150k value names with one table of ints.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

namespace plangrad {

class NameIndex {
 public:
  // Sizes the table for `n` names before the first insert (it grows by itself past that).
  void reserve(std::size_t n) {
    if (count_ != 0) return;
    std::size_t size = 16;
    while (size < 2 * n) size *= 2;
    if (size > slots_.size()) slots_.assign(size, -1);
  }

  // The index stored under `name`, or -1. `name_of(i)` returns entry i's name.
  template <class NameOf>
  int find(std::string_view name, const NameOf& name_of) const {
    if (slots_.empty()) return -1;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t s = std::hash<std::string_view>{}(name) & mask;; s = (s + 1) & mask) {
      const int i = slots_[s];
      if (i < 0) return -1;
      if (name_of(i) == name) return i;
    }
  }

  // Stores `index` under its name, name_of(index); false (and nothing stored) when the
  // name is there already.
  template <class NameOf>
  bool insert(int index, const NameOf& name_of) {
    if (2 * (count_ + 1) > slots_.size()) grow(name_of);
    const std::string_view name = name_of(index);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t s = std::hash<std::string_view>{}(name) & mask;; s = (s + 1) & mask) {
      const int i = slots_[s];
      if (i < 0) {
        slots_[s] = index;
        ++count_;
        return true;
      }
      if (name_of(i) == name) return false;
    }
  }

  std::size_t size() const { return count_; }

 private:
  template <class NameOf>
  void grow(const NameOf& name_of) {
    std::vector<int> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : 2 * old.size(), -1);
    count_ = 0;
    for (int i : old)
      if (i >= 0) insert(i, name_of);
  }

  std::vector<int> slots_;
  std::size_t count_ = 0;
};

}  // namespace plangrad
