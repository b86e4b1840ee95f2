// vigil: probes web servers, evaluates alerting rules over what it sees, exports everything to
// Prometheus and pages the on-call engineer. See SPEC.md §1 for the command line.

#include <curl/curl.h>
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/app/daemon.h"
#include "agent/app/demo.h"
#include "agent/app/probe_command.h"
#include "agent/app/support.h"
#include "agent/app/version.h"
#include "agent/config/loader.h"
#include "agent/core/log.h"
#include "agent/rules/alerting.h"
#include "agent/rules/rule_test_runner.h"
#include "agent/state/report.h"
#include "agent/state/state_db.h"

#include <iostream>

namespace {

int checkConfig(const std::string& file) {
  auto cfg = vigil::config::loadConfigFile(file);
  if (!cfg.ok()) {
    std::fprintf(stderr, "vigil: %s\n", cfg.error().format().c_str());
    return 2;
  }
  if (vigil::Status st = vigil::checkSupported(*cfg); !st.ok()) {
    std::fprintf(stderr, "vigil: %s\n", st.error().format().c_str());
    return 2;
  }
  // Every rule file is parsed and its expressions checked, as promtool check config does.
  for (const auto& path : cfg->ruleFilePaths) {
    auto groups = vigil::rules::loadRuleGroups({path}, cfg->global.externalLabels);
    if (!groups.ok()) {
      std::fprintf(stderr, "vigil: %s\n", groups.error().format().c_str());
      return 2;
    }
    size_t rules = 0;
    for (const auto& g : *groups) rules += g.def().rules.size();
    std::printf("%s: SUCCESS: %zu rules found\n", path.c_str(), rules);
  }
  size_t http = 0, memory = 0;
  for (const auto& t : cfg->targets) {
    http += t.http.size();
    memory += t.memory ? 1 : 0;
  }
  std::printf("%s: SUCCESS: %zu targets (%zu http checks, %zu memory probes), %zu pools, "
              "%zu rule files, %zu receivers\n",
              file.c_str(), cfg->targets.size(), http, memory, cfg->pools.size(),
              cfg->ruleFilePaths.size(), cfg->alerting.receivers.size());
  return 0;
}

struct ReportOptions {
  std::string stateDir;
  std::string configFile;
  std::string since = "24h";
  std::string until = "now";
  std::string format = "markdown";
};

/// `vigil report`: 0 with a report (also for an empty window), 2 for bad flags or config, 1 when
/// the state database cannot be read.
int report(const ReportOptions& o) {
  std::string dir = o.stateDir;
  if (dir.empty() && !o.configFile.empty()) {
    auto cfg = vigil::config::loadConfigFile(o.configFile);
    if (!cfg.ok()) {
      std::fprintf(stderr, "vigil: %s\n", cfg.error().format().c_str());
      return 2;
    }
    dir = cfg->global.stateDir;
  }
  if (dir.empty()) dir = vigil::config::Global{}.stateDir;
  const vigil::TimestampMs now = vigil::SystemClock::instance().nowMs();
  auto since = vigil::state::parseTimeArg(o.since, now);
  if (!since.ok()) {
    std::fprintf(stderr, "vigil: --since: %s\n", since.error().format().c_str());
    return 2;
  }
  auto until = vigil::state::parseTimeArg(o.until, now);
  if (!until.ok()) {
    std::fprintf(stderr, "vigil: --until: %s\n", until.error().format().c_str());
    return 2;
  }
  if (*since >= *until) {
    std::fprintf(stderr, "vigil: --since (%s) must be before --until (%s)\n",
                 vigil::formatRfc3339(*since).c_str(), vigil::formatRfc3339(*until).c_str());
    return 2;
  }
  // Read-only: a report never creates, migrates or locks out the daemon's database.
  auto db = vigil::state::StateDb::openReadOnly(dir);
  if (!db.ok()) {
    std::fprintf(stderr, "vigil: %s\n", db.error().format().c_str());
    return 1;
  }
  auto events = (*db)->events(*since, *until);
  if (!events.ok()) {
    std::fprintf(stderr, "vigil: %s\n", events.error().format().c_str());
    return 1;
  }
  const std::string out = o.format == "json"
                              ? vigil::state::renderJson(*events, *since, *until)
                              : vigil::state::renderMarkdown(*events, *since, *until);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The probe loop allocates and frees a little per probe; without this glibc keeps shrinking
  // and regrowing the thread's heap (an mprotect per probe at high rates).
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  // Web worker threads would each get an arena of their own; a scrape's short-lived buffers
  // then pin memory in several arenas at once.
  mallopt(M_ARENA_MAX, 2);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CLI::App app{"vigil: health monitoring and alerting agent", "vigil"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all");

  vigil::RunOptions run;
  std::string logLevel = "info", logFormat = "logfmt";
  auto* runCmd = app.add_subcommand("run", "Run the agent (the daemon)");
  runCmd->add_option("--config", run.configFile, "Config file (default: the embedded config)");
  runCmd->add_option("--state-dir", run.stateDir, "State directory (overrides global.state_dir)");
  runCmd->add_option("--web.listen-address", run.listenAddress, "Address to listen on")
      ->capture_default_str();
  runCmd->add_flag("--web.enable-lifecycle", run.enableLifecycle, "Enable POST /-/reload");
  runCmd->add_option("--shard", run.shard,
                     "Probe only shard N of M (N/M, counting from 0): targets by name, pool "
                     "members with their pool");
  runCmd->add_option("--web.config.file", run.webConfigFile,
                     "exporter-toolkit web config: TLS and basic auth for every endpoint");
  runCmd->add_option("--log.level", logLevel, "debug|info|warn|error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  runCmd->add_option("--log.format", logFormat, "logfmt|json")
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->capture_default_str();

  std::string checkFile;
  auto* checkCmd = app.add_subcommand("check-config", "Validate a config file and its rule files");
  checkCmd->add_option("file", checkFile, "Config file")->required();

  std::string probeUrl, probeConfig, probeTarget, probeTimeout = "10s";
  auto* probeCmd = app.add_subcommand("probe", "Run one probe now and print a trace");
  probeCmd->add_option("url", probeUrl, "URL to probe");
  probeCmd->add_option("--config", probeConfig, "Config file");
  probeCmd->add_option("--target", probeTarget, "Target name in the config");
  probeCmd->add_option("--timeout", probeTimeout, "Timeout for a URL probe")->capture_default_str();

  std::vector<std::string> ruleTestFiles;
  auto* testRulesCmd =
      app.add_subcommand("test-rules", "Run rule unit tests (promtool's test file format)");
  testRulesCmd->add_option("files", ruleTestFiles, "Test files")->required();

  ReportOptions reportOpts;
  auto* reportCmd =
      app.add_subcommand("report", "Draft an incident timeline from the recorded events");
  reportCmd->add_option("--state-dir", reportOpts.stateDir,
                        "State directory (default: the config's global.state_dir, else "
                        "/var/lib/vigil)");
  reportCmd->add_option("--config", reportOpts.configFile, "Config file to take state_dir from");
  reportCmd->add_option("--since", reportOpts.since, "Start: RFC 3339, or a duration ago")
      ->capture_default_str();
  reportCmd->add_option("--until", reportOpts.until, "End: RFC 3339, a duration ago, or now")
      ->capture_default_str();
  reportCmd->add_option("--format", reportOpts.format, "markdown|json")
      ->check(CLI::IsMember({"markdown", "json"}))
      ->capture_default_str();

  auto* versionCmd = app.add_subcommand("version", "Print version information");

  vigil::DemoOptions demo;
  auto* demoCmd = app.add_subcommand(
      "demo", "Replay the Devschool incident on simulated servers (under a minute)");
  demoCmd->add_flag("--keep", demo.keepWorkDir,
                    "Keep the generated config, rules, log and state afterwards");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "vigil: %s\n", e.what());
    return 2;
  }

  int rc = 0;
  if (*versionCmd) {
    std::printf("vigil, version %s (revision: %s)\n  build date: %s\n", vigil::kVersion,
                vigil::buildRevision().c_str(), vigil::buildDate().c_str());
  } else if (*testRulesCmd) {
    rc = vigil::rules::runRuleTests(ruleTestFiles, std::cout, std::cerr);
  } else if (*checkCmd) {
    rc = checkConfig(checkFile);
  } else if (*reportCmd) {
    rc = report(reportOpts);
  } else if (*probeCmd) {
    if (!probeUrl.empty() && probeConfig.empty() && probeTarget.empty()) {
      rc = vigil::probeUrlCommand(probeUrl, probeTimeout);
    } else if (probeUrl.empty() && !probeConfig.empty() && !probeTarget.empty()) {
      rc = vigil::probeTargetCommand(probeConfig, probeTarget);
    } else {
      std::fprintf(stderr, "vigil: usage: vigil probe URL | vigil probe --config FILE --target NAME\n");
      rc = 2;
    }
  } else if (*demoCmd) {
    rc = vigil::runDemo(demo);
  } else if (*runCmd) {
    vigil::log::Level level;
    vigil::log::Format format;
    vigil::log::parseLevel(logLevel, &level);
    vigil::log::parseFormat(logFormat, &format);
    vigil::log::configure(level, format);
    rc = vigil::runDaemon(run);
  }
  curl_global_cleanup();
  return rc;
}
