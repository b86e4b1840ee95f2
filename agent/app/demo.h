#pragma once
// `vigil demo`: the Devschool incident replayed in under a minute on loopback.
//
// The demo process simulates the incident's three machines behind one loopback HTTP listener:
// web-01 and web-02 (their routes and a node_exporter-format memory page each) and the HAProxy
// load balancer (its stats page in CSV form, round-robin user traffic at 50 requests/s). It runs
// the real agent as a child process (`vigil run` on a generated config with the default rule
// pack and 1 s intervals) whose built-in notifier pages a webhook on the same listener, and
// steers the scenario: web-02 is left in maintenance after a test, web-01 carries everything and
// its memory drains, then web-01 answers 500 on every route, then the on-call engineer fixes it.
// Each page is printed as it arrives; at the end, a timeline with time-to-detect figures.

#include <cstdio>
#include <string>

namespace vigil {

struct DemoOptions {
  std::string self;           ///< the vigil binary to run as the agent (default /proc/self/exe)
  bool keepWorkDir = false;   ///< keep the generated config, logs and state for a look afterwards
  std::FILE* out = stdout;
};

/// Runs the demo; returns the process exit status (0 when every expected page arrived).
int runDemo(const DemoOptions& options);

}  // namespace vigil
