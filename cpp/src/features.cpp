#include "airwatch/features.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <thread>

#include "airwatch/error.hpp"

namespace airwatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int min_count(int window) { return (window + 1) / 2; }

void check_windows(const std::vector<int>& windows, const char* what, int lowest) {
  for (int w : windows) {
    if (w < lowest) {
      throw Error(std::string(what) + " must be >= " + std::to_string(lowest) + ", got " + std::to_string(w));
    }
  }
}

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm), proleptic Gregorian.
struct Civil {
  int year;
  unsigned month;
  unsigned day;
};

Civil civil_from_days(int32_t z_in) noexcept {
  long z = static_cast<long>(z_in) + 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long y = static_cast<long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), m, d};
}

bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

int day_of_year(int32_t day) noexcept {
  static constexpr int cumulative[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  const Civil c = civil_from_days(day);
  return cumulative[c.month - 1] + static_cast<int>(c.day) + (c.month > 2 && is_leap(c.year) ? 1 : 0);
}

int weekday(int32_t day) noexcept {
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  const int w = static_cast<int>((static_cast<long>(day) + 3) % 7);
  return w < 0 ? w + 7 : w;
}

DailyGrid daily_grid(const int32_t* site, const int32_t* day, const double* value, std::size_t n) {
  DailyGrid grid;
  if (n == 0) return grid;
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) {
      const bool same_site = site[i] == site[i - 1];
      if (site[i] < site[i - 1] || (same_site && day[i] <= day[i - 1])) {
        throw Error("rows must be sorted by (site, day) with one row per site and day; row " +
                    std::to_string(i) + " (site " + std::to_string(site[i]) + ", day " +
                    std::to_string(day[i]) + ") breaks the order");
      }
      total += same_site ? static_cast<std::size_t>(day[i] - day[i - 1]) : 1;
    } else {
      total = 1;
    }
  }
  grid.site.reserve(total);
  grid.day.reserve(total);
  grid.value.reserve(total);
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && site[i] == site[i - 1]) {
      for (int32_t d = day[i - 1] + 1; d < day[i]; ++d) {
        grid.site.push_back(site[i]);
        grid.day.push_back(d);
        grid.value.push_back(kNaN);
      }
    }
    grid.site.push_back(site[i]);
    grid.day.push_back(day[i]);
    grid.value.push_back(value[i]);
  }
  return grid;
}

std::vector<std::string> feature_names(const FeatureSpec& spec) {
  std::vector<std::string> names;
  for (int k : spec.lags) names.push_back("lag_" + std::to_string(k));
  for (int w : spec.mean_windows) names.push_back("mean_" + std::to_string(w));
  for (int w : spec.std_windows) names.push_back("std_" + std::to_string(w));
  for (int w : spec.max_windows) names.push_back("max_" + std::to_string(w));
  for (double a : spec.ewm_alphas) {
    std::string label = std::to_string(a);
    label.erase(label.find_last_not_of('0') + 1);
    if (!label.empty() && label.back() == '.') label.pop_back();
    names.push_back("ewm_" + label);
  }
  names.emplace_back("days_since_obs");
  names.emplace_back("last_value");
  for (int w : spec.missing_windows) names.push_back("missing_" + std::to_string(w));
  if (spec.calendar) {
    names.emplace_back("doy_sin");
    names.emplace_back("doy_cos");
    names.emplace_back("weekday");
  }
  return names;
}

