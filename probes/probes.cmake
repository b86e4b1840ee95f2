# The probes library: one file per protocol, plus the builtin table.
add_library(vigil_probes STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/http_probe.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/node_exporter_probe.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/ssh_session.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/ssh_probe.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/haproxy_probe.cc)
add_library(vigil::probes ALIAS vigil_probes)
target_link_libraries(vigil_probes PUBLIC vigil_core vigil_scheduler vigil_metric_names CURL::libcurl fmt::fmt)
# The SSH memory source: libssh (Debian's libssh-dev), found through pkg-config.
pkg_check_modules(LIBSSH REQUIRED IMPORTED_TARGET libssh)
target_link_libraries(vigil_probes PRIVATE PkgConfig::LIBSSH)
target_compile_definitions(vigil_probes PRIVATE VIGIL_VERSION="${PROJECT_VERSION}")
if(TARGET vigil_parsers)
  target_link_libraries(vigil_probes PUBLIC vigil_parsers)
endif()
