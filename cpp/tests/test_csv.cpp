#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
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

// Found by fuzz_read_csv: a file ending in a comma, with no newline, read the byte after the data. Here
// that byte is a quote, which made the empty last field look like an unterminated quoted one; under
// ASan a buffer of exactly the file's size is a heap-buffer-overflow.
TEST(Csv, TrailingCommaAtTheEndOfTheDataReadsNothingPastIt) {
  const std::string backing = "a,b\n1,\"";
  const std::string_view data(backing.data(), backing.size() - 1);
  const auto t = airwatch::read_csv(data, {{"a", ColumnKind::float64}, {"b", ColumnKind::dictionary}}, 1);
  ASSERT_EQ(t.rows, 1u);
  EXPECT_EQ(t.row_flags, (std::vector<uint8_t>{0}));
  EXPECT_DOUBLE_EQ(t.columns[0].f64[0], 1.0);
  EXPECT_EQ(t.columns[1].categories, (std::vector<std::string>{""}));

  const std::string exact = "a,b\n1,";
  const std::unique_ptr<char[]> heap(new char[exact.size()]);
  std::memcpy(heap.get(), exact.data(), exact.size());
  EXPECT_EQ(
      airwatch::read_csv(std::string_view(heap.get(), exact.size()), {{"b", ColumnKind::float64}}, 1).rows,
      1u);
}

TEST(Csv, LeapDaysAndCivilDays) {
  EXPECT_EQ(airwatch::days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(airwatch::days_from_civil(2000, 2, 29), 11016);
  const auto t = airwatch::read_csv("d\n2001-02-29\n2000-02-29\n", {{"d", ColumnKind::date}}, 1);
  EXPECT_EQ(t.columns[0].i32[0], airwatch::kMissingDay);
  EXPECT_EQ(t.columns[0].i32[1], 11016);
}

TEST(Csv, ByteOrderMarkIsDroppedOnlyWhole) {
  const auto t = airwatch::read_csv(
      "\xEF\xBB\xBF"
      "a,b\n1,2\n",
      {{"a", ColumnKind::int64}}, 1);
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.columns[0].i64[0], 1);
  // A lone 0xEF is not a byte-order mark: the header is then not UTF-8, not "b".
  EXPECT_THROW(airwatch::read_csv("\xEF"
                                  "a,b\n1,2\n",
                                  {}, 1),
               airwatch::Error);
}

