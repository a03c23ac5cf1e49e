#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "airwatch/spatial.hpp"

TEST(Spatial, HaversineKnownDistance) {
  // JFK airport to Queens College: about 12 km.
  EXPECT_NEAR(airwatch::haversine_km(40.6386, -73.7622, 40.73614, -73.82153), 12.0, 0.5);
}

TEST(Spatial, TreeAgreesWithBruteForce) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> lat(25, 49), lon(-124, -67);
  std::vector<double> la, lo;
  for (int i = 0; i < 500; ++i) {
    la.push_back(lat(rng));
    lo.push_back(lon(rng));
  }
  const airwatch::SiteIndex index(la.data(), lo.data(), la.size());
  for (int q = 0; q < 50; ++q) {
    const auto got =
        index.nearest(la[static_cast<std::size_t>(q)], lo[static_cast<std::size_t>(q)], 5, 400.0, q);
    std::vector<std::pair<double, int32_t>> all;
    for (int j = 0; j < 500; ++j) {
      if (j == q) continue;
      const double d =
          airwatch::haversine_km(la[static_cast<std::size_t>(q)], lo[static_cast<std::size_t>(q)],
                                 la[static_cast<std::size_t>(j)], lo[static_cast<std::size_t>(j)]);
      if (d <= 400.0) all.emplace_back(d, j);
    }
    std::sort(all.begin(), all.end());
    ASSERT_EQ(got.size(), std::min<std::size_t>(5, all.size()));
    for (std::size_t j = 0; j < got.size(); ++j) {
      EXPECT_EQ(got[j].first, all[j].second);
      EXPECT_NEAR(got[j].second, all[j].first, 1e-9);
    }
  }
}

TEST(Spatial, NeighborMeanWeightsByDistance) {
  // Three sites on a meridian 10 and 20 km apart; site 0 sees sites 1 (10 km) and 2 (20 km).
  const double km = 1.0 / 111.195;  // degrees of latitude per km
  const std::vector<double> lat{40.0, 40.0 + 10 * km, 40.0 + 20 * km};
  const std::vector<double> lon{-80.0, -80.0, -80.0};
  const std::vector<int32_t> site{0, 1, 2, 2};
  const std::vector<int32_t> day{5, 5, 5, 6};
  const std::vector<double> value{1.0, 10.0, 40.0, 7.0};
  std::vector<double> mean(4);
  std::vector<int32_t> count(4);
  airwatch::neighbor_mean(site.data(), day.data(), value.data(), 4, lat.data(), lon.data(), 3, 2, 50.0,
                          mean.data(), count.data());
  EXPECT_NEAR(mean[0], (10.0 / 10 + 40.0 / 20) / (1.0 / 10 + 1.0 / 20), 1e-6);
  EXPECT_EQ(count[0], 2);
  EXPECT_EQ(count[3], 0);  // on day 6 nobody else has data
  EXPECT_TRUE(std::isnan(mean[3]));
}

TEST(Spatial, RegionalEpisodeHighestFractionAndRun) {
  // Sites 0, 1, 2 on a meridian 10 and 20 km apart; site 3 is 500 km away, outside the radius.
  const double km = 1.0 / 111.195;
  const std::vector<double> lat{40.0, 40.0 + 10 * km, 40.0 + 20 * km, 45.0};
  const std::vector<double> lon{-80.0, -80.0, -80.0, -80.0};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Site 0 on days 1..5 (day 3 missing), site 1 on days 1..2, site 2 on day 1, site 3 on day 1.
  const std::vector<int32_t> site{0, 0, 0, 0, 0, 1, 1, 2, 3};
  const std::vector<int32_t> day{1, 2, 3, 4, 5, 1, 2, 1, 1};
  const std::vector<double> value{40.0, 50.0, nan, 36.0, 37.0, 20.0, 60.0, 35.5, 99.0};
  std::vector<double> top(9), high(9), run(9);
  airwatch::regional_episode(site.data(), day.data(), value.data(), 9, lat.data(), lon.data(), 4, 8, 100.0,
                             35.5, top.data(), high.data(), run.data());
  EXPECT_DOUBLE_EQ(top[0], 35.5);  // site 0, day 1: sites 1 (20) and 2 (35.5); site 3 is too far
  EXPECT_DOUBLE_EQ(high[0], 0.5);  // 35.5 is at the threshold, which counts
  EXPECT_DOUBLE_EQ(top[1], 60.0);  // day 2: only site 1 reports
  EXPECT_DOUBLE_EQ(high[1], 1.0);
  EXPECT_TRUE(std::isnan(top[3]) && std::isnan(high[3]));  // day 4: no neighbour reports
  EXPECT_DOUBLE_EQ(run[0], 1.0);
  EXPECT_DOUBLE_EQ(run[1], 2.0);
  EXPECT_TRUE(std::isnan(run[2]));  // no value on day 3
  EXPECT_DOUBLE_EQ(run[3], 1.0);    // the missing day ended the run
  EXPECT_DOUBLE_EQ(run[4], 2.0);
  EXPECT_DOUBLE_EQ(run[5], 0.0);  // site 1, day 1: below
  EXPECT_DOUBLE_EQ(run[6], 1.0);
  EXPECT_TRUE(std::isnan(top[8]) && std::isnan(high[8]));  // site 3's neighbours are all beyond the radius
}
