#include "farmsim/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace pilot::farmsim {

namespace {

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{40, 40, 40};
constexpr Rgb kGrid{228, 228, 228};
constexpr Rgb kOutage{253, 226, 226};
constexpr double kRateClip = 4;  // times the capacity

Rgb policy_colour(Policy p) {
  return p == Policy::ours ? Rgb{31, 119, 180} : Rgb{230, 110, 0};
}

Rgb lighter(Rgb c) {
  auto mix = [](std::uint8_t v) { return static_cast<std::uint8_t>(v + (255 - v) * 55 / 100); };
  return {mix(c.r), mix(c.g), mix(c.b)};
}

// 1, 2 or 5 times a power of ten, giving about `ticks` intervals over `range`.
double nice_step(double range, int ticks) {
  double raw = range / ticks;
  if (!(raw > 0)) return 1;
  double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double n = raw / magnitude;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

struct TimeUnit {
  double seconds;
  const char* name;
};

TimeUnit time_unit(double duration_s) {
  if (duration_s >= 7200) return {3600, "h"};
  if (duration_s >= 600) return {60, "min"};
  return {1, "s"};
}

struct Panel {
  int left, top, right, bottom;
  double x_max, y_max;
  double px(double x) const { return left + (right - left) * std::clamp(x / x_max, 0.0, 1.0); }
  double py(double y) const { return bottom - (bottom - top) * std::clamp(y / y_max, 0.0, 1.0); }
};

void shade_outage(Image& img, const Panel& p, const Scenario& s) {
  if (!s.outage) return;
  img.fill_rect(static_cast<int>(p.px(s.outage->start_s)), p.top,
                static_cast<int>(p.px(s.outage->end_s())) + 1, p.bottom, kOutage);
}

void x_axis(Image& img, const Panel& p, TimeUnit unit) {
  double step = nice_step(p.x_max / unit.seconds, 8);
  for (double v = 0; v <= p.x_max / unit.seconds + 1e-9; v += step) {
    double x = p.px(v * unit.seconds);
    img.line(x, p.top, x, p.bottom, kGrid);
    img.line(x, p.bottom, x, p.bottom + 4, kInk);
    std::string label = tick_label(v);
    img.text(static_cast<int>(x) - Image::text_width(label) / 2, p.bottom + 7, label, kInk);
  }
}

void y_axis(Image& img, const Panel& p, double step) {
  for (double v = 0; v <= p.y_max + 1e-9; v += step) {
    double y = p.py(v);
    img.line(p.left, y, p.right, y, kGrid);
    img.line(p.left - 4, y, p.left, y, kInk);
    std::string label = tick_label(v);
    img.text(p.left - 7 - Image::text_width(label), static_cast<int>(y) - 3, label, kInk);
  }
}

void frame(Image& img, const Panel& p, const std::string& caption) {
  img.line(p.left, p.top, p.left, p.bottom, kInk);
  img.line(p.left, p.bottom, p.right, p.bottom, kInk);
  img.text(p.left, p.top - 13, caption, kInk);
}

template <class Value>
void curve(Image& img, const Panel& p, const std::vector<SeriesPoint>& series, Value value, Rgb c,
           int thickness) {
  for (std::size_t i = 1; i < series.size(); ++i)
    img.line(p.px(series[i - 1].t), p.py(value(series[i - 1])), p.px(series[i].t),
             p.py(value(series[i])), c, thickness);
}

struct LegendEntry {
  std::string text;
  Rgb colour;
  int thickness;
  int dash;
};

// A box of entries with its top right corner at (right, top).
void legend(Image& img, int right, int top, const std::vector<LegendEntry>& entries) {
  int widest = 0;
  for (const auto& e : entries) widest = std::max(widest, Image::text_width(e.text));
  int left = right - widest - 44;
  int bottom = top + 8 + 13 * static_cast<int>(entries.size());
  img.fill_rect(left, top, right, bottom, kWhite);
  for (int x : {left, right - 1}) img.line(x, top, x, bottom - 1, kInk);
  for (int y : {top, bottom - 1}) img.line(left, y, right - 1, y, kInk);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    int y = top + 10 + 13 * static_cast<int>(i);
    const auto& e = entries[i];
    img.line(left + 6, y, left + 30, y, e.colour, e.thickness, e.dash);
    img.text(left + 36, y - 3, e.text, kInk);
  }
}

void busy_panel(Image& img, const Panel& p, const Scenario& s, const std::vector<PolicyRun>& runs) {
  shade_outage(img, p, s);
  y_axis(img, p, 20);
  x_axis(img, p, time_unit(s.duration_s));
  frame(img, p, "busy slots (% of " + std::to_string(s.slots()) + ")");
  std::vector<LegendEntry> entries;
  auto slots = static_cast<double>(s.slots());
  for (const auto& run : runs) {
    curve(
        img, p, run.summary.series,
        [slots](const SeriesPoint& q) { return 100.0 * static_cast<double>(q.busy_slots) / slots; },
        policy_colour(run.policy), 2);
    entries.push_back({policy_name(run.policy), policy_colour(run.policy), 2, 0});
  }
  legend(img, p.right - 8, p.bottom - 16 - 13 * static_cast<int>(entries.size()), entries);
}

double highest_rate(const std::vector<PolicyRun>& runs) {
  double most = 0;
  for (const auto& run : runs)
    for (const auto& q : run.summary.series)
      most = std::max({most, q.offered_per_s, q.served_per_s});
  return most;
}

void rate_panel(Image& img, Panel p, const Scenario& s, const std::vector<PolicyRun>& runs) {
  double capacity = s.capacity_per_s();
  double top = std::max(highest_rate(runs), 1.2 * capacity);
  bool clipped = top > kRateClip * capacity;
  top = std::min(top, kRateClip * capacity);
  double step = nice_step(top, 5);
  p.y_max = std::ceil(top / step) * step;
  shade_outage(img, p, s);
  y_axis(img, p, step);
  x_axis(img, p, time_unit(s.duration_s));
  frame(img, p,
        std::string("Matcher requests per second") + (clipped ? " (clipped at 4x capacity)" : ""));
  std::vector<LegendEntry> entries;
  for (const auto& run : runs) {
    Rgb c = policy_colour(run.policy);
    curve(
        img, p, run.summary.series, [](const SeriesPoint& q) { return q.offered_per_s; },
        lighter(c), 1);
    curve(
        img, p, run.summary.series, [](const SeriesPoint& q) { return q.served_per_s; }, c, 2);
    entries.push_back({std::string(policy_name(run.policy)) + " offered", lighter(c), 1, 0});
    entries.push_back({std::string(policy_name(run.policy)) + " served", c, 2, 0});
  }
  img.line(p.left, p.py(capacity), p.right, p.py(capacity), kInk, 1, 6);
  entries.push_back({"capacity " + tick_label(capacity) + "/s", kInk, 1, 6});
  legend(img, p.right - 8, p.top + 8, entries);
}

std::string subtitle(const Scenario& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%d nodes x %d slots, Matcher %d workers x %g s (%s) = %g requests/s, time-out "
                "%g s%s",
                s.nodes, s.slots_per_node, s.matcher_workers, s.service_s,
                service_dist_name(s.service_dist), s.capacity_per_s(), s.client_timeout_s,
                s.outage ? ", outage shaded" : "");
  return buf;
}

}  // namespace

Image plot(const Scenario& s, const std::vector<PolicyRun>& runs, int width, int height) {
  Image img(width, height, kWhite);
  std::string title = std::string("pilot-farmsim: ") + scenario_name(s.kind) + " farm start";
  img.text((width - Image::text_width(title, 2)) / 2, 8, title, kInk, 2);
  std::string sub = subtitle(s);
  img.text((width - Image::text_width(sub)) / 2, 28, sub, kInk);
  int top = 58, bottom_margin = 40, gap = 52;
  int panel_height = (height - top - bottom_margin - gap) / 2;
  Panel busy{70, top, width - 24, top + panel_height, s.duration_s, 100};
  Panel rates{70, busy.bottom + gap, width - 24, busy.bottom + gap + panel_height, s.duration_s, 1};
  busy_panel(img, busy, s, runs);
  rate_panel(img, rates, s, runs);
  std::string unit = std::string("time (") + time_unit(s.duration_s).name + ")";
  img.text(rates.right - Image::text_width(unit), rates.bottom + 22, unit, kInk);
  return img;
}

}  // namespace pilot::farmsim
