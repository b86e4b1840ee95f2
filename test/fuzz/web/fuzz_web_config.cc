// libFuzzer target for --web.config.file: any input yields a WebConfig or an Error, never a crash,
// a hang or an exception; and basic-auth header parsing of arbitrary bytes never crashes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exporters/web/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = vigil::web::parseWebConfig(text, "/nonexistent-vigil-fuzz/web.yml");
  if (!r.ok()) (void)r.error().format();
  // The same bytes as an Authorization header against a user whose hash does not verify
  // quickly: only the parsing up to bcrypt matters, so keep inputs that reach it rare.
  if (size < 64) {
    vigil::web::BasicAuth auth({{"alice", "$2b$04$abcdefghijklmnopqrstuuJ3XG1Xr3k0lEmFZt2Ppo2Rj8D4y2tDK"}});
    (void)auth.check(std::string(text).c_str());
  }
  return 0;
}
