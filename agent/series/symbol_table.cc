#include "agent/series/symbol_table.h"

namespace vigil::series {

SymbolId SymbolTable::intern(std::string_view s) {
  if (auto it = index_.find(s); it != index_.end()) return it->second;
  SymbolId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    strings_[id] = std::string(s);
    refs_[id] = 0;
  } else {
    id = static_cast<SymbolId>(strings_.size());
    strings_.emplace_back(s);
    refs_.push_back(0);
  }
  index_.emplace(std::string_view(strings_[id]), id);
  return id;
}

bool SymbolTable::find(std::string_view s, SymbolId* id) const {
  auto it = index_.find(s);
  if (it == index_.end()) return false;
  *id = it->second;
  return true;
}

void SymbolTable::release(SymbolId id) {
  if (refs_[id] > 0 && --refs_[id] == 0) {
    index_.erase(std::string_view(strings_[id]));
    strings_[id].clear();
    strings_[id].shrink_to_fit();
    free_.push_back(id);
  }
}

void SymbolTable::views(std::vector<std::string_view>& out) const {
  out.clear();
  out.reserve(strings_.size());
  for (const auto& s : strings_) out.emplace_back(s);
}

size_t SymbolTable::bytes() const {
  size_t b = index_.size() * (sizeof(std::string_view) + sizeof(SymbolId) + 16) +
             strings_.size() * (sizeof(std::string) + sizeof(uint32_t));
  for (const auto& s : strings_) {
    if (s.capacity() > 15) b += s.capacity() + 1;
  }
  return b;
}

}  // namespace vigil::series
