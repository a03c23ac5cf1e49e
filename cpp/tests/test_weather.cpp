#include <gtest/gtest.h>

#include <string>

#include "airwatch/csv.hpp"
#include "airwatch/weather.hpp"

namespace {

// One .dly line: station, year, month, element, then 31 (value, mflag, qflag, sflag) groups.
std::string line(const std::string& element, int year, int month,
                 const std::vector<std::pair<int, char>>& cells) {
  char head[22];
  std::snprintf(head, sizeof head, "USW00094789%04d%02d%s", year, month, element.c_str());
  std::string s(head);
  for (int d = 0; d < 31; ++d) {
    const auto [v, q] =
        d < static_cast<int>(cells.size()) ? cells[static_cast<std::size_t>(d)] : std::pair{-9999, ' '};
    char cell[9];
    std::snprintf(cell, sizeof cell, "%5d %c%c", v, q, v == -9999 ? ' ' : 'W');
    s += cell;
  }
  return s + "\n";
}

}  // namespace

TEST(Ghcn, UnitsFlagsMissingAndBounds) {
  const std::string data = line("TMAX", 2019, 2, {{256, ' '}, {-9999, ' '}, {301, 'X'}, {999, ' '}}) +
                           line("PRCP", 2019, 2, {{127, ' '}}) + line("SNOW", 2019, 2, {{5, ' '}}) +
                           line("AWND", 2019, 2, {{46, ' '}});
  const auto g = airwatch::parse_ghcn_dly(data, {"TMAX", "PRCP", "AWND"});
  ASSERT_EQ(g.stations.size(), 1u);
  ASSERT_EQ(g.value.size(), 3u);       // TMAX day 1, PRCP day 1, AWND day 1
  EXPECT_DOUBLE_EQ(g.value[0], 25.6);  // tenths of degrees C
  EXPECT_EQ(g.day[0], airwatch::days_from_civil(2019, 2, 1));
  EXPECT_DOUBLE_EQ(g.value[1], 12.7);   // tenths of mm
  EXPECT_NEAR(g.value[2], 4.6, 1e-12);  // tenths of m/s
  EXPECT_EQ(g.flagged, 1u);             // 30.1 C with QFLAG X dropped
  EXPECT_EQ(g.out_of_bounds, 1u);       // 99.9 C dropped
  EXPECT_GE(g.missing, 3u * 28);        // -9999 cells and Feb 29..31
}

TEST(Ghcn, ShortLinesAreCounted) {
  const auto g = airwatch::parse_ghcn_dly("USW00094789201902TMAX  100\n", {"TMAX"});
  EXPECT_EQ(g.malformed_lines, 1u);
  EXPECT_TRUE(g.value.empty());
}

TEST(Ghcn, HumidityAndPressureUnitsAndBounds) {
  const std::string data =
      line("RHAV", 2019, 7, {{67, ' '}, {104, ' '}}) + line("ASLP", 2019, 7, {{10132, ' '}, {1013, ' '}});
  const auto g = airwatch::parse_ghcn_dly(data, {"RHAV", "ASLP"});
  ASSERT_EQ(g.value.size(), 2u);
  EXPECT_DOUBLE_EQ(g.value[0], 67.0);     // percent
  EXPECT_NEAR(g.value[1], 1013.2, 1e-9);  // tenths of hPa
  EXPECT_EQ(g.out_of_bounds, 2u);         // 104 % and 101.3 hPa dropped
}

TEST(Ghcn, StationIdsThatAreNotAsciiAreMalformedLines) {
  std::string bad = line("TMAX", 2019, 2, {{256, ' '}});
  bad[3] = '\xE9';
  const auto g = airwatch::parse_ghcn_dly(bad + line("TMAX", 2019, 3, {{256, ' '}}), {"TMAX"});
  EXPECT_EQ(g.malformed_lines, 1u);
  EXPECT_EQ(g.stations, (std::vector<std::string>{"USW00094789"}));
  EXPECT_EQ(g.value.size(), 1u);
}
