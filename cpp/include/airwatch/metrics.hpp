// Forecast verification metrics over paired forecasts and observations; pairs with a NaN are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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

namespace airwatch {

// The verification set of forecasters, per group of forecast-observation pairs (a group is, say, one
// pollutant, horizon and site over a window). Continuous scores are over the pairs where forecast and
// observation exist; skill against a reference (persistence, climatology) is 1 - RMSE / RMSE(reference)
// over the pairs where that reference exists too, so both are scored on the same days. Categorical
// scores use the AQI categories of both values; the event is "category >= event_category" (2: AQI
// above 100). NaN wherever a score is undefined (no pairs, a zero denominator).
struct GroupVerification {
  static constexpr int kCategories = 6;
  std::size_t groups = 0;
  std::vector<std::int64_t> n;  // pairs with forecast and observation
  std::vector<double> bias, mae, rmse, corr;
  std::vector<std::int64_t> n_persistence, n_climatology;  // pairs with that reference as well
  std::vector<double> skill_persistence, skill_climatology;
  std::vector<std::int64_t> n_interval;  // pairs with both interval ends
  std::vector<double> coverage;          // share of those whose observation lies within [lower, upper]
  std::vector<std::int64_t> n_category;  // pairs whose both values have an AQI category
  std::vector<double> hit_rate, within_one;
  // 2x2 contingency of the event; a = hits, b = false alarms, c = misses, d = correct negatives.
  std::vector<std::int64_t> hits, false_alarms, misses, correct_negatives;
  // POD a/(a+c); false-alarm RATIO b/(a+b) (not the false-alarm rate b/(b+d)); CSI a/(a+b+c);
  // frequency bias (a+b)/(a+c); Heidke skill score 2(ad-bc)/((a+c)(c+d)+(a+b)(b+d)).
  std::vector<double> pod, far, csi, frequency_bias, hss;
  // groups x 6 x 6 counts, [group][forecast category][observed category].
  std::vector<std::int64_t> confusion;
};

// group: each pair's group in [0, groups); any of persistence, climatology, lower, upper may be
// nullptr (absent). Throws airwatch::Error on a group outside the range.
GroupVerification verify_groups(Pollutant pollutant, const std::int32_t* group, std::size_t groups,
                                const double* forecast, const double* observed, const double* persistence,
                                const double* climatology, const double* lower, const double* upper,
                                std::size_t n, int event_category = 2);

}  // namespace airwatch