TEST(Csv, HeaderThatIsNotTextIsAnError) {
  const auto message = [](const std::string& data) {
    try {
      airwatch::read_csv(data, {}, 1);
    } catch (const airwatch::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(std::string("a,b\0c\n1,2\n", 10)),
            "not a text CSV file: the header has NUL bytes (binary data, or UTF-16 text)");
  EXPECT_EQ(message("Date,Site Name \xE9t\xE9\n1,2\n"), "not a text CSV file: the header is not UTF-8");
  // UTF-16 (with its byte-order mark), as some spreadsheet exports write it.
  EXPECT_NE(message(std::string("\xFF\xFE"
                                "D\0a\0t\0e\0\n\0",
                                12))
                .find("not a text CSV file"),
            std::string::npos);
  EXPECT_EQ(message("Date,Site Name \xC3\xA9t\xC3\xA9\n1,2\n"), "no error");  // UTF-8 is fine
}

TEST(Csv, DictionaryValuesThatAreNotUtf8AreLatin1) {
  const std::string data =
      "name,v\n"
      "Caf\xE9,1\n"      // Latin-1
      "Caf\xC3\xA9,2\n"  // the same name in UTF-8: the same category
      "Caf\xE9,3\n"
      "\x80\xFF,4\n";
  for (int threads : {1, 2}) {
    const auto t = airwatch::read_csv(data, {{"name", ColumnKind::dictionary}}, threads);
    EXPECT_EQ(t.columns[0].categories, (std::vector<std::string>{"Caf\xC3\xA9", "\xC2\x80\xC3\xBF"}));
    EXPECT_EQ(t.columns[0].i32, (std::vector<int32_t>{0, 0, 0, 1}));
    EXPECT_EQ(t.row_flags, (std::vector<uint8_t>{0, 0, 0, 0}));
  }
}

TEST(Csv, Utf8Validation) {
  EXPECT_TRUE(airwatch::is_utf8(""));
  EXPECT_TRUE(airwatch::is_utf8("plain ASCII"));
  EXPECT_TRUE(airwatch::is_utf8("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // 2, 3 and 4 bytes
  EXPECT_FALSE(airwatch::is_utf8("\xE9"));                                   // Latin-1
  EXPECT_FALSE(airwatch::is_utf8("\xC3"));                                   // truncated
  EXPECT_FALSE(airwatch::is_utf8("\xC0\xAF"));                               // overlong
  EXPECT_FALSE(airwatch::is_utf8("\xE0\x80\xAF"));                           // overlong
  EXPECT_FALSE(airwatch::is_utf8("\xED\xA0\x80"));                           // a surrogate
  EXPECT_FALSE(airwatch::is_utf8("\xF4\x90\x80\x80"));                       // above U+10FFFF
  EXPECT_FALSE(airwatch::is_utf8("\xE2\x82"));                               // truncated at the end
}

// Found by fuzz_read_csv (UBSan): a site id of more than 9 digits overflowed int64 while its digits were
// summed, and an integer column holding "1e300" or "1e19" (a float, whole, outside int64) was converted
// to int64 anyway, which x86 turns into INT64_MIN. Both are invalid values: -1, and the row is flagged.
TEST(Csv, OversizedIdsAndIntegersAreInvalidNotOverflowed) {
  const std::string data =
      "s,i\n"
      "37069009999999999999,1e300\n"
      "1234567890,1e19\n"
      "17-031-0025,-9.3e18\n"
      "170310025,9.0e18\n";
  const auto t = airwatch::read_csv(data, {{"s", ColumnKind::site_id}, {"i", ColumnKind::int64}}, 1);
  EXPECT_EQ(t.columns[0].i64, (std::vector<int64_t>{-1, -1, 170310025, 170310025}));
  EXPECT_EQ(t.columns[1].i64, (std::vector<int64_t>{-1, -1, -1, 9000000000000000000}));
  EXPECT_EQ(t.row_flags, (std::vector<uint8_t>{airwatch::kRowUnparseable, airwatch::kRowUnparseable,
                                               airwatch::kRowUnparseable, 0}));
}

// Found by fuzz_read_csv (ASan): the header's fields with "" escapes were views into a vector of
// unescaped strings, so the second such field moved the first one's string and left its view dangling.
TEST(Csv, HeaderWithSeveralEscapedQuotes) {
  const auto t =
      airwatch::read_csv("\"a\"\"1\",\"b\"\"2\",\"c \"\"3\"\" long enough to live on the heap\",d\n1,2,3,4\n",
                         {{"b\"2", ColumnKind::float64}}, 1);
  EXPECT_EQ(t.header,
            (std::vector<std::string>{"a\"1", "b\"2", "c \"3\" long enough to live on the heap", "d"}));
  ASSERT_TRUE(t.columns[0].present);
  EXPECT_DOUBLE_EQ(t.columns[0].f64[0], 2.0);
}

TEST(Csv, RandomBytesAreAnErrorOrCleanText) {
  // Garbage in must give airwatch::Error or a table whose strings are all UTF-8; never a crash
  // (the sanitizer build runs this too).
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string body(static_cast<std::size_t>(rng() % 4096), '\0');
    for (auto& ch : body) ch = static_cast<char>(rng() & 0xFF);
    for (const std::string& data : {body, "a,b\n" + body}) {
      try {
        const auto t = airwatch::read_csv(data, {{"a", ColumnKind::dictionary}, {"b", ColumnKind::float64}},
                                          1 + round % 2);
        for (const auto& h : t.header) EXPECT_TRUE(airwatch::is_utf8(h));
        for (const auto& c : t.columns[0].categories) EXPECT_TRUE(airwatch::is_utf8(c));
        EXPECT_EQ(t.row_flags.size(), t.rows);
      } catch (const airwatch::Error&) {
      }
    }
  }
}

TEST(Csv, SmallChunksGiveTheSameTableAsOnePass) {
  const std::string data =
      "Date,Site ID,Name,Value\n"
      "2001-07-14,17-031-0025,Caf\xE9,1.5\n"
      "\"2001-07-15\",170310025,\"B, \"\"quoted\"\"\",2\n"
      "\n"
      "2001-07-16,bad,Caf\xE9,.\r\n"
      "short\n";
  const std::vector<airwatch::ColumnRequest> req = {{"Date", ColumnKind::date},
                                                    {"Site ID", ColumnKind::site_id},
                                                    {"Name", ColumnKind::dictionary},
                                                    {"Value", ColumnKind::float64}};
  const auto one = airwatch::read_csv(data, req, 1);
  for (int threads : {2, 3, 5}) {
    const auto split = airwatch::read_csv_chunked(data, req, threads, 1);
    EXPECT_EQ(split.rows, one.rows);
    EXPECT_EQ(split.row_flags, one.row_flags);
    EXPECT_EQ(split.columns[0].i32, one.columns[0].i32);
    EXPECT_EQ(split.columns[1].i64, one.columns[1].i64);
    EXPECT_EQ(split.columns[2].i32, one.columns[2].i32);
    EXPECT_EQ(split.columns[2].categories, one.columns[2].categories);
    ASSERT_EQ(split.columns[3].f64.size(), one.columns[3].f64.size());
    EXPECT_DOUBLE_EQ(split.columns[3].f64[0], one.columns[3].f64[0]);
    EXPECT_TRUE(std::isnan(split.columns[3].f64[2]));
  }
}
