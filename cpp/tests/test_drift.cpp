#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
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

TEST(Drift, SortsAnyDoubles) {
  // Negative, signed-zero, subnormal and large values, more than the radix sort's small-sample cutoff;
  // the edges must be numpy's linear-interpolation quantiles of std::sort's order.
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> x{-0.0, 0.0, 4.9e-324, -4.9e-324, 2.5e-310, 1e300, -1e300};
  while (x.size() < 3000) x.push_back(u(gen) * std::pow(10.0, static_cast<int>(u(gen) * 30)));
  x.insert(x.end(), x.begin(), x.begin() + 500);  // ties
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  x.push_back(std::nan(""));
  const int bins = 1000;
  const auto edges = airwatch::quantile_edges(x.data(), x.size(), bins);
  std::vector<double> expected;
  for (int k = 1; k < bins; ++k) {
    const double pos = static_cast<double>(k) / bins * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const double q = sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
    if (expected.empty() || q > expected.back()) expected.push_back(q);
  }
  EXPECT_EQ(edges, expected);
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

// Column-major matrices of gamma-distributed values with NaNs, like a feature matrix with gaps.
std::vector<double> feature_matrix(std::size_t rows, std::size_t columns, double shift, unsigned seed) {
  std::mt19937 gen(seed);
  std::gamma_distribution<double> value(2.0, 5.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> m(rows * columns);
  for (std::size_t j = 0; j < columns; ++j) {
    for (std::size_t i = 0; i < rows; ++i) {
      m[j * rows + i] = u(gen) < 0.1 ? std::nan("") : value(gen) + shift * static_cast<double>(j);
    }
  }
  return m;
}

TEST(DriftColumns, EqualsTheOneColumnFunctionsOnEveryThreadCount) {
  const std::size_t nr = 20000, nc = 1500, cols = 7;
  const auto ref = feature_matrix(nr, cols, 0.0, 1);
  const auto cur = feature_matrix(nc, cols, 0.5, 2);
  for (const int threads : {1, 2, 3}) {
    const auto got = airwatch::drift_columns(ref.data(), nr, cur.data(), nc, cols, 10, threads);
    ASSERT_EQ(got.size(), cols);
    for (std::size_t j = 0; j < cols; ++j) {
      const double* r = ref.data() + j * nr;
      const double* c = cur.data() + j * nc;
      const auto edges = airwatch::quantile_edges(r, nr, 10);
      EXPECT_EQ(got[j].edges, edges);
      // Bit-equal: the same arithmetic on the same sorted samples, whichever thread ran the column.
      EXPECT_EQ(got[j].psi, airwatch::psi(r, nr, c, nc, edges));
      EXPECT_EQ(got[j].ks, airwatch::ks_statistic(r, nr, c, nc));
      EXPECT_EQ(got[j].wasserstein, airwatch::wasserstein(r, nr, c, nc));
      EXPECT_GT(got[j].n_reference, nr * 8 / 10);
      EXPECT_LT(got[j].n_reference, nr);
      EXPECT_GT(got[j].n_current, nc * 8 / 10);
    }
    EXPECT_NEAR(got[0].psi, 0.0, 0.02);  // same distribution: only sampling noise
    EXPECT_GT(got[6].psi, 0.2);          // shifted by 3, about 0.4 standard deviations of gamma(2, 5)
  }
}

TEST(DriftColumns, EmptyColumnGetsNaNAndTheOthersAreComputed) {
  const double nan = std::nan("");
  // Two columns, column-major: the second is all NaN in the current sample.
  const std::vector<double> ref{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> cur{2, 3, 4, nan, nan, nan};
  const auto got = airwatch::drift_columns(ref.data(), 4, cur.data(), 3, 2, 4, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].n_reference, 4u);
  EXPECT_EQ(got[0].n_current, 3u);
  EXPECT_DOUBLE_EQ(got[0].ks, 0.25);
  EXPECT_DOUBLE_EQ(got[0].wasserstein, airwatch::wasserstein(ref.data(), 4, cur.data(), 3));
  EXPECT_EQ(got[1].n_reference, 4u);
  EXPECT_EQ(got[1].n_current, 0u);
  EXPECT_TRUE(std::isnan(got[1].psi));
  EXPECT_TRUE(std::isnan(got[1].ks));
  EXPECT_TRUE(std::isnan(got[1].wasserstein));
  EXPECT_TRUE(got[1].edges.empty());
}

TEST(DriftColumns, NoColumnsAndBadBins) {
  EXPECT_TRUE(airwatch::drift_columns(nullptr, 0, nullptr, 0, 0, 10).empty());
  const std::vector<double> a{1, 2, 3};
  EXPECT_THROW(airwatch::drift_columns(a.data(), 3, a.data(), 3, 1, 1), airwatch::Error);
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
