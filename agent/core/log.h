#pragma once
// Structured logs as Prometheus-world operators grep them: logfmt on stderr by default
// (`level=info ts=2026-11-25T16:00:00.000Z caller=scheduler.cc:42 msg="..." key=value`), or one
// JSON object per line. Thread-safe; each line is written with one write(2).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace vigil::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kLogfmt, kJson };

/// Parses "debug"|"info"|"warn"|"error"; false when unknown.
bool parseLevel(std::string_view s, Level* out);
/// Parses "logfmt"|"json"; false when unknown.
bool parseFormat(std::string_view s, Format* out);

/// Global settings; call before starting threads.
void configure(Level level, Format format);
/// Redirects output to a file descriptor (tests); default 2.
void setFd(int fd);
bool enabled(Level level);

using Field = std::pair<std::string_view, std::string>;

/// Where a log line comes from. std::source_location would do, but clang 14 cannot compile
/// libstdc++ 12's version of it, and the fuzz build uses clang.
struct SourceLoc {
  const char* file;
  int line;
};

/// Writes one line. `fields` values are quoted/escaped as the format needs.
void write(Level level, std::string_view msg, std::initializer_list<Field> fields,
           SourceLoc loc);

#define VIGIL_LOG(level, msg, ...)                                                     \
  do {                                                                                 \
    if (::vigil::log::enabled(level)) {                                                \
      ::vigil::log::write(level, msg, {__VA_ARGS__},                                    \
                          ::vigil::log::SourceLoc{__FILE__, __LINE__});                  \
    }                                                                                  \
  } while (0)
#define LOG_DEBUG(msg, ...) VIGIL_LOG(::vigil::log::Level::kDebug, msg __VA_OPT__(, ) __VA_ARGS__)
#define LOG_INFO(msg, ...) VIGIL_LOG(::vigil::log::Level::kInfo, msg __VA_OPT__(, ) __VA_ARGS__)
#define LOG_WARN(msg, ...) VIGIL_LOG(::vigil::log::Level::kWarn, msg __VA_OPT__(, ) __VA_ARGS__)
#define LOG_ERROR(msg, ...) VIGIL_LOG(::vigil::log::Level::kError, msg __VA_OPT__(, ) __VA_ARGS__)

}  // namespace vigil::log
