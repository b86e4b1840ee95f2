#include <catch2/catch.hpp>

#include "agent/rules/template.h"

using namespace vigil;
using namespace vigil::rules;

namespace {
TemplateData data(double v) {
  TemplateData d;
  d.labels = {{"instance", "h1"}, {"job", "web"}, {"num", "2048"}};
  d.value = v;
  d.externalLabels = {{"cluster", "prod"}};
  d.externalURL = "http://vigil";
  return d;
}
}  // namespace

TEST_CASE("template expansion matches Prometheus output", "[rules][template]") {
  // Expected strings come from promtool 2.42 (see test/rules/alert_templates.yaml).
  auto [text, value, want] = GENERATE(table<std::string, double, std::string>({
      {"plain text", 1, "plain text"},
      {"{{ $labels.instance }}", 1, "h1"},
      {"[{{ $labels.missing }}]", 1, "[]"},
      {"{{ $value }}", 1234567, "1.234567e+06"},
      {"{{ $value }}", 0.5, "0.5"},
      {"{{ $value | humanize }}", 1234567, "1.235M"},
      {"{{ $value | humanize }}", 0.000123, "123u"},
      {"{{ $value | humanize }}", 0, "0"},
      {"{{ humanize1024 $value }}", 2048, "2ki"},
      {"{{ $value | humanizePercentage }}", 0.5, "50%"},
      {"{{ $value | humanizeDuration }}", 90061, "1d 1h 1m 1s"},
      {"{{ $value | humanizeDuration }}", 0.5, "500ms"},
      {"{{ $value | humanizeDuration }}", -1500, "-25m 0s"},
      {"{{ printf \"%.2f|%5.1f|%s|%d\" $value $value $labels.job 3 }}", 0.5, "0.50|  0.5|web|3"},
      {"{{ $value | printf \"%.1f\" }}", 2, "2.0"},
      {"{{ $externalLabels.cluster }}", 1, "prod"},
      {"{{ $externalURL }}", 1, "http://vigil"},
      {"{{ .Labels.job }} {{ .Value }}", 3, "web 3"},
      {"a  {{- $labels.job -}}  b", 1, "awebb"},
      {"x{{/* comment */}}y", 1, "xy"},
      {"{{ $labels.num | humanize }}", 1, "2.048k"},
      {"{{ \"lit\" | toUpper }}", 1, "LIT"},
      // Found by fuzz_template: Go refuses absurd widths instead of allocating them.
      {"{{ printf \"%99999999s\" \"x\" }}", 1, "%!(BADWIDTH)x"},
      {"{{ printf \"%s %s\" \"x\" }}", 1, "x %!s(MISSING)"},
      {"{{ printf \"%d\" $value }}", 1.5, "%!d(float64=1.5)"},
  }));
  auto r = expandTemplate(text, data(value));
  INFO(text);
  REQUIRE(r.ok());
  CHECK(*r == want);
}

TEST_CASE("template errors are returned", "[rules][template]") {
  auto text = GENERATE(as<std::string>{}, "{{ $labels.job", "{{ nosuch $value }}",
                       "{{ if true }}x{{ end }}", "{{ $nosuch }}", "{{ }}",
                       "{{ $labels.job | humanize }}");
  INFO(text);
  CHECK_FALSE(expandTemplate(text, data(1)).ok());
}

TEST_CASE("checkTemplate validates syntax only", "[rules][template]") {
  CHECK(checkTemplate("{{ $labels.job | humanize }}").ok());
  CHECK_FALSE(checkTemplate("{{ $labels.job").ok());
}
