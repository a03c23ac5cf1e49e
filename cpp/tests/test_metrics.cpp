#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "airwatch/aqi.hpp"
#include "airwatch/error.hpp"
#include "airwatch/metrics.hpp"

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

TEST(Metrics, ErrorSummarySkipsMissingPairs) {
  const std::vector<double> f{1.0, 2.0, kNaN, 5.0};
  const std::vector<double> o{2.0, 2.0, 3.0, kNaN};
  const auto s = airwatch::error_summary(f.data(), o.data(), 4);
  EXPECT_EQ(s.n, 2u);
  EXPECT_DOUBLE_EQ(s.rmse, std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(s.mae, 0.5);
  EXPECT_DOUBLE_EQ(s.bias, -0.5);
}

TEST(Metrics, EmptyGivesNaN) {
  const auto s = airwatch::error_summary(nullptr, nullptr, 0);
  EXPECT_EQ(s.n, 0u);
  EXPECT_TRUE(std::isnan(s.rmse));
}

TEST(Metrics, SkillOnCommonPairs) {
  const std::vector<double> f{1.0, 2.0, 3.0};
  const std::vector<double> r{2.0, 4.0, kNaN};
  const std::vector<double> o{1.0, 2.0, 100.0};
  // Third pair is dropped (no reference): forecast perfect on the rest -> skill 1.
  EXPECT_DOUBLE_EQ(airwatch::rmse_skill(f.data(), r.data(), o.data(), 3), 1.0);
  const std::vector<double> half{1.5, 3.0};
  EXPECT_NEAR(airwatch::rmse_skill(half.data(), r.data(), o.data(), 2), 0.5, 1e-12);
}

namespace {

// Hand-computed: two groups of PM2.5 pairs (ug/m3). Categories by AQI: <=9.0 Good, <=35.4 Moderate,
// <=55.4 USG, <=125.4 Unhealthy.
struct Pairs {
  std::vector<int32_t> group{0, 0, 0, 0, 1, 1};
  std::vector<double> forecast{10.0, 40.0, 30.0, 60.0, 5.0, kNaN};
  std::vector<double> observed{12.0, 50.0, 40.0, 20.0, 5.0, 7.0};
  std::vector<double> persistence{8.0, 30.0, 45.0, 30.0, kNaN, 1.0};
  std::vector<double> lower{8.0, 35.0, 20.0, 50.0, 4.0, 1.0};
  std::vector<double> upper{14.0, 55.0, 35.0, 70.0, 6.0, 9.0};
};

}  // namespace

TEST(Metrics, VerifyGroupsMatchesHandComputation) {
  Pairs d;
  const auto v = airwatch::verify_groups(airwatch::Pollutant::pm25, d.group.data(), 2, d.forecast.data(),
                                         d.observed.data(), d.persistence.data(), nullptr, d.lower.data(),
                                         d.upper.data(), d.group.size());
  ASSERT_EQ(v.groups, 2u);
  // Group 0: errors -2, -10, -10, +40.
  EXPECT_EQ(v.n[0], 4);
  EXPECT_DOUBLE_EQ(v.bias[0], 18.0 / 4);
  EXPECT_DOUBLE_EQ(v.mae[0], 62.0 / 4);
  EXPECT_DOUBLE_EQ(v.rmse[0], std::sqrt((4.0 + 100 + 100 + 1600) / 4));
  // Persistence errors -4, -20, +5, +10.
  EXPECT_DOUBLE_EQ(v.skill_persistence[0], 1.0 - std::sqrt(1804.0 / 541.0));
  EXPECT_TRUE(std::isnan(v.skill_climatology[0]));
  EXPECT_EQ(v.n_climatology[0], 0);
  // Inside the interval: 12 in [8,14], 50 in [35,55]; 40 not in [20,35], 20 not in [50,70].
  EXPECT_DOUBLE_EQ(v.coverage[0], 0.5);
  // Categories (forecast, observed): (Moderate, Moderate), (USG, USG), (Moderate, USG), (Unhealthy,
  // Moderate).
  EXPECT_DOUBLE_EQ(v.hit_rate[0], 0.5);
  EXPECT_DOUBLE_EQ(v.within_one[0], 0.75);
  EXPECT_EQ(v.hits[0], 1);
  EXPECT_EQ(v.misses[0], 1);
  EXPECT_EQ(v.false_alarms[0], 1);
  EXPECT_EQ(v.correct_negatives[0], 1);
  EXPECT_DOUBLE_EQ(v.pod[0], 0.5);
  EXPECT_DOUBLE_EQ(v.far[0], 0.5);
  EXPECT_DOUBLE_EQ(v.csi[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(v.frequency_bias[0], 1.0);
  EXPECT_DOUBLE_EQ(v.hss[0], 0.0);  // 2(1*1 - 1*1) / ...
  auto at = [&](std::size_t g, int f, int o) { return v.confusion[(g * 6 + f) * 6 + o]; };
  EXPECT_EQ(at(0, 1, 1), 1);
  EXPECT_EQ(at(0, 2, 2), 1);
  EXPECT_EQ(at(0, 1, 2), 1);
  EXPECT_EQ(at(0, 3, 1), 1);
  // Correlation of (10,40,30,60) and (12,50,40,20): means 35 and 30.5.
  const double sxy = (-25 * -18.5) + (5 * 19.5) + (-5 * 9.5) + (25 * -10.5);
  const double sxx = 625 + 25 + 25 + 625;
  const double syy = 18.5 * 18.5 + 19.5 * 19.5 + 9.5 * 9.5 + 10.5 * 10.5;
  EXPECT_NEAR(v.corr[0], sxy / std::sqrt(sxx * syy), 1e-15);
  // Group 1: one pair (the other has no forecast), no persistence for it, no events.
  EXPECT_EQ(v.n[1], 1);
  EXPECT_DOUBLE_EQ(v.rmse[1], 0.0);
  EXPECT_TRUE(std::isnan(v.corr[1]));
  EXPECT_TRUE(std::isnan(v.skill_persistence[1]));
  EXPECT_TRUE(std::isnan(v.pod[1]));
  EXPECT_TRUE(std::isnan(v.far[1]));
  EXPECT_DOUBLE_EQ(v.coverage[1], 1.0);
}

TEST(Metrics, VerifyGroupsRejectsAGroupOutsideTheRange) {
  Pairs d;
  d.group[3] = 2;
  EXPECT_THROW(airwatch::verify_groups(airwatch::Pollutant::pm25, d.group.data(), 2, d.forecast.data(),
                                       d.observed.data(), nullptr, nullptr, nullptr, nullptr, d.group.size()),
               airwatch::Error);
}
