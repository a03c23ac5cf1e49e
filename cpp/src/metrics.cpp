#include "airwatch/metrics.hpp"

#include <cmath>
#include <limits>

#include "airwatch/aqi.hpp"

namespace airwatch {

ErrorSummary error_summary(const double* forecast, const double* observed, std::size_t n) noexcept {
  ErrorSummary s;
  double sq = 0.0;
  double abs = 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(forecast[i]) || std::isnan(observed[i])) continue;
    const double e = forecast[i] - observed[i];
    sq += e * e;
    abs += std::fabs(e);
    sum += e;
    ++s.n;
  }
  if (s.n == 0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    s.rmse = s.mae = s.bias = nan;
    return s;
  }
  const auto count = static_cast<double>(s.n);
  s.rmse = std::sqrt(sq / count);
  s.mae = abs / count;
  s.bias = sum / count;
  return s;
}

double rmse_skill(const double* forecast, const double* reference, const double* observed,
                  std::size_t n) noexcept {
  double sq_f = 0.0;
  double sq_r = 0.0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(forecast[i]) || std::isnan(reference[i]) || std::isnan(observed[i])) continue;
    sq_f += (forecast[i] - observed[i]) * (forecast[i] - observed[i]);
    sq_r += (reference[i] - observed[i]) * (reference[i] - observed[i]);
    ++count;
  }
  if (count == 0 || sq_r == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - std::sqrt(sq_f / sq_r);
}

}  // namespace airwatch

namespace airwatch {

CategoryScores category_scores(Pollutant pollutant, const double* forecast, const double* observed,
                               std::size_t n, int threshold_category) noexcept {
  CategoryScores s;
  std::size_t same = 0, hits = 0, misses = 0, false_alarms = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(forecast[i]) || std::isnan(observed[i])) continue;
    const int f = aqi_category(aqi(pollutant, forecast[i]));
    const int o = aqi_category(aqi(pollutant, observed[i]));
    ++s.n;
    same += f == o ? 1 : 0;
    const bool fe = f >= threshold_category;
    const bool oe = o >= threshold_category;
    hits += fe && oe ? 1 : 0;
    misses += !fe && oe ? 1 : 0;
    false_alarms += fe && !oe ? 1 : 0;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.events = hits + misses;
  s.hit_rate = s.n ? static_cast<double>(same) / static_cast<double>(s.n) : nan;
  s.pod = s.events ? static_cast<double>(hits) / static_cast<double>(s.events) : nan;
  s.far = hits + false_alarms ? static_cast<double>(false_alarms) / static_cast<double>(hits + false_alarms)
                              : nan;
  return s;
}

}  // namespace airwatch
