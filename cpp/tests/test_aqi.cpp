#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "airwatch/aqi.hpp"

using airwatch::aqi;
using airwatch::Pollutant;

TEST(Aqi, EpaWorkedExamples) {
  // EPA Technical Assistance Document examples: PM2.5 35.9 ug/m3 -> 102; ozone 0.07853 ppm -> 126.
  EXPECT_EQ(aqi(Pollutant::pm25, 35.9), 102);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.07853), 126);
}

TEST(Aqi, Pm25BreakpointEdges2024) {
  EXPECT_EQ(aqi(Pollutant::pm25, 0.0), 0);
  EXPECT_EQ(aqi(Pollutant::pm25, 9.0), 50);
  EXPECT_EQ(aqi(Pollutant::pm25, 9.05), 50);  // truncated to 9.0 first
  EXPECT_EQ(aqi(Pollutant::pm25, 9.1), 51);
  EXPECT_EQ(aqi(Pollutant::pm25, 35.4), 100);
  EXPECT_EQ(aqi(Pollutant::pm25, 35.5), 101);
  EXPECT_EQ(aqi(Pollutant::pm25, 55.4), 150);
  EXPECT_EQ(aqi(Pollutant::pm25, 125.4), 200);
  EXPECT_EQ(aqi(Pollutant::pm25, 225.4), 300);
  EXPECT_EQ(aqi(Pollutant::pm25, 225.5), 301);
  EXPECT_EQ(aqi(Pollutant::pm25, 325.4), 500);
}

TEST(Aqi, Pm25AboveScaleExtendsLastSegmentAsAirData) {
  // Real AirData rows (daily_88502, 24-HR BLK AVG): 545.8 -> 939, 641.9 -> 1130.
  EXPECT_EQ(aqi(Pollutant::pm25, 545.8), 939);
  EXPECT_EQ(aqi(Pollutant::pm25, 641.9), 1130);
}

TEST(Aqi, OzoneBreakpointEdges2015) {
  EXPECT_EQ(aqi(Pollutant::ozone, 0.054), 50);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.0549), 50);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.055), 51);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.070), 100);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.071), 101);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.085), 150);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.105), 200);
  EXPECT_EQ(aqi(Pollutant::ozone, 0.200), 300);
}

TEST(Aqi, MissingAndNegative) {
  EXPECT_EQ(aqi(Pollutant::pm25, std::numeric_limits<double>::quiet_NaN()), airwatch::kMissingAqi);
  EXPECT_EQ(aqi(Pollutant::pm25, -2.5), 0);
}

// Found by fuzz_aqi: an ozone MDA8 of 1.8e215 ppm had an AQI of 0 (lround out of range), below that of
// 0.03 ppm. Absurd values come from a broken model or unit mix-up and must read as Hazardous.
TEST(Aqi, HugeAndInfiniteConcentrationsSaturate) {
  constexpr int top = std::numeric_limits<int>::max();
  for (const Pollutant p : {Pollutant::pm25, Pollutant::ozone}) {
    EXPECT_EQ(aqi(p, 1.820165246823656e+215), top);
    EXPECT_EQ(aqi(p, std::numeric_limits<double>::max()), top);
    EXPECT_EQ(aqi(p, std::numeric_limits<double>::infinity()), top);
    EXPECT_EQ(aqi(p, -std::numeric_limits<double>::infinity()), 0);
    EXPECT_EQ(airwatch::aqi_category(aqi(p, 1e300)), airwatch::kCategoryCount - 1);
  }
  EXPECT_LE(aqi(Pollutant::ozone, 1e6), aqi(Pollutant::ozone, 1e12));
}

TEST(Aqi, Truncation) {
  EXPECT_DOUBLE_EQ(airwatch::truncate_concentration(Pollutant::pm25, 35.49), 35.4);
  EXPECT_DOUBLE_EQ(airwatch::truncate_concentration(Pollutant::pm25, 35.4), 35.4);
  EXPECT_DOUBLE_EQ(airwatch::truncate_concentration(Pollutant::ozone, 0.0709), 0.070);
}

TEST(Aqi, Categories) {
  EXPECT_EQ(airwatch::aqi_category(0), 0);
  EXPECT_EQ(airwatch::aqi_category(50), 0);
  EXPECT_EQ(airwatch::aqi_category(51), 1);
  EXPECT_EQ(airwatch::aqi_category(101), 2);
  EXPECT_EQ(airwatch::aqi_category(151), 3);
  EXPECT_EQ(airwatch::aqi_category(201), 4);
  EXPECT_EQ(airwatch::aqi_category(301), 5);
  EXPECT_EQ(airwatch::aqi_category(939), 5);
  EXPECT_EQ(airwatch::aqi_category(-1), airwatch::kMissingAqi);
  EXPECT_STREQ(airwatch::category_name(2), "Unhealthy for Sensitive Groups");
}
