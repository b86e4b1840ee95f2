#include <catch2/catch.hpp>

#include "exporters/notify/fingerprint.h"

using namespace vigil;
using namespace vigil::notify;

// Every expected value below was read from a real Alertmanager 0.25 (Debian 12's
// prometheus-alertmanager): the alerts were posted to /api/v2/alerts and the fingerprints and
// group keys taken from /api/v2/alerts and the webhook payloads it sent.
TEST_CASE("fingerprints are Alertmanager's", "[notify][fingerprint]") {
  auto [labels, hex] = GENERATE(table<Labels, std::string>({
      {{{"alertname", "Empty"}}, "84b8408c04466701"},
      {{{"alertname", "RedundancyLost"},
        {"pool", "devschool"},
        {"q", "x\"y\\z"},
        {"severity", "page"},
        {"team", "a"}},
       "cf326814e33d0650"},
      {{{"alertname", "RedundancyLost"},
        {"env", "prod"},
        {"pool", "devschool"},
        {"q", "x\"y\\z"},
        {"severity", "page"},
        {"team", "b"}},
       "3750ce20db493403"},
      {{{"alertname", "TargetDown"},
        {"pool", "p"},
        {"severity", "page"},
        {"team", "c"},
        {"v", "line\nbreak \xc3\xa9 \t"}},
       "6165560bb4c8af9d"},
      {{{"alertname", "A"},
        {"v", "line\nbreak \xc3\xa9 \t\xc2\xa0\x01\x7f\xc2\x85"},
        {"w", "tab\there \xc3\xa9\xc2\xa0"}},
       "aee055611c87b03f"},
      {{{"alertname", "B"}, {"v", "\xe2\x80\xa8\xc2\xad\xe2\x80\x8b\xef\xbb\xbf\xf0\x9f\x98\x80"}},
       "655d2e69ce450c16"},
      {{{"alertname", "J"}, {"instance", "i1"}, {"job", "x"}}, "a920cfb5e957e2da"},
      {{{"alertname", "J"}, {"instance", "i1"}, {"job", "x"}, {"zz", "1"}}, "c48df3b5550a20eb"},
      {{{"alertname", "J"}, {"instance", "i2"}, {"job", "x"}}, "48d9b9773db11b71"},
  }));
  CAPTURE(toString(labels));
  CHECK(toHex(fingerprint(labels)) == hex);
}

TEST_CASE("the empty label set has the FNV offset basis as fingerprint", "[notify][fingerprint]") {
  CHECK(toHex(fingerprint({})) == "cbf29ce484222325");
}

TEST_CASE("names and values are separated: moving a byte across changes the fingerprint",
          "[notify][fingerprint]") {
  CHECK(fingerprint({{"a", "bc"}}) != fingerprint({{"ab", "c"}}));
  CHECK(fingerprint({{"a", "b"}, {"c", "d"}}) != fingerprint({{"a", "bc"}, {"d", ""}}));
}

TEST_CASE("toHex pads to 16 digits", "[notify][fingerprint]") {
  CHECK(toHex(0) == "0000000000000000");
  CHECK(toHex(0xabc) == "0000000000000abc");
  CHECK(toHex(~0ull) == "ffffffffffffffff");
}

TEST_CASE("label sets print as Alertmanager's group keys do (Go %q)", "[notify][fingerprint]") {
  // Both expected strings are copied from the group keys of a real Alertmanager 0.25.
  CHECK(labelSetString({{"alertname", "A"},
                        {"v", "line\nbreak \xc3\xa9 \t\xc2\xa0\x01\x7f\xc2\x85"},
                        {"w", "tab\there \xc3\xa9\xc2\xa0"}}) ==
        R"({alertname="A", v="line\nbreak é \t\u00a0\x01\x7f\u0085", w="tab\there é\u00a0"})");
  CHECK(labelSetString({{"alertname", "B"},
                        {"v", "\xe2\x80\xa8\xc2\xad\xe2\x80\x8b\xef\xbb\xbf\xf0\x9f\x98\x80"}}) ==
        R"({alertname="B", v="\u2028\u00ad\u200b\ufeff😀"})");
  CHECK(labelSetString({}) == "{}");
}

TEST_CASE("goQuote escapes like Go's strconv.Quote", "[notify][fingerprint]") {
  auto [in, out] = GENERATE(table<std::string, std::string>({
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"q\"b\\", R"("q\"b\\")"},
      {std::string("\a\b\f\n\r\t\v", 7), R"("\a\b\f\n\r\t\v")"},
      {std::string("\0\x1b", 2), R"("\x00\x1b")"},
      {"\xff", R"("\xff")"},                 // not UTF-8
      {"\xc3", R"("\xc3")"},                 // truncated sequence
      {"\xc0\xaf", R"("\xc0\xaf")"},         // overlong
      {"\xed\xa0\x80", R"("\xed\xa0\x80")"}, // a surrogate
      {"\xf3\xa0\x80\x81", R"("\U000e0001")"},
      {"日本", R"("日本")"},
  }));
  CAPTURE(in);
  CHECK(goQuote(in) == out);
}
