// Forecast verification metrics over paired forecasts and observations; pairs with a NaN are skipped.
#pragma once

#include <cstddef>
#include <cstdint>

namespace airwatch {

struct ErrorSummary {
  std::size_t n = 0;  // pairs where both values are present
  double rmse = 0.0;  // NaN when n == 0
  double mae = 0.0;
  double bias = 0.0;  // mean(forecast - observed)
};

ErrorSummary error_summary(const double* forecast, const double* observed, std::size_t n) noexcept;

// 1 - rmse(forecast) / rmse(reference), on the pairs where forecast, reference and observation all
// exist, so both forecasts are scored on the same days. NaN when there are none or rmse(reference) is 0.
double rmse_skill(const double* forecast, const double* reference, const double* observed,
                  std::size_t n) noexcept;

}  // namespace airwatch

namespace airwatch {

enum class Pollutant : int;

// Categorical skill on AQI categories (computed from the concentrations with the current breakpoints).
struct CategoryScores {
  std::size_t n = 0;       // pairs with both values
  double hit_rate = 0.0;   // share of pairs whose forecast category equals the observed one
  std::size_t events = 0;  // observed days at or above the threshold category
  double pod = 0.0;        // probability of detection: forecast events / observed events
  double far = 0.0;        // false-alarm ratio: false alarms / forecast events
};

// threshold_category: 2 = "Unhealthy for Sensitive Groups" (AQI >= 101). NaN where undefined.
CategoryScores category_scores(Pollutant pollutant, const double* forecast, const double* observed,
                               std::size_t n, int threshold_category = 2) noexcept;

}  // namespace airwatch
