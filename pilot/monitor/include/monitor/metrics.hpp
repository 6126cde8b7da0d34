#pragma once
// The pilot's status as Prometheus metrics, in the text exposition format 0.0.4 that
// node_exporter's textfile collector reads (issue 19): the agent rewrites one `.prom` file every
// few seconds, the site's node_exporter serves it with the node's own metrics, and no port of the
// pilot is ever open.
//
// Every sample carries the label `pilot_reference`: several pilots on one node share the
// collector's directory (one file each), and node_exporter drops series that two files both
// export with the same labels. Two pilots without a reference on one node therefore collide.
//
// Families (base units: seconds, bytes; `_total` are counters, the rest gauges):
//   pilot_info{version,site,host,source}         1
//   pilot_state{state}                           1 for the current state, 0 for every other
//   pilot_start_time_seconds, pilot_status_updated_time_seconds, pilot_status_period_seconds
//   pilot_wall_time_left_seconds, pilot_cpu_work_left_hs06_seconds   absent when unknown
//   pilot_slots, pilot_slots_busy
//   pilot_jobs_running                           the jobs the pilot holds, in any job state
//   pilot_jobs{state}                            the same by job state, every state listed
//   pilot_jobs_finished_total{outcome}           every outcome listed, 0 included
//   pilot_jobs_interrupted_total                 MC jobs stopped early, also in their outcome
//   pilot_events_total                           MC events produced and reported
//   pilot_job_processors{job_id}, pilot_job_cpu_seconds_total{job_id},
//   pilot_job_wall_seconds{job_id}               every job held
//   pilot_job_start_time_seconds{job_id}, pilot_job_memory_bytes{job_id},
//   pilot_job_events{job_id}, pilot_job_events_planned{job_id}   only where known
//   pilot_matcher_requests_total{result}         every result listed, 0 included
//   pilot_matcher_request_duration_seconds       histogram (_bucket{le}, _sum, _count)
//   pilot_heartbeats_total, pilot_reports_pending
// Label values are escaped (backslash, double quote, newline); a byte that is not UTF-8 becomes
// U+FFFD, since the collector would reject the whole file over it.
// A family without a sample (no job holds a known memory figure, ...) is left out whole, its
// HELP and TYPE lines too. No sample has a timestamp: the collector refuses files with them.

#include <filesystem>
#include <string>

#include "monitor/pilot_status.hpp"

namespace pilot::monitor {

// The exposition text, ending in a newline. Pure: reads nothing but `status`.
std::string render_metrics(const PilotStatus& status);

// Replaces `file` (mode 0644: node_exporter runs as another user) with render_metrics(status):
// the text goes to a temporary file beside it whose name does not end in `.prom`, then is
// renamed over it (core/fs.hpp's replace_file), so the collector reads the old text or the new
// one, never a part. Not synced to disk: the next rewrite comes within seconds, and a crash
// loses only a figure that is stale by then. Throws pilot::Error naming `file` when its name does
// not end in `.prom` (the collector would silently ignore it) or when it cannot be written; the
// directory must exist.
void write_metrics_textfile(const std::filesystem::path& file, const PilotStatus& status);

}  // namespace pilot::monitor
