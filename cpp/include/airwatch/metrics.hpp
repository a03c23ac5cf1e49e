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
