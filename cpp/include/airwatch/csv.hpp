// A CSV reader for EPA's AirData and download-tool files: reads only the requested columns, typed,
// in parallel over line-aligned chunks. Quoted fields (with "" escapes) are supported; a quoted field
// may not span lines (EPA's files never do, and a line with an unterminated quote is reported).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace airwatch {

enum class ColumnKind : int {
  float64 = 0,     // NaN when empty, "." or not a number
  int64 = 1,       // -1 when empty or not an integer
  date = 2,        // days since 1970-01-01 from YYYY-MM-DD or MM/DD/YYYY; kMissingDay when invalid
  hour = 3,        // HH:MM -> hour 0..23; -1 when invalid
  dictionary = 4,  // codes into a list of distinct strings, in order of first appearance
  site_id = 5,     // 9 digits, dashes ignored (17-031-0025) -> SSCCCNNNN as an integer; -1 when invalid
};

// Row flags: the row has fewer or more fields than the header; a requested field holds text that is
// not empty yet does not parse as its kind (an empty field or "." is a missing value, not an error).
inline constexpr uint8_t kRowWrongFieldCount = 1;
inline constexpr uint8_t kRowUnparseable = 2;

struct ColumnRequest {
  std::string name;
  ColumnKind kind;
};

struct Column {
  std::string name;
  ColumnKind kind;
  bool present = false;
  std::vector<double> f64;
  std::vector<int64_t> i64;
  std::vector<int32_t> i32;  // date, hour and dictionary codes
  std::vector<std::string> categories;
};

struct CsvTable {
  std::size_t rows = 0;
  std::vector<std::string> header;
  std::vector<Column> columns;     // in request order; absent ones have present == false
  std::vector<uint8_t> row_flags;  // per row: kRowWrongFieldCount | kRowUnparseable, 0 when clean
};

// Parses data (the whole file, decompressed). Throws airwatch::Error naming the data row (1-based)
// of an unterminated quote, for an empty input without a header, and for a header that is not text
// (NUL bytes, or not UTF-8). Dictionary values that are not UTF-8 are decoded as Latin-1, so header
// and categories are always UTF-8.
CsvTable read_csv(std::string_view data, const std::vector<ColumnRequest>& columns, int threads = 2);

// read_csv with a body of chunk_bytes or more split over up to `threads` threads (read_csv: 1 MiB), so
// tests and the fuzzer reach the split path, and its merge of the chunks, with small inputs.
CsvTable read_csv_chunked(std::string_view data, const std::vector<ColumnRequest>& columns, int threads,
                          std::size_t chunk_bytes);

// Whether s is well-formed UTF-8 (as Python's strict decoder requires).
bool is_utf8(std::string_view s) noexcept;

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int32_t days_from_civil(int year, unsigned month, unsigned day) noexcept;

}  // namespace airwatch
