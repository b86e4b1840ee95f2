#pragma once
// What `vigil version` and vigil_build_info report; filled in by CMake at configure time.

#include <string>

namespace vigil {

inline constexpr const char* kVersion = VIGIL_VERSION;
inline std::string buildRevision() { return VIGIL_GIT_REVISION; }
inline std::string buildDate() { return VIGIL_BUILD_DATE; }

}  // namespace vigil
