#pragma once
// Alert identity and the string forms Alertmanager derives from label sets: fingerprints
// (model.LabelSet.Fingerprint), their hex form, and Go's %q quoting used in group keys.

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/core/labels.h"

namespace vigil::notify {

using Fingerprint = uint64_t;

/// Prometheus' model.LabelSet.Fingerprint, which Alertmanager uses as an alert's identity:
/// FNV-1a 64 over each label name and value, in name order, each followed by the byte 0xff.
/// The empty set hashes to the FNV offset basis. Pure and thread-safe.
Fingerprint fingerprint(const Labels& labels);

/// 16 lowercase hex digits (Go's %016x), as Alertmanager's API and webhook payload show it.
std::string toHex(Fingerprint fp);

/// Go's strconv.Quote: "..." with \" \\ \a \b \f \n \r \t \v, \xNN for other ASCII controls,
/// DEL and bytes that are not UTF-8, \uNNNN for Unicode's non-printable characters (C1
/// controls, format characters, separators and spaces other than ' ', private use), and
/// printable characters as they are. Unassigned code points are kept as they are (Go would
/// escape them: its Unicode tables are not reproduced here).
std::string goQuote(std::string_view s);

/// model.LabelSet.String(): `{a="1", b="2"}`, names in order, values in goQuote form. This is
/// the second half of an Alertmanager group key.
std::string labelSetString(const Labels& labels);

}  // namespace vigil::notify
