// EPA daily statistics from hourly data (40 CFR Part 50): the PM2.5 24-hour average (Appendix N) and
// the ozone daily maximum 8-hour average, MDA8 (Appendix U, 2015). Hours are local standard time, as
// AQS reports them, so every day has 24 hours (no daylight-saving days).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace airwatch {

struct DailyAggregate {
  std::vector<int32_t> site;
  std::vector<int32_t> day;
  std::vector<double> value;      // NaN when no statistic can be computed
  std::vector<int32_t> count;     // valid hours (PM2.5) or valid 8-hour periods among the 17 (ozone)
  std::vector<uint8_t> valid;     // meets EPA's completeness rule (or, for ozone, exceeds the standard)
  std::vector<int32_t> max_hour;  // ozone: start hour of the first maximum 8-hour period; -1 otherwise
};

// Rows sorted by (site, day, hour), one per site and hour, hour 0..23; NaN marks a missing hour.
// Throws airwatch::Error naming the first offending row.

// 24-hour average of the valid hours of each site-day; valid with at least 18 of 24 hours (75%).
DailyAggregate pm25_daily(const int32_t* site, const int32_t* day, const int32_t* hour, const double* value,
                          std::size_t n, int threads = 2);

// MDA8 per site-day: hourly values truncated to 0.001 ppm; the 8-hour average starting at each hour
// uses the valid hours among the 8 (at least 6, divisor = their number) and is truncated to 0.001 ppm;
// the MDA8 is the highest of the 17 averages starting 07:00..23:00 (the later ones reach into the next
// day). The day is valid with at least 13 of the 17 averages, or when the MDA8 exceeds 0.070 ppm.
DailyAggregate ozone_mda8(const int32_t* site, const int32_t* day, const int32_t* hour, const double* value,
                          std::size_t n, int threads = 2);

// Each 8-hour running average (starting at every hour of the site's span), for tests and features.
std::vector<double> ozone_8h_averages(const double* hourly, std::size_t hours);

}  // namespace airwatch
