#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "airwatch/aggregate.hpp"
#include "airwatch/error.hpp"

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

// EPA's own numbers: AQS site 37-183-0014 (Millbrook School, Raleigh), 2017-06-18. The hourly values
// (sampleData) and the daily summary (dailyData, "Ozone 8-hour 2015": MDA8 0.034 ppm starting 10:00;
// "1 HOUR": mean 0.025381 of 21 hours) are real API responses (shared/data/epa/aqs_api_json/bysite).
TEST(Mda8, MatchesAqsDailySummaryForMillbrook) {
  const std::vector<double> hourly{0.013, 0.015, 0.019, kNaN,  0.021, 0.02,  0.02,  kNaN,
                                   0.024, 0.027, 0.03,  0.032, 0.034, 0.036, 0.037, kNaN,
                                   0.037, 0.036, 0.031, 0.024, 0.023, 0.021, 0.017, 0.016};
  std::vector<int32_t> site(24, 1), day(24, 17335), hour(24);
  for (int h = 0; h < 24; ++h) hour[static_cast<std::size_t>(h)] = h;
  const auto mda8 = airwatch::ozone_mda8(site.data(), day.data(), hour.data(), hourly.data(), 24, 1);
  ASSERT_EQ(mda8.value.size(), 1u);
  EXPECT_DOUBLE_EQ(mda8.value[0], 0.034);
  EXPECT_EQ(mda8.max_hour[0], 10);
  // Without the next day's hours only periods starting 7..18 have 6+ hours: 12 of 17, not complete.
  EXPECT_EQ(mda8.count[0], 12);
  EXPECT_EQ(mda8.valid[0], 0);
  const auto pm = airwatch::pm25_daily(site.data(), day.data(), hour.data(), hourly.data(), 24, 1);
  EXPECT_NEAR(pm.value[0], 0.025381, 5e-7);  // the same daily mean AQS reports for the 1-hour series
  EXPECT_EQ(pm.count[0], 21);
  EXPECT_EQ(pm.valid[0], 1);
}

TEST(Mda8, UsesNextDayHoursAndExceedanceRule) {
  // Two days; day 2 has only hours 0..6 (they feed day 1's late periods) and a high value.
  std::vector<int32_t> site, day, hour;
  std::vector<double> v;
  for (int h = 0; h < 24; ++h) {
    site.push_back(1);
    day.push_back(100);
    hour.push_back(h);
    v.push_back(h >= 16 ? 0.080 : 0.040);
  }
  for (int h = 0; h < 7; ++h) {
    site.push_back(1);
    day.push_back(101);
    hour.push_back(h);
    v.push_back(0.080);
  }
  const auto r = airwatch::ozone_mda8(site.data(), day.data(), hour.data(), v.data(), v.size(), 1);
  ASSERT_EQ(r.value.size(), 2u);
  EXPECT_DOUBLE_EQ(r.value[0], 0.080);  // periods starting 16..23 reach into day 101
  EXPECT_EQ(r.count[0], 17);
  EXPECT_EQ(r.valid[0], 1);
  EXPECT_TRUE(std::isnan(r.value[1]));  // no period starting 07:00+ of day 101 has 6 hours
}

TEST(Mda8, TruncatesHourlyAndAverages) {
  const std::vector<double> h{0.0419, 0.0419, 0.0419, 0.0419, 0.0419, 0.0419, 0.0419, 0.0419};
  const auto a = airwatch::ozone_8h_averages(h.data(), h.size());
  EXPECT_DOUBLE_EQ(a[0], 0.041);  // 0.0419 -> 0.041 each hour, average 0.041
  EXPECT_DOUBLE_EQ(a[2], 0.041);  // six hours left: still an average
  EXPECT_TRUE(std::isnan(a[3]));  // five: not enough
}

TEST(Pm25Daily, CompletenessAndBadInput) {
  std::vector<int32_t> site(17, 1), day(17, 5), hour(17);
  std::vector<double> v(17, 10.0);
  for (int h = 0; h < 17; ++h) hour[static_cast<std::size_t>(h)] = h;
  auto r = airwatch::pm25_daily(site.data(), day.data(), hour.data(), v.data(), 17, 1);
  EXPECT_EQ(r.valid[0], 0);  // 17 of 24 hours < 75%
  EXPECT_DOUBLE_EQ(r.value[0], 10.0);
  hour[3] = 2;
  EXPECT_THROW(airwatch::pm25_daily(site.data(), day.data(), hour.data(), v.data(), 17, 1), airwatch::Error);
  hour[3] = 24;
  EXPECT_THROW(airwatch::pm25_daily(site.data(), day.data(), hour.data(), v.data(), 17, 1), airwatch::Error);
  const auto empty = airwatch::pm25_daily(nullptr, nullptr, nullptr, nullptr, 0, 1);
  EXPECT_TRUE(empty.value.empty());
}

// Found by fuzz_aggregate: ozone_mda8 laid each site's hours on a grid from its first to its last day.
// Day numbers 4e9 apart overflowed int32 in the grid's size (UB, then a huge allocation), and a site
// with one stray row years away allocated gigabytes. A day's MDA8 needs only that day and the next.
TEST(Mda8, DaysFarApartNeedNoGridBetweenThem) {
  const std::vector<int32_t> site(24 + 8, 1);
  std::vector<int32_t> day, hour;
  std::vector<double> v;
  for (const int32_t d : {-2000000000, 2000000000}) {
    for (int h = 0; h < (d < 0 ? 24 : 8); ++h) {
      day.push_back(d);
      hour.push_back(h);
      v.push_back(0.040 + 0.001 * h);
    }
  }
  const auto r = airwatch::ozone_mda8(site.data(), day.data(), hour.data(), v.data(), v.size(), 1);
  ASSERT_EQ(r.day, (std::vector<int32_t>{-2000000000, 2000000000}));
  // Periods starting 7..18 of the first day have 6+ hours (the next day in the data is not the next
  // day); the highest, 0.060, starts at 17. The second day has hours 0..7: no period of 6 hours.
  EXPECT_DOUBLE_EQ(r.value[0], 0.060);
  EXPECT_EQ(r.max_hour[0], 17);
  EXPECT_EQ(r.count[0], 12);
  EXPECT_TRUE(std::isnan(r.value[1]));
  EXPECT_EQ(r.count[1], 0);
}
