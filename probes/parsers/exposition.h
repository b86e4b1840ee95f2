#pragma once
// The Prometheus text exposition format, version 0.0.4 (what node_exporter and every client
// library serve on /metrics). Used by the memory probe's node_exporter mode.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/error.h"
#include "agent/core/labels.h"

namespace vigil::parsers {

/// The types a `# TYPE` line can declare. A family without TYPE line is kUntyped.
enum class MetricType { kUntyped, kCounter, kGauge, kHistogram, kSummary };

/// "untyped", "counter", "gauge", "histogram", "summary".
std::string_view toString(MetricType t);

/// Inverse of toString; nullopt for anything else (the format has no other types).
std::optional<MetricType> metricTypeFromString(std::string_view s);

/// One sample line.
struct Sample {
  std::string name;  ///< the metric name as written (e.g. "node_memory_MemTotal_bytes")
  /// The labels inside the braces, unescaped, sorted by name. `__name__` is NOT included (the
  /// name is in `name`), and labels with an empty value are dropped, as Prometheus does when
  /// it ingests a scrape: an empty value means the label is absent.
  Labels labels;
  double value = 0;                     ///< NaN, +Inf and -Inf included
  std::optional<int64_t> timestampMs;   ///< the optional trailing timestamp (ms since epoch)
};

/// What `# HELP` and `# TYPE` lines said about one metric family.
struct MetricMetadata {
  MetricType type = MetricType::kUntyped;
  bool hasType = false;             ///< a TYPE line was present
  std::optional<std::string> help;  ///< unescaped HELP text, when a HELP line was present
};

/// A parsed exposition page.
struct Exposition {
  std::vector<Sample> samples;  ///< in the order of the text
  /// By family name, as written on the HELP/TYPE lines (a histogram's "x", not "x_bucket").
  std::map<std::string, MetricMetadata, std::less<>> metadata;
};

/// Parses text exposition format 0.0.4:
///  - lines end in "\n" or "\r\n"; blank lines and leading blanks are ignored;
///  - `# HELP name text` (escapes `\\` and `\n` in text) and `# TYPE name type`; a second
///    HELP or TYPE line for the same name is an error; any other line starting with `#`
///    (including a bare "# HELP") is a comment;
///  - samples `name{label="value",...} value [timestamp]`: label values may contain the
///    escapes `\\`, `\"` and `\n` (any other escape is an error); blanks are allowed around
///    names, `=` and `,`; a trailing comma before `}` is allowed; a duplicate label name or a
///    `__name__` label is an error; the value is a float (`1`, `-0.5`, `1.5e+09`, `NaN`,
///    `+Inf`, `-Inf`, case-insensitive); the timestamp an int64 of milliseconds.
/// Every error carries the 1-based line and column (Error::line/column) and `source` as
/// Error::file. Never throws; memory is bounded by a small multiple of the input size.
Result<Exposition> parseExposition(std::string_view text,
                                   std::string_view source = "exposition");

/// The samples node_exporter's meminfo and vmstat collectors produce that the memory probe
/// uses: every `node_memory_*` series and `node_vmstat_oom_kill`, in page order.
std::vector<Sample> nodeMemorySeries(const Exposition& page);

}  // namespace vigil::parsers
