#pragma once
// Interned strings for label names and values: every distinct string is stored once, and series
// refer to it by a 32-bit id. Tens of thousands of targets share a handful of label names and
// each target's values repeat across its ~25 series, so this is most of the store's memory saving.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vigil::series {

using SymbolId = uint32_t;

/// Not thread-safe; the SeriesStore guards it with its own lock.
class SymbolTable {
 public:
  /// The id of `s`, adding it if new.
  SymbolId intern(std::string_view s);
  /// The id of `s` if present.
  bool find(std::string_view s, SymbolId* id) const;
  /// The string of an id returned by intern(); valid until the table is destroyed or compacted.
  std::string_view str(SymbolId id) const { return strings_[id]; }
  /// Adds one reference to `id`; release() drops it and frees the slot at zero.
  void retain(SymbolId id) { ++refs_[id]; }
  void release(SymbolId id);
  size_t size() const { return index_.size(); }
  /// A view of every slot's string, indexed by id (freed slots are empty).
  void views(std::vector<std::string_view>& out) const;
  /// Bytes held by strings and the index (an estimate for the store's memory figure).
  size_t bytes() const;

 private:
  // deque: pushing never moves existing strings, so string_views into it stay valid.
  std::deque<std::string> strings_;
  std::vector<uint32_t> refs_;
  std::vector<SymbolId> free_;
  std::unordered_map<std::string_view, SymbolId> index_;
};

}  // namespace vigil::series
