#include "airwatch/metrics.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "airwatch/aqi.hpp"
#include "airwatch/error.hpp"

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

namespace airwatch {

namespace {

double ratio(double num, double den) noexcept {
  return den != 0.0 ? num / den : std::numeric_limits<double>::quiet_NaN();
}

bool present(const double* column, std::size_t i) noexcept {
  return column != nullptr && !std::isnan(column[i]);
}

}  // namespace

GroupVerification verify_groups(Pollutant pollutant, const std::int32_t* group, std::size_t groups,
                                const double* forecast, const double* observed, const double* persistence,
                                const double* climatology, const double* lower, const double* upper,
                                std::size_t n, int event_category) {
  for (std::size_t i = 0; i < n; ++i) {
    if (group[i] < 0 || static_cast<std::size_t>(group[i]) >= groups) {
      throw Error("group " + std::to_string(group[i]) + " at row " + std::to_string(i) + " is outside [0, " +
                  std::to_string(groups) + ")");
    }
  }
  constexpr int kC = GroupVerification::kCategories;
  GroupVerification v;
  v.groups = groups;
  const auto zeros = [groups] { return std::vector<std::int64_t>(groups, 0); };
  v.n = v.n_persistence = v.n_climatology = v.n_interval = v.n_category = zeros();
  v.hits = v.false_alarms = v.misses = v.correct_negatives = zeros();
  v.confusion.assign(groups * kC * kC, 0);
  std::vector<double> sum_f(groups, 0.0), sum_o(groups, 0.0), sum_e(groups, 0.0), sum_abs(groups, 0.0);
  std::vector<double> sq(groups, 0.0), sq_pf(groups, 0.0), sq_p(groups, 0.0), sq_cf(groups, 0.0),
      sq_c(groups, 0.0);
  std::vector<std::int64_t> inside(groups, 0), same(groups, 0), near(groups, 0);

  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(forecast[i]) || std::isnan(observed[i])) continue;
    const auto g = static_cast<std::size_t>(group[i]);
    const double e = forecast[i] - observed[i];
    ++v.n[g];
    sum_f[g] += forecast[i];
    sum_o[g] += observed[i];
    sum_e[g] += e;
    sum_abs[g] += std::fabs(e);
    sq[g] += e * e;
    if (present(persistence, i)) {
      const double r = persistence[i] - observed[i];
      ++v.n_persistence[g];
      sq_pf[g] += e * e;
      sq_p[g] += r * r;
    }
    if (present(climatology, i)) {
      const double r = climatology[i] - observed[i];
      ++v.n_climatology[g];
      sq_cf[g] += e * e;
      sq_c[g] += r * r;
    }
    if (present(lower, i) && present(upper, i)) {
      ++v.n_interval[g];
      inside[g] += lower[i] <= observed[i] && observed[i] <= upper[i] ? 1 : 0;
    }
    const int f = aqi_category(aqi(pollutant, forecast[i]));
    const int o = aqi_category(aqi(pollutant, observed[i]));
    if (f < 0 || o < 0 || f >= kC || o >= kC) continue;
    ++v.n_category[g];
    same[g] += f == o ? 1 : 0;
    near[g] += std::abs(f - o) <= 1 ? 1 : 0;
    ++v.confusion[(g * kC + static_cast<std::size_t>(f)) * kC + static_cast<std::size_t>(o)];
    const bool fe = f >= event_category;
    const bool oe = o >= event_category;
    if (fe && oe) ++v.hits[g];
    if (fe && !oe) ++v.false_alarms[g];
    if (!fe && oe) ++v.misses[g];
    if (!fe && !oe) ++v.correct_negatives[g];
  }

  // Correlation from centred sums (a second pass), which keeps its precision when values are large
  // relative to their spread.
  std::vector<double> sxy(groups, 0.0), sxx(groups, 0.0), syy(groups, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(forecast[i]) || std::isnan(observed[i])) continue;
    const auto g = static_cast<std::size_t>(group[i]);
    const auto count = static_cast<double>(v.n[g]);
    const double x = forecast[i] - sum_f[g] / count;
    const double y = observed[i] - sum_o[g] / count;
    sxy[g] += x * y;
    sxx[g] += x * x;
    syy[g] += y * y;
  }

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto fill = [groups, nan] { return std::vector<double>(groups, nan); };
  v.bias = v.mae = v.rmse = v.corr = v.skill_persistence = v.skill_climatology = v.coverage = fill();
  v.hit_rate = v.within_one = v.pod = v.far = v.csi = v.frequency_bias = v.hss = fill();
  for (std::size_t g = 0; g < groups; ++g) {
    const auto count = static_cast<double>(v.n[g]);
    if (v.n[g] > 0) {
      v.bias[g] = sum_e[g] / count;
      v.mae[g] = sum_abs[g] / count;
      v.rmse[g] = std::sqrt(sq[g] / count);
    }
    if (v.n[g] > 1 && sxx[g] > 0.0 && syy[g] > 0.0) v.corr[g] = sxy[g] / std::sqrt(sxx[g] * syy[g]);
    if (v.n_persistence[g] > 0 && sq_p[g] > 0.0) v.skill_persistence[g] = 1.0 - std::sqrt(sq_pf[g] / sq_p[g]);
    if (v.n_climatology[g] > 0 && sq_c[g] > 0.0) v.skill_climatology[g] = 1.0 - std::sqrt(sq_cf[g] / sq_c[g]);
    v.coverage[g] = ratio(static_cast<double>(inside[g]), static_cast<double>(v.n_interval[g]));
    v.hit_rate[g] = ratio(static_cast<double>(same[g]), static_cast<double>(v.n_category[g]));
    v.within_one[g] = ratio(static_cast<double>(near[g]), static_cast<double>(v.n_category[g]));
    const auto a = static_cast<double>(v.hits[g]);
    const auto b = static_cast<double>(v.false_alarms[g]);
    const auto c = static_cast<double>(v.misses[g]);
    const auto d = static_cast<double>(v.correct_negatives[g]);
    v.pod[g] = ratio(a, a + c);
    v.far[g] = ratio(b, a + b);
    v.csi[g] = ratio(a, a + b + c);
    v.frequency_bias[g] = ratio(a + b, a + c);
    v.hss[g] = ratio(2.0 * (a * d - b * c), (a + c) * (c + d) + (a + b) * (b + d));
  }
  return v;
}

}  // namespace airwatch
