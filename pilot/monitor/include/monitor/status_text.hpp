#pragma once
// PilotStatus as a person reads it (`pilot status`, `pilot queue list`): durations as
// "1 h 02 min", memory as "512 MiB", MC progress as a bar with events done / planned, and
// nothing printed for a figure that is unknown. The exact values are the JSON form's.

#include <cstdint>
#include <optional>
#include <string>

#include "monitor/pilot_status.hpp"
#include "monitor/status_file.hpp"

namespace pilot::monitor {

std::string human_duration(double seconds);   // "45 s", "3 min 05 s", "1 h 02 min", "2 d 03 h"
std::string human_bytes(std::int64_t bytes);  // "980 B", "12.5 KiB", "512 MiB", "1.5 GiB"
// "[##########..........]  50 %  200/400"; `width` counts the bar's cells.
std::string progress_bar(std::int64_t done, std::int64_t planned, int width = 20);

// One job as a table row under job_table_header(): id, state, processors, CPU, wall, memory,
// MC progress; `id_width` fits the longest id of the table (local queue ids are 27 long).
std::string job_table_header(int id_width = 14);
std::string job_row(const JobView& job, int id_width = 14);

// The whole status: who and where, state, budget, slots, a row per job, the counters, and how
// old it is; a stale status says so first.
std::string render_status(const PilotStatus& status, const Freshness& freshness);

}  // namespace pilot::monitor
