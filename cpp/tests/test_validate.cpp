#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "airwatch/validate.hpp"

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

TEST(Validate, FlagsEachRule) {
  using namespace airwatch;
  const std::vector<int64_t> site{170310001, 170310001, 170310001, -1,
                                  170310001, 170310001, 170310001, 170310001};
  const std::vector<int32_t> param{88101, 88101, 44201, 88101, 12345, 88101, 88101, 88101};
  const std::vector<int32_t> poc{1, 1, 1, 1, 1, 1, 2, 3};
  const std::vector<int32_t> day{100, 100, 100, 100, 100, 200, kMissingDay, 101};
  const std::vector<int32_t> series(8, 0);
  const std::vector<int32_t> unit{0, 0, 0, 0, 0, 0, 0, 1};
  const std::vector<double> value{5.0, 6.0, 0.9, 5.0, 1.0, 5.0, 5.0, kNaN};
  const std::vector<double> pc{100.0, 200.0, 100.0, 100.0, 100.0, -5.0, kNaN, 100.0};
  const std::vector<double> lat{41.0, 41.0, 41.0, 41.0, 41.0, 41.0, 95.0, 41.0};
  const std::vector<double> lon(8, -87.0);
  ObservationColumns cols{8,           site.data(),  param.data(), poc.data(), day.data(), series.data(),
                          unit.data(), value.data(), pc.data(),    lat.data(), lon.data()};
  std::vector<uint32_t> out(8);
  validate_observations(cols, 150, out.data());
  EXPECT_EQ(out[0], kValid);
  EXPECT_EQ(out[1], kDuplicateKey);
  EXPECT_EQ(out[2], kValueOutOfRange | kBadUnits);
  EXPECT_EQ(out[3], kBadSiteId);
  EXPECT_EQ(out[4], kUnknownParameter);
  EXPECT_EQ(out[5], kBadDate | kBadCompleteness);
  EXPECT_EQ(out[6], kBadDate | kBadCoordinates);
  EXPECT_EQ(out[7], kMissingValue | kBadUnits);
}

TEST(Validate, OutOfScopeSitesAndMeteorology) {
  using namespace airwatch;
  const std::vector<int64_t> site{kSiteOutOfScope, 60670010, 60670010};
  const std::vector<int32_t> param{44201, 62101, 61104};
  const std::vector<int32_t> poc{1, 1, 1};
  const std::vector<int32_t> day{100, 100, 100};
  const std::vector<int32_t> series(3, 0);
  const std::vector<int32_t> unit{kUnitPpm, kUnitDegreesFahrenheit, kUnitDegreesCompass};
  const std::vector<double> value{0.04, 200.0, 270.0};
  const std::vector<double> nan3(3, std::numeric_limits<double>::quiet_NaN());
  ObservationColumns cols{3,           site.data(),  param.data(), poc.data(),  day.data(), series.data(),
                          unit.data(), value.data(), nan3.data(),  nan3.data(), nan3.data()};
  std::vector<uint32_t> out(3);
  validate_observations(cols, 150, out.data());
  EXPECT_EQ(out[0], kOutOfScope);
  EXPECT_EQ(out[1], kValueOutOfRange);  // 200 F is not a temperature
  EXPECT_EQ(out[2], kValid);
}

TEST(Validate, ReasonCodesCoverEveryBit) {
  const auto codes = airwatch::reason_codes();
  uint32_t all = 0;
  for (const auto& [bit, name] : codes) {
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(all & bit, 0u);
    all |= bit;
  }
  EXPECT_EQ(all, (1u << 12) - 1);
}
