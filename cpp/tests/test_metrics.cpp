#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

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
