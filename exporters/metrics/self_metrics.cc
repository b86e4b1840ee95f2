#include "exporters/metrics/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "exporters/metrics/names.h"

namespace vigil::metrics {

namespace {

using series::MetricType;

Labels named(std::string_view name, Labels extra = {}) {
  set(extra, kMetricNameLabel, name);
  return extra;
}

struct Description {
  std::string_view name;
  MetricType type;
  std::string_view help;
};

// Help texts follow blackbox_exporter and node_exporter where the metric is theirs.
constexpr Description kDescriptions[] = {
    {names::kProbeSuccess, MetricType::kGauge, "Displays whether or not the probe was a success"},
    {names::kProbeDurationSeconds, MetricType::kGauge,
     "Returns how long the probe took to complete in seconds"},
    {names::kProbeHttpStatusCode, MetricType::kGauge, "Response HTTP status code"},
    {names::kProbeHttpDurationSeconds, MetricType::kGauge,
     "Duration of http request by phase, summed over all redirects"},
    {names::kProbeHttpContentLength, MetricType::kGauge, "Length of http content response"},
    {names::kProbeHttpUncompressedBodyLength, MetricType::kGauge,
     "Length of uncompressed response body"},
    {names::kProbeHttpRedirects, MetricType::kGauge, "The number of redirects"},
    {names::kProbeHttpSsl, MetricType::kGauge,
     "Indicates if SSL was used for the final redirect"},
    {names::kProbeSslEarliestCertExpiry, MetricType::kGauge,
     "Returns last SSL chain expiry in unixtime"},
    {names::kHttpResponsesTotal, MetricType::kCounter,
     "HTTP probe outcomes by status code, or \"error\" when no response arrived"},
    {names::kHttpRequestDurationSeconds, MetricType::kHistogram,
     "Distribution of HTTP probe durations in seconds"},
    {names::kNodeMemoryMemTotalBytes, MetricType::kGauge,
     "Memory information field MemTotal_bytes."},
    {names::kNodeMemoryMemAvailableBytes, MetricType::kGauge,
     "Memory information field MemAvailable_bytes."},
    {"node_memory_MemFree_bytes", MetricType::kGauge, "Memory information field MemFree_bytes."},
    {"node_memory_Buffers_bytes", MetricType::kGauge, "Memory information field Buffers_bytes."},
    {"node_memory_Cached_bytes", MetricType::kGauge, "Memory information field Cached_bytes."},
    {names::kNodeMemorySwapTotalBytes, MetricType::kGauge,
     "Memory information field SwapTotal_bytes."},
    {names::kNodeMemorySwapFreeBytes, MetricType::kGauge,
     "Memory information field SwapFree_bytes."},
    {names::kNodeVmstatOomKill, MetricType::kUntyped, "/proc/vmstat information field oom_kill."},
    {names::kPoolMembers, MetricType::kGauge, "Targets configured in the pool"},
    {names::kPoolMembersInRotation, MetricType::kGauge,
     "Pool members the load balancer is sending traffic to"},
    {names::kPoolMinInRotation, MetricType::kGauge, "Configured minimum of members in rotation"},
    {names::kPoolMemberInRotation, MetricType::kGauge,
     "1 when the member is UP in the load balancer and not drained or in maintenance"},
    {names::kLbHttpResponsesTotal, MetricType::kCounter,
     "HTTP responses per server and class, as the load balancer counted them"},
    {names::kLbSessionsTotal, MetricType::kCounter, "Sessions per server, from the load balancer"},
    {names::kPoolUnknownServers, MetricType::kGauge,
     "Servers of the pool's load-balancer backend that no configured target maps to"},
    {names::kPoolUnknownServerInRotation, MetricType::kGauge,
     "1 when a server of the backend that no configured target maps to is in rotation"},
    {names::kAlerts, MetricType::kGauge, "Alert state of every pending or firing alert"},
    {names::kAlertsForState, MetricType::kGauge,
     "Unix time at which each pending or firing alert became active"},
    {names::kProbesTotal, MetricType::kCounter, "Probes run, by probe kind and result"},
    {names::kProbeScheduleLagSeconds, MetricType::kHistogram,
     "How late probes started relative to their scheduled time"},
    {names::kProbesSkippedTotal, MetricType::kCounter,
     "Probes not started, by reason (the previous one was still running, the loop was late)"},
    {names::kProbesInFlight, MetricType::kGauge, "Probes currently running"},
    {names::kTargets, MetricType::kGauge, "Configured targets"},
    {names::kSeries, MetricType::kGauge, "Series held in the in-memory store"},
    {names::kSeriesBytes, MetricType::kGauge, "Estimated bytes held by the in-memory store"},
    {names::kRuleEvaluationDurationSeconds, MetricType::kHistogram,
     "How long one evaluation of a rule group took"},
    {names::kRuleEvaluationFailuresTotal, MetricType::kCounter,
     "Rule evaluations that failed (the rule is skipped; the others still run)"},
    {names::kNotificationsTotal, MetricType::kCounter,
     "Notifications to each receiver, by result (success, failure: will retry, dropped, "
     "rejected)"},
    {names::kNotificationQueueLength, MetricType::kGauge,
     "Notifications waiting in the outbox for each receiver"},
    {names::kNotificationOldestUndeliveredSeconds, MetricType::kGauge,
     "Age of the oldest undelivered notification of each receiver (0 when none)"},
    {names::kAlertmanagerNotificationsTotal, MetricType::kCounter,
     "Alerts sent to each Alertmanager"},
    {names::kAlertmanagerNotificationErrorsTotal, MetricType::kCounter,
     "Alerts that could not be sent to each Alertmanager"},
    {names::kAlertmanagerNotificationsDroppedTotal, MetricType::kCounter,
     "Alerts dropped before reaching any Alertmanager (queue full, or every Alertmanager failed)"},
    {names::kAlertmanagerNotificationQueueLength, MetricType::kGauge,
     "Alerts waiting to be pushed to Alertmanager"},
    {names::kAlertmanagerNotificationQueueCapacity, MetricType::kGauge,
     "Capacity of the Alertmanager push queue"},
    {names::kConfigLastReloadSuccessful, MetricType::kGauge,
     "Whether the last configuration reload attempt was successful"},
    {names::kConfigLastReloadSuccessTimestampSeconds, MetricType::kGauge,
     "Timestamp of the last successful configuration reload"},
    {names::kConfigReloadsTotal, MetricType::kCounter, "Configuration reloads, by result"},
    {names::kBuildInfo, MetricType::kGauge,
     "A metric with a constant '1' value labeled by version, revision and build date"},
    {names::kProcessCpuSecondsTotal, MetricType::kCounter,
     "Total user and system CPU time spent in seconds"},
    {names::kProcessResidentMemoryBytes, MetricType::kGauge, "Resident memory size in bytes"},
    {names::kProcessVirtualMemoryBytes, MetricType::kGauge, "Virtual memory size in bytes"},
    {names::kProcessStartTimeSeconds, MetricType::kGauge,
     "Start time of the process since unix epoch in seconds"},
    {names::kProcessOpenFds, MetricType::kGauge, "Number of open file descriptors"},
    {names::kProcessMaxFds, MetricType::kGauge, "Maximum number of open file descriptors"},
};

double clockTicks() {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return ticks;
}

}  // namespace

void describeAll(series::SeriesStore& store) {
  for (const auto& d : kDescriptions) store.describe(d.name, d.type, d.help);
}

SelfMetrics::SelfMetrics(series::SeriesStore& store, const std::string& version,
                         const std::string& revision, const std::string& buildDate)
    : store_(store) {
  buildInfo_ = store.ref(named(names::kBuildInfo, {{"builddate", buildDate},
                                                   {"revision", revision},
                                                   {"version", version}}));
  cpu_ = store.ref(named(names::kProcessCpuSecondsTotal));
  rss_ = store.ref(named(names::kProcessResidentMemoryBytes));
  vsize_ = store.ref(named(names::kProcessVirtualMemoryBytes));
  start_ = store.ref(named(names::kProcessStartTimeSeconds));
  openFds_ = store.ref(named(names::kProcessOpenFds));
  maxFds_ = store.ref(named(names::kProcessMaxFds));
  seriesCount_ = store.ref(named(names::kSeries));
  seriesBytes_ = store.ref(named(names::kSeriesBytes));

  // Process start time: field 22 of /proc/self/stat (ticks after boot) plus boot time.
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto rp = content.rfind(')');
  double btime = 0;
  std::ifstream ps("/proc/stat");
  std::string line;
  while (std::getline(ps, line)) {
    if (line.starts_with("btime ")) btime = std::stod(line.substr(6));
  }
  if (rp != std::string::npos) {
    std::istringstream fields(content.substr(rp + 2));
    std::string f;
    for (int i = 3; i <= 22 && (fields >> f); ++i) {
      if (i == 22) startTimeSeconds_ = btime + std::stod(f) / clockTicks();
    }
  }
}

SelfMetrics::~SelfMetrics() {
  const TimestampMs now = SystemClock::instance().nowMs();
  for (auto r : {buildInfo_, cpu_, rss_, vsize_, start_, openFds_, maxFds_, seriesCount_,
                 seriesBytes_}) {
    store_.release(r, now);
  }
}

void SelfMetrics::update(TimestampMs now) {
  double cpu = 0, rss = 0, vsize = 0;
  if (FILE* f = std::fopen("/proc/self/stat", "re")) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the command name, which is in parentheses and may contain spaces.
    if (char* p = std::strrchr(buf, ')')) {
      unsigned long utime = 0, stime = 0, vs = 0;
      long rssPages = 0;
      std::sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
                  "%*u %lu %ld",
                  &utime, &stime, &vs, &rssPages);
      cpu = static_cast<double>(utime + stime) / clockTicks();
      vsize = static_cast<double>(vs);
      rss = static_cast<double>(rssPages) * static_cast<double>(sysconf(_SC_PAGESIZE));
    }
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++fds;
    closedir(d);
    fds -= 3;  // ".", ".." and the directory's own descriptor
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  const auto st = store_.stats();
  const std::pair<series::SeriesRef, double> values[] = {
      {buildInfo_, 1},
      {cpu_, cpu},
      {rss_, rss},
      {vsize_, vsize},
      {start_, startTimeSeconds_},
      {openFds_, static_cast<double>(fds)},
      {maxFds_, static_cast<double>(rl.rlim_cur)},
      {seriesCount_, static_cast<double>(st.series)},
      {seriesBytes_, static_cast<double>(st.bytes)},
  };
  store_.appendBatch(values, now);
}

}  // namespace vigil::metrics
