#pragma once
// The Go-template subset of SPEC §4 used in alert labels and annotations:
//   {{ $labels.x }}  {{ $value }}  {{ $externalLabels.x }}  {{ $externalURL }}
//   {{ .Labels.x }}  {{ .Value }}  {{ .ExternalLabels.x }}
//   pipes and calls: humanize humanize1024 humanizePercentage humanizeDuration printf
//   (also toUpper toLower title), "strings", numbers, {{- trimming -}}, {{/* comments */}}.
// Output formatting follows Go (fmt's %v for floats, missing labels expand to "").

#include <string>
#include <string_view>

#include "agent/core/error.h"
#include "agent/core/labels.h"

namespace vigil::rules {

/// What a template can refer to.
struct TemplateData {
  Labels labels;
  double value = 0;
  Labels externalLabels;
  std::string externalURL;
};

/// Expands `text`. Errors (syntax, unknown function, bad argument) are returned; Prometheus
/// then puts "<error expanding template: ...>" in place of the value. Pure, thread-safe.
Result<std::string> expandTemplate(std::string_view text, const TemplateData& data);

/// Checks the syntax only (rule-file validation).
Status checkTemplate(std::string_view text);

}  // namespace vigil::rules
