#pragma once
// Every metric name vigil exports, in one place (STYLE rule 9), following SPEC §3. Names shared
// with blackbox_exporter and node_exporter keep their spelling so rules and dashboards carry over.
// Header-only constants: probes and the agent core include it without linking anything.

#include <string_view>

namespace vigil::names {

// Labels.
inline constexpr std::string_view kTarget = "target";
inline constexpr std::string_view kPool = "pool";
inline constexpr std::string_view kUrl = "url";
inline constexpr std::string_view kProbe = "probe";
inline constexpr std::string_view kResult = "result";
inline constexpr std::string_view kPhase = "phase";
inline constexpr std::string_view kCode = "code";
inline constexpr std::string_view kLe = "le";
inline constexpr std::string_view kReceiver = "receiver";
inline constexpr std::string_view kAlertmanager = "alertmanager";
inline constexpr std::string_view kLbState = "lb_state";
inline constexpr std::string_view kServer = "server";

// Probe results (blackbox_exporter's names).
inline constexpr std::string_view kProbeSuccess = "probe_success";
inline constexpr std::string_view kProbeDurationSeconds = "probe_duration_seconds";
inline constexpr std::string_view kProbeHttpStatusCode = "probe_http_status_code";
inline constexpr std::string_view kProbeHttpDurationSeconds = "probe_http_duration_seconds";
inline constexpr std::string_view kProbeHttpContentLength = "probe_http_content_length";
inline constexpr std::string_view kProbeHttpUncompressedBodyLength =
    "probe_http_uncompressed_body_length";
inline constexpr std::string_view kProbeHttpRedirects = "probe_http_redirects";
inline constexpr std::string_view kProbeHttpSsl = "probe_http_ssl";
inline constexpr std::string_view kProbeSslEarliestCertExpiry = "probe_ssl_earliest_cert_expiry";

// Derived from every probe, for rate() rules.
inline constexpr std::string_view kHttpResponsesTotal = "vigil_http_responses_total";
inline constexpr std::string_view kHttpRequestDurationSeconds =
    "vigil_http_request_duration_seconds";

// Memory (node_exporter's names).
inline constexpr std::string_view kNodeMemoryMemTotalBytes = "node_memory_MemTotal_bytes";
inline constexpr std::string_view kNodeMemoryMemAvailableBytes = "node_memory_MemAvailable_bytes";
inline constexpr std::string_view kNodeMemorySwapTotalBytes = "node_memory_SwapTotal_bytes";
inline constexpr std::string_view kNodeMemorySwapFreeBytes = "node_memory_SwapFree_bytes";
inline constexpr std::string_view kNodeVmstatOomKill = "node_vmstat_oom_kill";

// Pools and the load balancer.
inline constexpr std::string_view kPoolMembers = "vigil_pool_members";
inline constexpr std::string_view kPoolMembersInRotation = "vigil_pool_members_in_rotation";
inline constexpr std::string_view kPoolMinInRotation = "vigil_pool_min_in_rotation";
inline constexpr std::string_view kPoolMemberInRotation = "vigil_pool_member_in_rotation";
inline constexpr std::string_view kLbHttpResponsesTotal = "vigil_lb_http_responses_total";
inline constexpr std::string_view kLbSessionsTotal = "vigil_lb_sessions_total";
// Servers of a pool's backend that no configured target maps to (not in SPEC §3's table: the
// report that a load balancer and the config disagree).
inline constexpr std::string_view kPoolUnknownServers = "vigil_pool_unknown_servers";
inline constexpr std::string_view kPoolUnknownServerInRotation =
    "vigil_pool_unknown_server_in_rotation";

// Alerts, exactly as Prometheus exports them.
inline constexpr std::string_view kAlerts = "ALERTS";
inline constexpr std::string_view kAlertsForState = "ALERTS_FOR_STATE";

// The agent's own health.
inline constexpr std::string_view kProbesTotal = "vigil_probes_total";
inline constexpr std::string_view kProbeScheduleLagSeconds = "vigil_probe_schedule_lag_seconds";
inline constexpr std::string_view kProbesSkippedTotal = "vigil_probes_skipped_total";
inline constexpr std::string_view kProbesInFlight = "vigil_probes_in_flight";
inline constexpr std::string_view kTargets = "vigil_targets";
inline constexpr std::string_view kSeries = "vigil_series";
inline constexpr std::string_view kSeriesBytes = "vigil_series_bytes";
inline constexpr std::string_view kRuleEvaluationDurationSeconds =
    "vigil_rule_evaluation_duration_seconds";
inline constexpr std::string_view kRuleEvaluationFailuresTotal =
    "vigil_rule_evaluation_failures_total";
inline constexpr std::string_view kNotificationsTotal = "vigil_notifications_total";
inline constexpr std::string_view kNotificationQueueLength = "vigil_notification_queue_length";
inline constexpr std::string_view kNotificationOldestUndeliveredSeconds =
    "vigil_notification_oldest_undelivered_seconds";
// Alertmanager push (Prometheus' prometheus_notifications_* under our prefix).
inline constexpr std::string_view kAlertmanagerNotificationsTotal =
    "vigil_alertmanager_notifications_total";
inline constexpr std::string_view kAlertmanagerNotificationErrorsTotal =
    "vigil_alertmanager_notification_errors_total";
inline constexpr std::string_view kAlertmanagerNotificationsDroppedTotal =
    "vigil_alertmanager_notifications_dropped_total";
inline constexpr std::string_view kAlertmanagerNotificationQueueLength =
    "vigil_alertmanager_notification_queue_length";
inline constexpr std::string_view kAlertmanagerNotificationQueueCapacity =
    "vigil_alertmanager_notification_queue_capacity";
inline constexpr std::string_view kConfigLastReloadSuccessful =
    "vigil_config_last_reload_successful";
inline constexpr std::string_view kConfigLastReloadSuccessTimestampSeconds =
    "vigil_config_last_reload_success_timestamp_seconds";
inline constexpr std::string_view kConfigReloadsTotal = "vigil_config_reloads_total";
inline constexpr std::string_view kBuildInfo = "vigil_build_info";
inline constexpr std::string_view kProcessCpuSecondsTotal = "process_cpu_seconds_total";
inline constexpr std::string_view kProcessResidentMemoryBytes = "process_resident_memory_bytes";
inline constexpr std::string_view kProcessVirtualMemoryBytes = "process_virtual_memory_bytes";
inline constexpr std::string_view kProcessStartTimeSeconds = "process_start_time_seconds";
inline constexpr std::string_view kProcessOpenFds = "process_open_fds";
inline constexpr std::string_view kProcessMaxFds = "process_max_fds";

}  // namespace vigil::names
