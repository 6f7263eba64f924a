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

  // Probing costs cache misses once the table and the caller's array outgrow the cache:
  // the slot, then the name of the entry in it. Loops over many names hide them by
  // hashing ahead (hash), prefetching the slot of a name a few lookups ahead
  // (prefetch_slot), then the entry its first slot holds (first_entry) a few later, and
  // passing the hash to find or insert. (always_inline: GCC 12 takes a function whose only
  // effect is a prefetch for pure, and drops the calls to it unless inlined early.)
  static std::size_t hash(std::string_view name) { return std::hash<std::string_view>{}(name); }
  [[gnu::always_inline]] void prefetch_slot(std::size_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & (slots_.size() - 1)]);
  }
  // The entry in the first slot `h` probes, or -1: the first name find or insert compares.
  int first_entry(std::size_t h) const { return slots_.empty() ? -1 : slots_[h & (slots_.size() - 1)]; }

  // The index stored under `name`, or -1. `name_of(i)` returns entry i's name.
  template <class NameOf>
  int find(std::string_view name, const NameOf& name_of) const {
    return entry(probe(hash(name), [&](int i) { return name_of(i) == name; }));
  }
  // The same, with h == hash(name), for a caller that also keeps every entry's hash,
  // hash_of(i), where it is cheaper to read than the name: a probe that meets another
  // name reads its hash only.
  template <class NameOf, class HashOf>
  int find(std::string_view name, std::size_t h, const NameOf& name_of, const HashOf& hash_of) const {
    return entry(probe(h, [&](int i) { return hash_of(i) == h && name_of(i) == name; }));
  }

  // Stores `index` under its name, name_of(index); false (and nothing stored) when the
  // name is there already.
  template <class NameOf>
  bool insert(int index, const NameOf& name_of) {
    const std::string_view name = name_of(index);
    return insert_at(index, hash(name), [&](int i) { return name_of(i) == name; },
                     [&](int i) { return hash(name_of(i)); });
  }
  // The same, with h == hash(name_of(index)) and hash_of as for find.
  template <class NameOf, class HashOf>
  bool insert(int index, std::size_t h, const NameOf& name_of, const HashOf& hash_of) {
    const std::string_view name = name_of(index);
    return insert_at(index, h, [&](int i) { return hash_of(i) == h && name_of(i) == name; }, hash_of);
  }

  std::size_t size() const { return count_; }

 private:
  int entry(std::size_t s) const { return s == kNone ? -1 : slots_[s]; }

  // The first slot from h's on that is empty or holds an entry i with same(i); kNone
  // when the table has no slots.
  static constexpr std::size_t kNone = ~std::size_t{0};
  template <class Same>
  std::size_t probe(std::size_t h, const Same& same) const {
    if (slots_.empty()) return kNone;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t s = h & mask;; s = (s + 1) & mask) {
      const int i = slots_[s];
      if (i < 0 || same(i)) return s;
    }
  }

  template <class Same, class HashOf>
  bool insert_at(int index, std::size_t h, const Same& same, const HashOf& hash_of) {
    if (2 * (count_ + 1) > slots_.size()) grow(hash_of);
    const std::size_t s = probe(h, same);
    if (slots_[s] >= 0) return false;
    slots_[s] = index;
    ++count_;
    return true;
  }

  // Rehashes into a table twice the size: the names are distinct, so every entry goes to
  // the first empty slot from its hash's, without comparing any name.
  template <class HashOf>
  void grow(const HashOf& hash_of) {
    std::vector<int> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : 2 * old.size(), -1);
    for (int i : old)
      if (i >= 0) slots_[probe(hash_of(i), [](int) { return false; })] = i;
  }

  std::vector<int> slots_;
  std::size_t count_ = 0;
};

}  // namespace plangrad