namespace {

// Rows [begin, end) of the grid, begin at a site's first row: what one worker computes.
void features_range(const int32_t* site, const int32_t* day, const double* value, std::size_t n,
                    std::size_t begin, std::size_t end, const FeatureSpec& spec, double* out) {
  auto column = [&](std::size_t j) { return out + j * n; };
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t seg_start = begin;
  std::size_t last_obs = kNone;  // newest row of this site with a value, on or before row i
  // Running sum and count of observed values per mean window, and EWM state per alpha.
  std::vector<double> run_sum(spec.mean_windows.size(), 0.0);
  std::vector<int> run_count(spec.mean_windows.size(), 0);
  std::vector<double> ewm(spec.ewm_alphas.size(), kNaN);
  std::vector<int> missing(spec.missing_windows.size(), 0);
  for (std::size_t i = begin; i < end; ++i) {
    if (i > begin && site[i] != site[i - 1]) {
      seg_start = i;
      last_obs = kNone;
      std::fill(run_sum.begin(), run_sum.end(), 0.0);
      std::fill(run_count.begin(), run_count.end(), 0);
      std::fill(ewm.begin(), ewm.end(), kNaN);
      std::fill(missing.begin(), missing.end(), 0);
    }
    const std::size_t avail = i - seg_start;  // rows of this site before row i
    std::size_t col = 0;

    for (int k : spec.lags) {
      column(col++)[i] = static_cast<std::size_t>(k) <= avail ? value[i - static_cast<std::size_t>(k)] : kNaN;
    }
    for (std::size_t m = 0; m < spec.mean_windows.size(); ++m) {
      const auto w = static_cast<std::size_t>(spec.mean_windows[m]);
      if (!std::isnan(value[i])) {
        run_sum[m] += value[i];
        ++run_count[m];
      }
      if (avail >= w && !std::isnan(value[i - w])) {  // the value leaving the window
        run_sum[m] -= value[i - w];
        --run_count[m];
      }
      // A sum kept by adding and subtracting drifts; recompute it exactly when the window empties.
      if (run_count[m] == 0) run_sum[m] = 0.0;
      column(col++)[i] = run_count[m] >= min_count(spec.mean_windows[m]) ? run_sum[m] / run_count[m] : kNaN;
    }
    for (int w : spec.std_windows) {
      const std::size_t from = i - std::min(avail, static_cast<std::size_t>(w - 1));
      double sum = 0.0;
      int count = 0;
      for (std::size_t j = from; j <= i; ++j) {
        if (!std::isnan(value[j])) {
          sum += value[j];
          ++count;
        }
      }
      double result = kNaN;
      if (count >= std::max(2, min_count(w))) {
        const double mean = sum / count;
        double ss = 0.0;
        for (std::size_t j = from; j <= i; ++j) {
          if (!std::isnan(value[j])) ss += (value[j] - mean) * (value[j] - mean);
        }
        result = std::sqrt(ss / (count - 1));
      }
      column(col++)[i] = result;
    }
    for (int w : spec.max_windows) {
      const std::size_t from = i - std::min(avail, static_cast<std::size_t>(w - 1));
      double best = -std::numeric_limits<double>::infinity();
      int count = 0;
      for (std::size_t j = from; j <= i; ++j) {
        if (!std::isnan(value[j])) {
          best = std::max(best, value[j]);
          ++count;
        }
      }
      column(col++)[i] = count >= min_count(w) ? best : kNaN;
    }
    for (std::size_t a = 0; a < spec.ewm_alphas.size(); ++a) {
      if (!std::isnan(value[i])) {
        ewm[a] =
            std::isnan(ewm[a]) ? value[i] : spec.ewm_alphas[a] * value[i] + (1 - spec.ewm_alphas[a]) * ewm[a];
      }
      column(col++)[i] = ewm[a];
    }
    if (!std::isnan(value[i])) last_obs = i;
    column(col++)[i] = last_obs != kNone ? static_cast<double>(i - last_obs) : kNaN;
    column(col++)[i] = last_obs != kNone ? value[last_obs] : kNaN;
    for (std::size_t m = 0; m < spec.missing_windows.size(); ++m) {
      const auto w = static_cast<std::size_t>(spec.missing_windows[m]);
      missing[m] += std::isnan(value[i]) ? 1 : 0;
      if (avail >= w && std::isnan(value[i - w])) --missing[m];
      // Days before the site's first row count as missing too.
      column(col++)[i] =
          static_cast<double>(missing[m] + (avail + 1 < w ? static_cast<int>(w - 1 - avail) : 0));
    }
    if (spec.calendar) {
      const int doy = day_of_year(day[i]);
      const double angle = 2.0 * std::numbers::pi * (doy - 1) / 365.25;
      column(col++)[i] = std::sin(angle);
      column(col++)[i] = std::cos(angle);
      column(col++)[i] = weekday(day[i]);
    }
  }
}

}  // namespace

void compute_features(const int32_t* site, const int32_t* day, const double* value, std::size_t n,
                      const FeatureSpec& spec, double* out) {
  for (int k : spec.lags) {
    if (k < 0) throw Error("lags must be >= 0, got " + std::to_string(k));
  }
  check_windows(spec.mean_windows, "mean windows", 1);
  check_windows(spec.std_windows, "std windows", 2);
  check_windows(spec.max_windows, "max windows", 1);
  check_windows(spec.missing_windows, "missing windows", 1);
  for (double a : spec.ewm_alphas) {
    if (!(a > 0.0 && a <= 1.0)) throw Error("ewm alphas must be in (0, 1], got " + std::to_string(a));
  }
  for (std::size_t i = 1; i < n; ++i) {
    if (site[i] == site[i - 1] && day[i] != day[i - 1] + 1) {
      throw Error("grid rows must be consecutive days per site; row " + std::to_string(i) + " (site " +
                  std::to_string(site[i]) + ") is not the day after row " + std::to_string(i - 1));
    }
    if (site[i] < site[i - 1]) {
      throw Error("grid rows must be sorted by site; row " + std::to_string(i) + " breaks the order");
    }
  }
  // Split the rows between workers at site boundaries; small inputs are not worth a thread.
  const int parts = n < 100000 ? 1 : std::max(1, spec.threads);
  std::vector<std::size_t> bounds{0};
  for (int p = 1; p < parts; ++p) {
    std::size_t b = n * static_cast<std::size_t>(p) / static_cast<std::size_t>(parts);
    while (b < n && b > 0 && site[b] == site[b - 1]) ++b;
    if (b > bounds.back() && b < n) bounds.push_back(b);
  }
  bounds.push_back(n);
  if (bounds.size() == 2) {
    features_range(site, day, value, n, 0, n, spec, out);
    return;
  }
  std::vector<std::thread> pool;
  for (std::size_t k = 0; k + 1 < bounds.size(); ++k) {
    pool.emplace_back(features_range, site, day, value, n, bounds[k], bounds[k + 1], std::cref(spec), out);
  }
  for (auto& t : pool) t.join();
}

void compute_features(const DailyGrid& grid, const FeatureSpec& spec, double* out) {
  compute_features(grid.site.data(), grid.day.data(), grid.value.data(), grid.site.size(), spec, out);
}

}  // namespace airwatch
