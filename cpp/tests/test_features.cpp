#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "airwatch/error.hpp"
#include "airwatch/features.hpp"

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

TEST(DailyGrid, FillsGapsPerSite) {
  const std::vector<int32_t> site{1, 1, 2};
  const std::vector<int32_t> day{10, 13, 5};
  const std::vector<double> value{1.0, 4.0, 7.0};
  const auto g = airwatch::daily_grid(site.data(), day.data(), value.data(), 3);
  ASSERT_EQ(g.site.size(), 5u);
  EXPECT_EQ(g.day, (std::vector<int32_t>{10, 11, 12, 13, 5}));
  EXPECT_TRUE(std::isnan(g.value[1]));
  EXPECT_TRUE(std::isnan(g.value[2]));
  EXPECT_EQ(g.value[3], 4.0);
}

TEST(DailyGrid, RejectsUnsortedAndDuplicateKeys) {
  const std::vector<int32_t> site{1, 1};
  const std::vector<int32_t> dup{10, 10};
  const std::vector<double> v{1.0, 2.0};
  EXPECT_THROW(airwatch::daily_grid(site.data(), dup.data(), v.data(), 2), airwatch::Error);
  const std::vector<int32_t> sites_desc{2, 1};
  const std::vector<int32_t> days{1, 2};
  EXPECT_THROW(airwatch::daily_grid(sites_desc.data(), days.data(), v.data(), 2), airwatch::Error);
}

TEST(DailyGrid, EmptyInput) {
  const auto g = airwatch::daily_grid(nullptr, nullptr, nullptr, 0);
  EXPECT_TRUE(g.site.empty());
}

TEST(Features, LagsRollingAndGapsStayWithinSite) {
  // Site 1: days 0..4 with day 2 missing; site 2: one day.
  const std::vector<int32_t> site{1, 1, 1, 1, 1, 2};
  const std::vector<int32_t> day{0, 1, 2, 3, 4, 0};
  const std::vector<double> value{1.0, 2.0, kNaN, 4.0, 5.0, 9.0};
  airwatch::FeatureSpec spec{{0, 1}, {3}, {3}, {3}, false};
  const auto names = airwatch::feature_names(spec);
  ASSERT_EQ(names, (std::vector<std::string>{"lag_0", "lag_1", "mean_3", "std_3", "max_3", "days_since_obs",
                                             "last_value", "missing_7"}));
  const std::size_t n = site.size();
  std::vector<double> out(n * names.size());
  airwatch::compute_features(site.data(), day.data(), value.data(), n, spec, out.data());
  auto at = [&](std::size_t col, std::size_t row) { return out[col * n + row]; };
  EXPECT_EQ(at(0, 4), 5.0);           // lag_0 on day 4
  EXPECT_EQ(at(1, 4), 4.0);           // lag_1 on day 4
  EXPECT_TRUE(std::isnan(at(1, 0)));  // no day before the first
  EXPECT_TRUE(std::isnan(at(1, 5)));  // never reaches into the previous site
  EXPECT_DOUBLE_EQ(at(2, 3), 3.0);    // mean of {2, NaN, 4}
  EXPECT_DOUBLE_EQ(at(2, 2), 1.5);    // mean of {1, 2, NaN}
  EXPECT_DOUBLE_EQ(at(3, 3), std::sqrt(2.0));
  EXPECT_EQ(at(4, 4), 5.0);
  EXPECT_EQ(at(5, 2), 1.0);  // day 2 missing, last value one day before
  EXPECT_EQ(at(5, 3), 0.0);
  EXPECT_EQ(at(5, 5), 0.0);
  EXPECT_EQ(at(6, 2), 2.0);  // last_value carries day 1 over the gap
  EXPECT_EQ(at(6, 5), 9.0);
  EXPECT_EQ(at(7, 4), 3.0);  // missing_7 on day 4: day 2 plus days -3..-1 before the first row
}

TEST(Features, EwmSkipsMissingDaysAndThreadsAgree) {
  std::vector<int32_t> site, day;
  std::vector<double> value;
  for (int s = 0; s < 50; ++s) {
    for (int d = 0; d < 4000; ++d) {
      site.push_back(s);
      day.push_back(d);
      value.push_back(d % 5 == 0 ? std::numeric_limits<double>::quiet_NaN() : (s * 7 + d) % 13);
    }
  }
  airwatch::FeatureSpec one{{0, 1}, {3, 30}, {7}, {7}, true, {0.5}, 1};
  airwatch::FeatureSpec two = one;
  two.threads = 2;
  const std::size_t n = site.size();
  const std::size_t k = airwatch::feature_names(one).size();
  std::vector<double> a(n * k), b(n * k);
  airwatch::compute_features(site.data(), day.data(), value.data(), n, one, a.data());
  airwatch::compute_features(site.data(), day.data(), value.data(), n, two, b.data());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE((std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i]) << i;
  }
  // ewm_0.5 column: day 0 missing, day 1 = 7 % 13 ... first observed value starts the mean.
  const auto names = airwatch::feature_names(one);
  const auto e = static_cast<std::size_t>(std::find(names.begin(), names.end(), "ewm_0.5") - names.begin());
  EXPECT_TRUE(std::isnan(a[e * n + 0]));
  EXPECT_EQ(a[e * n + 1], 1.0);                    // (0*7+1) % 13
  EXPECT_EQ(a[e * n + 2], 0.5 * 2.0 + 0.5 * 1.0);  // next day's value 2
}

TEST(Features, RejectsNonConsecutiveGrid) {
  const std::vector<int32_t> site{1, 1};
  const std::vector<int32_t> day{0, 2};
  const std::vector<double> value{1.0, 2.0};
  airwatch::FeatureSpec spec{{1}, {}, {}, {}, false};
  std::vector<double> out(4);
  EXPECT_THROW(airwatch::compute_features(site.data(), day.data(), value.data(), 2, spec, out.data()),
               airwatch::Error);
}

TEST(Calendar, DayOfYearAndWeekday) {
  EXPECT_EQ(airwatch::day_of_year(0), 1);        // 1970-01-01
  EXPECT_EQ(airwatch::weekday(0), 3);            // Thursday
  EXPECT_EQ(airwatch::day_of_year(11016), 60);   // 2000-02-29, a leap day
  EXPECT_EQ(airwatch::day_of_year(11017), 61);   // 2000-03-01
  EXPECT_EQ(airwatch::day_of_year(11322), 366);  // 2000-12-31
  EXPECT_EQ(airwatch::weekday(20454), 3);        // 2026-01-01, a Thursday
}
