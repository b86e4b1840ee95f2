#include "exporters/notify/backoff.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "exporters/notify/hmac.h"
#include "exporters/notify/webhook_sender.h"

using vigil::Duration;
using vigil::notify::BackoffPolicy;
using vigil::notify::classify;
using vigil::notify::SendOutcome;

TEST_CASE("backoff doubles from initial, stays within [step/2, step], and is capped") {
  BackoffPolicy p;  // 1s initial, x2, 5 min cap
  const double u = GENERATE(0.0, 0.25, 0.5, 0.999999);
  int64_t previousLow = 0;
  for (int attempts = 1; attempts <= 40; ++attempts) {
    int64_t step = 1000;
    for (int i = 1; i < attempts && step < 300'000; ++i) step *= 2;
    step = std::min<int64_t>(step, 300'000);
    const int64_t d = p.delay(attempts, u).count();
    INFO("attempts " << attempts << " u " << u);
    CHECK(d >= step / 2);
    CHECK(d <= step);
    CHECK(d <= 300'000);
    CHECK(step / 2 >= previousLow);
    previousLow = step / 2;
  }
  CHECK(p.delay(1, 0.0).count() == 500);
  CHECK(p.delay(1, 0.999999).count() == 999);
  CHECK(p.delay(3, 0.5).count() == 3000);
  CHECK(p.delay(100, 0.0).count() == 150'000);
  CHECK(p.delay(100, 0.999999).count() <= 300'000);
}

TEST_CASE("backoff spreads retries: different draws give different delays") {
  BackoffPolicy p;
  CHECK(p.delay(5, 0.1) != p.delay(5, 0.9));
}

TEST_CASE("backoff honours a custom policy") {
  BackoffPolicy p;
  p.initial = Duration{200};
  p.max = Duration{1000};
  p.multiplier = 3;
  CHECK(p.delay(1, 0.0).count() == 100);
  CHECK(p.delay(2, 0.0).count() == 300);
  CHECK(p.delay(3, 0.0).count() == 500);  // 1800 capped at 1000
  CHECK(p.delay(3, 0.999999).count() <= 1000);
}

TEST_CASE("HTTP status classification") {
  SECTION("2xx delivered") {
    const long s = GENERATE(200L, 201L, 202L, 204L, 299L);
    CHECK(classify(s) == SendOutcome::kDelivered);
  }
  SECTION("4xx other than 408 and 429 rejected") {
    const long s = GENERATE(400L, 401L, 403L, 404L, 405L, 410L, 413L, 422L, 499L);
    CHECK(classify(s) == SendOutcome::kRejected);
  }
  SECTION("everything else retried") {
    const long s = GENERATE(0L, 100L, 301L, 302L, 408L, 429L, 500L, 502L, 503L, 504L, 599L);
    CHECK(classify(s) == SendOutcome::kRetry);
  }
}

namespace {
std::string repeat(unsigned char c, size_t n) { return std::string(n, static_cast<char>(c)); }
}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231's test vectors") {
  using vigil::notify::hmacSha256Hex;
  // Test case 1
  CHECK(hmacSha256Hex(repeat(0x0b, 20), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output
  CHECK(hmacSha256Hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 3: combined length of key and data > 64 bytes
  CHECK(hmacSha256Hex(repeat(0xaa, 20), repeat(0xdd, 50)) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 6: a key larger than the block size
  CHECK(hmacSha256Hex(repeat(0xaa, 131),
                      "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(vigil::notify::signatureHeaderValue("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("a webhook request carries content type, idempotency key and no secret headers when "
          "none are configured") {
  vigil::state::OutboxEntry e;
  e.idempotencyKey = "key-1";
  e.body = "{}";
  e.contentType = "application/json";
  vigil::config::Webhook w;
  w.url = "http://127.0.0.1:1/hook";
  auto r = vigil::notify::buildWebhookRequest(e, w);
  REQUIRE(r.ok());
  std::map<std::string, std::string> h(r->headers.begin(), r->headers.end());
  CHECK(h["Content-Type"] == "application/json");
  CHECK(h["X-Vigil-Idempotency-Key"] == "key-1");
  CHECK(h.count("Authorization") == 0);
  CHECK(h.count("X-Vigil-Signature") == 0);
  CHECK(r->timeout == w.timeout);
}

TEST_CASE("a missing secret file is an error naming the file, not the content") {
  vigil::state::OutboxEntry e;
  vigil::config::Webhook w;
  w.url = "http://127.0.0.1:1/hook";
  w.hmacSecretFile = "/nonexistent/hmac";
  auto r = vigil::notify::buildWebhookRequest(e, w);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("hmac_secret_file") != std::string::npos);
  CHECK(r.error().message.find("/nonexistent/hmac") != std::string::npos);
}

TEST_CASE("a pagerduty routing key is set in the body on the way out, and signed with it") {
  char dir[] = "/tmp/vigil-rk-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string keyFile = std::string(dir) + "/routing-key";
  const std::string hmacFile = std::string(dir) + "/hmac";
  std::ofstream(keyFile) << "R0UT1NGKEY\n";
  std::ofstream(hmacFile) << "s3cret\n";
  vigil::state::OutboxEntry e;
  e.idempotencyKey = "key-2";
  e.body = R"({"dedup_key":"{}:{alertname=\"X\"}","event_action":"trigger","payload":{"summary":"x"}})";
  vigil::config::Webhook w;
  w.url = "http://127.0.0.1:1/v2/enqueue";
  w.format = "pagerduty";
  w.routingKeyFile = keyFile;
  w.hmacSecretFile = hmacFile;
  auto r = vigil::notify::buildWebhookRequest(e, w);
  REQUIRE(r.ok());
  auto body = nlohmann::json::parse(r->body);
  CHECK(body["routing_key"] == "R0UT1NGKEY");  // trailing newline of the file dropped
  CHECK(body["event_action"] == "trigger");
  CHECK(body["dedup_key"] == "{}:{alertname=\"X\"}");
  CHECK(e.body.find("R0UT1NGKEY") == std::string::npos);  // the outbox entry is untouched
  std::map<std::string, std::string> h(r->headers.begin(), r->headers.end());
  CHECK(h["X-Vigil-Signature"] == vigil::notify::signatureHeaderValue("s3cret", r->body));

  w.routingKeyFile = std::string(dir) + "/missing";
  auto missing = vigil::notify::buildWebhookRequest(e, w);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("routing_key_file") != std::string::npos);
  CHECK(missing.error().message.find("R0UT1NGKEY") == std::string::npos);
  std::remove(keyFile.c_str());
  std::remove(hmacFile.c_str());
  rmdir(dir);
}
