#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "airwatch/csv.hpp"
#include "airwatch/error.hpp"
#include "airwatch/validate.hpp"

using airwatch::ColumnKind;

TEST(Csv, ReadsRequestedColumnsTyped) {
  const std::string data =
      "\"Date\",\"Site ID\",\"POC\",\"Value\",\"Units\",\"Name\"\n"
      "\"07/14/2001\",\"17-031-0025\",\"1\",\"0.032\",\"ppm\",\"A, \"\"quoted\"\" name\"\n"
      "\"2001-07-15\",\"360810124\",\"2\",\".\",\"ppm\",\"B\"\r\n"
      "\"13/45/2001\",\"bad\",\"x\",\"1e3\",\"ug/m3 LC\",\"B\"\n";
  const auto t = airwatch::read_csv(data,
                                    {{"Date", ColumnKind::date},
                                     {"Site ID", ColumnKind::site_id},
                                     {"POC", ColumnKind::int64},
                                     {"Value", ColumnKind::float64},
                                     {"Units", ColumnKind::dictionary},
                                     {"Name", ColumnKind::dictionary},
                                     {"Missing", ColumnKind::float64}},
                                    1);
  ASSERT_EQ(t.rows, 3u);
  EXPECT_EQ(t.columns[0].i32[0], airwatch::days_from_civil(2001, 7, 14));
  EXPECT_EQ(t.columns[0].i32[1], airwatch::days_from_civil(2001, 7, 15));
  EXPECT_EQ(t.columns[0].i32[2], airwatch::kMissingDay);
  EXPECT_EQ(t.columns[1].i64[0], 170310025);
  EXPECT_EQ(t.columns[1].i64[2], -1);
  EXPECT_EQ(t.columns[2].i64[2], -1);
  EXPECT_DOUBLE_EQ(t.columns[3].f64[0], 0.032);
  EXPECT_TRUE(std::isnan(t.columns[3].f64[1]));
  EXPECT_DOUBLE_EQ(t.columns[3].f64[2], 1000.0);
  EXPECT_EQ(t.columns[4].categories, (std::vector<std::string>{"ppm", "ug/m3 LC"}));
  EXPECT_EQ(t.columns[5].categories[0], "A, \"quoted\" name");
  EXPECT_FALSE(t.columns[6].present);
  EXPECT_EQ(t.row_flags, (std::vector<uint8_t>{0, 0, airwatch::kRowUnparseable}));  // "13/45", "bad", "x"
}

TEST(Csv, ParallelChunksGiveTheSameResult) {
  std::string data = "a,b,c\n";
  for (int i = 0; i < 200000; ++i) {
    data += std::to_string(i) + "," + (i % 3 == 0 ? "x" : "y") + "," + std::to_string(i * 0.5) + "\n";
  }
  const std::vector<airwatch::ColumnRequest> req{
      {"a", ColumnKind::int64}, {"b", ColumnKind::dictionary}, {"c", ColumnKind::float64}};
  const auto one = airwatch::read_csv(data, req, 1);
  const auto two = airwatch::read_csv(data, req, 2);
  ASSERT_EQ(one.rows, 200000u);
  EXPECT_EQ(one.rows, two.rows);
  EXPECT_EQ(one.columns[0].i64, two.columns[0].i64);
  EXPECT_EQ(one.columns[2].f64, two.columns[2].f64);
  for (std::size_t i = 0; i < one.rows; ++i) {
    ASSERT_EQ(one.columns[1].categories[static_cast<std::size_t>(one.columns[1].i32[i])],
              two.columns[1].categories[static_cast<std::size_t>(two.columns[1].i32[i])]);
  }
}

TEST(Csv, ShortRowsAreFlaggedAndQuotesChecked) {
  const auto t = airwatch::read_csv("a,b\n1,2\n3\n", {{"b", ColumnKind::float64}}, 1);
  EXPECT_EQ(t.row_flags, (std::vector<uint8_t>{0, airwatch::kRowWrongFieldCount}));
  EXPECT_TRUE(std::isnan(t.columns[0].f64[1]));
  EXPECT_THROW(airwatch::read_csv("a,b\n1,2\n\"3,4\n", {{"a", ColumnKind::float64}}, 1), airwatch::Error);
  try {
    airwatch::read_csv("a,b\n1,2\n\"3,4\n", {{"a", ColumnKind::float64}}, 1);
  } catch (const airwatch::Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos);
  }
  EXPECT_THROW(airwatch::read_csv("", {}, 1), airwatch::Error);
}

TEST(Csv, LeapDaysAndCivilDays) {
  EXPECT_EQ(airwatch::days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(airwatch::days_from_civil(2000, 2, 29), 11016);
  const auto t = airwatch::read_csv("d\n2001-02-29\n2000-02-29\n", {{"d", ColumnKind::date}}, 1);
  EXPECT_EQ(t.columns[0].i32[0], airwatch::kMissingDay);
  EXPECT_EQ(t.columns[0].i32[1], 11016);
}
