#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "airwatch/aqi.hpp"
#include "airwatch/drift.hpp"
#include "airwatch/error.hpp"
#include "airwatch/metrics.hpp"

TEST(Drift, IdenticalSamplesHaveNoDrift) {
  std::vector<double> a;
  for (int i = 0; i < 1000; ++i) a.push_back(std::sin(i) * 10);
  const auto edges = airwatch::quantile_edges(a.data(), a.size(), 10);
  EXPECT_EQ(edges.size(), 9u);
  EXPECT_NEAR(airwatch::psi(a.data(), a.size(), a.data(), a.size(), edges), 0.0, 1e-12);
  EXPECT_EQ(airwatch::ks_statistic(a.data(), a.size(), a.data(), a.size()), 0.0);
  EXPECT_EQ(airwatch::wasserstein(a.data(), a.size(), a.data(), a.size()), 0.0);
}

TEST(Drift, ShiftedSample) {
  const std::vector<double> a{0, 1, 2, 3};
  const std::vector<double> b{10, 11, 12, 13};
  EXPECT_DOUBLE_EQ(airwatch::wasserstein(a.data(), 4, b.data(), 4), 10.0);
  EXPECT_DOUBLE_EQ(airwatch::ks_statistic(a.data(), 4, b.data(), 4), 1.0);
  const std::vector<double> c{0, 1, 2, 3, 4};
  const std::vector<double> d{2, 3, 4, 5, 6};
  EXPECT_DOUBLE_EQ(airwatch::ks_statistic(c.data(), 5, d.data(), 5), 0.4);
  EXPECT_DOUBLE_EQ(airwatch::wasserstein(c.data(), 5, d.data(), 5), 2.0);
  const double nan = std::nan("");
  const std::vector<double> only_nan{nan, nan};
  EXPECT_THROW(airwatch::ks_statistic(only_nan.data(), 2, a.data(), 4), airwatch::Error);
}

TEST(Metrics, CategoryScores) {
  // Observed: Good, USG, USG, Unhealthy; forecast: Good, USG, Moderate, USG (PM2.5 ug/m3).
  const std::vector<double> obs{5.0, 40.0, 45.0, 60.0};
  const std::vector<double> fc{6.0, 41.0, 20.0, 50.0};
  const auto s = airwatch::category_scores(airwatch::Pollutant::pm25, fc.data(), obs.data(), 4, 2);
  EXPECT_EQ(s.n, 4u);
  EXPECT_DOUBLE_EQ(s.hit_rate, 0.5);
  EXPECT_EQ(s.events, 3u);
  EXPECT_DOUBLE_EQ(s.pod, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.far, 0.0);
}
