#include "airwatch/aggregate.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <thread>

#include "airwatch/error.hpp"

namespace airwatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kPm25MinHours = 18;
constexpr int kOzoneFirstStart = 7;
constexpr int kOzonePeriods = 17;
constexpr int kOzoneMinPeriods = 13;
constexpr double kOzoneStandard = 0.070;

double truncate3(double v) { return std::floor(v * 1000.0 + 1e-6) / 1000.0; }

// The 8-hour average starting at hour h of already-truncated hours: at least 6 valid hours,
// truncated to 0.001 ppm.
double ozone_8h_average(const double* truncated, std::size_t h, std::size_t hours) {
  double sum = 0.0;
  int count = 0;
  for (std::size_t k = h; k < h + 8 && k < hours; ++k) {
    if (!std::isnan(truncated[k])) {
      sum += truncated[k];
      ++count;
    }
  }
  return count >= 6 ? truncate3(sum / count) : kNaN;
}

void check_rows(const int32_t* site, const int32_t* day, const int32_t* hour, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (hour[i] < 0 || hour[i] > 23) {
      throw Error("hour must be 0..23; row " + std::to_string(i) + " has " + std::to_string(hour[i]));
    }
    if (i == 0) continue;
    const bool before =
        site[i] < site[i - 1] ||
        (site[i] == site[i - 1] && (day[i] < day[i - 1] || (day[i] == day[i - 1] && hour[i] <= hour[i - 1])));
    if (before) {
      throw Error("rows must be sorted by (site, day, hour), one per hour; row " + std::to_string(i) +
                  " breaks the order");
    }
  }
}

// Site segments [begin, end) split into `parts` groups of about equal rows, for the worker threads.
std::vector<std::pair<std::size_t, std::size_t>> site_ranges(const int32_t* site, std::size_t n, int parts) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  std::size_t begin = 0;
  for (int p = 1; p <= parts && begin < n; ++p) {
    std::size_t end = p == parts ? n : n * static_cast<std::size_t>(p) / static_cast<std::size_t>(parts);
    if (end <= begin) end = begin + 1;
    while (end < n && site[end] == site[end - 1]) ++end;  // never split a site
    ranges.emplace_back(begin, end);
    begin = end;
  }
  return ranges;
}

template <typename PerSite>
DailyAggregate run_sites(const int32_t* site, std::size_t n, int threads, PerSite per_site) {
  const auto ranges = site_ranges(site, n, n < 200000 ? 1 : threads);
  std::vector<DailyAggregate> parts(ranges.size());
  auto work = [&](std::size_t k) {
    std::size_t i = ranges[k].first;
    while (i < ranges[k].second) {
      std::size_t j = i;
      while (j < ranges[k].second && site[j] == site[i]) ++j;
      per_site(i, j, parts[k]);
      i = j;
    }
  };
  if (parts.size() <= 1) {
    if (!parts.empty()) work(0);
  } else {
    std::vector<std::thread> pool;
    for (std::size_t k = 0; k < parts.size(); ++k) pool.emplace_back(work, k);
    for (auto& t : pool) t.join();
  }
  if (parts.size() == 1) return std::move(parts[0]);
  DailyAggregate out;
  for (auto& p : parts) {
    out.site.insert(out.site.end(), p.site.begin(), p.site.end());
    out.day.insert(out.day.end(), p.day.begin(), p.day.end());
    out.value.insert(out.value.end(), p.value.begin(), p.value.end());
    out.count.insert(out.count.end(), p.count.begin(), p.count.end());
    out.valid.insert(out.valid.end(), p.valid.begin(), p.valid.end());
    out.max_hour.insert(out.max_hour.end(), p.max_hour.begin(), p.max_hour.end());
  }
  return out;
}

}  // namespace

DailyAggregate pm25_daily(const int32_t* site, const int32_t* day, const int32_t* hour, const double* value,
                          std::size_t n, int threads) {
  check_rows(site, day, hour, n);
  return run_sites(site, n, threads, [&](std::size_t b, std::size_t e, DailyAggregate& out) {
    std::size_t i = b;
    while (i < e) {
      std::size_t j = i;
      double sum = 0.0;
      int count = 0;
      while (j < e && day[j] == day[i]) {
        if (!std::isnan(value[j])) {
          sum += value[j];
          ++count;
        }
        ++j;
      }
      out.site.push_back(site[i]);
      out.day.push_back(day[i]);
      out.value.push_back(count > 0 ? sum / count : kNaN);
      out.count.push_back(count);
      out.valid.push_back(count >= kPm25MinHours ? 1 : 0);
      out.max_hour.push_back(-1);
      i = j;
    }
  });
}

std::vector<double> ozone_8h_averages(const double* hourly, std::size_t hours) {
  // Each hour is truncated once, not once per period it falls in; the sums keep the same order.
  std::vector<double> truncated(hours);
  for (std::size_t h = 0; h < hours; ++h) truncated[h] = std::isnan(hourly[h]) ? kNaN : truncate3(hourly[h]);
  std::vector<double> out(hours, kNaN);
  for (std::size_t h = 0; h < hours; ++h) out[h] = ozone_8h_average(truncated.data(), h, hours);
  return out;
}

DailyAggregate ozone_mda8(const int32_t* site, const int32_t* day, const int32_t* hour, const double* value,
                          std::size_t n, int threads) {
  check_rows(site, day, hour, n);
  return run_sites(site, n, threads, [&](std::size_t b, std::size_t e, DailyAggregate& out) {
    // Each day's periods reach 7 hours into the next day, so a day needs its own 24 hours and the
    // next day's: a 48-hour window, not a grid over the site's whole span (which for a site with one
    // stray row decades away, or day numbers far apart, was gigabytes, and its size overflowed int).
    std::array<double, 48> window;
    std::size_t i = b;
    while (i < e) {
      const int32_t this_day = day[i];
      window.fill(kNaN);
      std::size_t j = i;
      for (; j < e && day[j] == this_day; ++j) window[static_cast<std::size_t>(hour[j])] = value[j];
      const bool next_day = j < e && static_cast<int64_t>(day[j]) == static_cast<int64_t>(this_day) + 1;
      for (std::size_t k = j; next_day && k < e && day[k] == day[j]; ++k) {
        window[24 + static_cast<std::size_t>(hour[k])] = value[k];
      }
      for (double& v : window) v = std::isnan(v) ? kNaN : truncate3(v);
      double best = kNaN;
      int best_hour = -1;
      int periods = 0;
      for (int h = kOzoneFirstStart; h < kOzoneFirstStart + kOzonePeriods; ++h) {
        // Only the 17 periods starting 07:00-23:00 count, so only they are computed.
        const double a = ozone_8h_average(window.data(), static_cast<std::size_t>(h), window.size());
        if (std::isnan(a)) continue;
        ++periods;
        if (std::isnan(best) || a > best) {
          best = a;
          best_hour = h;
        }
      }
      out.site.push_back(site[i]);
      out.day.push_back(day[i]);
      out.value.push_back(best);
      out.count.push_back(periods);
      out.valid.push_back(periods >= kOzoneMinPeriods || (!std::isnan(best) && best > kOzoneStandard) ? 1
                                                                                                      : 0);
      out.max_hour.push_back(best_hour);
      i = j;
    }
  });
}

}  // namespace airwatch
