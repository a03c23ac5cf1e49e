// Per-site daily series on a calendar grid and the leakage-safe feature block computed from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace airwatch {

// A daily series per site laid on a gap-free calendar: one row per site and day from the site's
// first to its last observation, NaN where the day has no value. Rows are sorted by (site, day).
struct DailyGrid {
  std::vector<int32_t> site;
  std::vector<int32_t> day;  // days since 1970-01-01
  std::vector<double> value;
};

// Builds the grid from observations sorted by (site, day) with one value per site and day.
// Throws airwatch::Error naming the first offending row when keys are unsorted or repeated.
DailyGrid daily_grid(const int32_t* site, const int32_t* day, const double* value, std::size_t n);

struct FeatureSpec {
  std::vector<int> lags;                // value k days before the issue day (k >= 1), issue day is lag 0
  std::vector<int> mean_windows;        // rolling mean over the w days ending on the issue day
  std::vector<int> std_windows;         // rolling standard deviation (sample, ddof = 1)
  std::vector<int> max_windows;         // rolling maximum
  bool calendar = true;                 // day-of-year sine/cosine and weekday of the issue day
  std::vector<double> ewm_alphas = {};  // exponentially weighted means, m = a*x + (1-a)*m over observed days
  int threads = 1;                      // worker threads (sites are split between them)
  std::vector<int> missing_windows = {7};  // missing_<w>: days without a value among the last w
};
// After the rolling statistics come ewm_<alpha> for each alpha, then always: days_since_obs (days
// since the newest value on or before the issue day), last_value (that value: the persistence
// forecast when the issue day itself has no value), then missing_<w> for each missing window (days
// without a value among the last w, days before the site's first row included: a missing-data
// indicator).

// Feature names in the column order compute_features writes.
std::vector<std::string> feature_names(const FeatureSpec& spec);

// Computes the feature block for every grid row, using only values on or before that row's day (the
// issue day), so a forecast for day + h never sees its target. Output is column-major: column j
// starts at out[j * n]. A rolling statistic needs at least half its window observed, else NaN.
void compute_features(const DailyGrid& grid, const FeatureSpec& spec, double* out);

// Same, on raw grid columns (sorted by site, then consecutive days).
void compute_features(const int32_t* site, const int32_t* day, const double* value, std::size_t n,
                      const FeatureSpec& spec, double* out);

// Civil-calendar helpers on days since 1970-01-01.
int day_of_year(int32_t day) noexcept;  // 1..366
int weekday(int32_t day) noexcept;      // 0 = Monday .. 6 = Sunday

}  // namespace airwatch
