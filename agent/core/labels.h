#pragma once
// Label sets as Prometheus has them: name/value pairs, sorted by name, names unique.
// The metric name is the label "__name__".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
  auto operator<=>(const Label&) const = default;
};

/// Sorted by name, unique names, no empty values (an empty value means "absent", as in
/// Prometheus). Use the helpers below to keep the invariant.
using Labels = std::vector<Label>;

inline constexpr std::string_view kMetricNameLabel = "__name__";

/// Sorts by name and drops empty values; on duplicate names the last one wins.
void normalize(Labels& labels);

/// The value of `name`, or "" when absent.
std::string_view get(const Labels& labels, std::string_view name);

/// Sets (or with an empty value removes) `name`, keeping the set sorted.
void set(Labels& labels, std::string_view name, std::string_view value);

/// A stable 64-bit hash of the set (FNV-1a over names and values with separators).
uint64_t hash(const Labels& labels);

/// `{a="1", b="2"}` with Prometheus' escaping; `name{...}` when __name__ is present.
std::string toString(const Labels& labels);

/// Escapes a label value for the text exposition format (\\, \", \n).
std::string escapeLabelValue(std::string_view v);

/// True when `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*).
bool isValidLabelName(std::string_view name);

/// True when `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool isValidMetricName(std::string_view name);

}  // namespace vigil
