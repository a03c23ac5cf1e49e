// read_csv on arbitrary bytes, with a fixed set of column requests of every kind: the names EPA's files
// use (so the real seeds exercise the typed parsers) and one-letter names the fuzzer finds easily.
// Besides memory errors and UB it checks the table's shape (every present column has one value per
// row, of its kind), the value ranges each kind promises, and that splitting the body over threads
// gives the same table as one pass.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "airwatch/csv.hpp"
#include "airwatch/error.hpp"
#include "airwatch/validate.hpp"
#include "fuzz_input.hpp"

namespace {

using airwatch::ColumnKind;

const std::vector<airwatch::ColumnRequest>& requests() {
  static const std::vector<airwatch::ColumnRequest> r = {
      {"Date", ColumnKind::date},
      {"Date Local", ColumnKind::date},
      {"Time Local", ColumnKind::hour},
      {"Date (LST)", ColumnKind::date},
      {"Time (LST)", ColumnKind::hour},
      {"Site AQS", ColumnKind::site_id},
      {"State Code", ColumnKind::int64},
      {"Site Num", ColumnKind::int64},
      {"Value", ColumnKind::float64},
      {"Unit", ColumnKind::dictionary},
      {"AQS_SITE_ID", ColumnKind::site_id},
      {"Site ID", ColumnKind::site_id},
      {"POC", ColumnKind::int64},
      {"Parameter Code", ColumnKind::int64},
      {"AQS_PARAMETER_CODE", ColumnKind::int64},
      {"Daily Max 8-hour Ozone Concentration", ColumnKind::float64},
      {"Daily Mean PM2.5 Concentration", ColumnKind::float64},
      {"Arithmetic Mean", ColumnKind::float64},
      {"Sample Measurement", ColumnKind::float64},
      {"PERCENT_COMPLETE", ColumnKind::float64},
      {"SITE_LATITUDE", ColumnKind::float64},
      {"UNITS", ColumnKind::dictionary},
      {"Units of Measure", ColumnKind::dictionary},
      {"Local Site Name", ColumnKind::dictionary},
      {"CBSA_NAME", ColumnKind::dictionary},
      {"f", ColumnKind::float64},
      {"i", ColumnKind::int64},
      {"d", ColumnKind::date},
      {"h", ColumnKind::hour},
      {"c", ColumnKind::dictionary},
      {"s", ColumnKind::site_id},
      // The same column twice, under two kinds: each request still gets one value per row.
      {"c", ColumnKind::int64},
      {"Not In Any File", ColumnKind::float64},
      {"Not In Any File Either", ColumnKind::dictionary},
  };
  return r;
}

void check_table(const airwatch::CsvTable& t) {
  const auto& req = requests();
  FUZZ_CHECK(t.columns.size() == req.size());
  FUZZ_CHECK(t.row_flags.size() == t.rows);
  for (const auto& h : t.header) FUZZ_CHECK(airwatch::is_utf8(h));
  for (std::size_t c = 0; c < req.size(); ++c) {
    const airwatch::Column& col = t.columns[c];
    FUZZ_CHECK(col.name == req[c].name && col.kind == req[c].kind);
    if (!col.present) {
      FUZZ_CHECK(col.f64.empty() && col.i64.empty() && col.i32.empty() && col.categories.empty());
      continue;
    }
    switch (col.kind) {
      case ColumnKind::float64:
        FUZZ_CHECK(col.f64.size() == t.rows && col.i64.empty() && col.i32.empty());
        break;
      case ColumnKind::int64:
        FUZZ_CHECK(col.i64.size() == t.rows && col.f64.empty() && col.i32.empty());
        break;
      case ColumnKind::site_id:
        FUZZ_CHECK(col.i64.size() == t.rows && col.f64.empty() && col.i32.empty());
        for (const int64_t v : col.i64) FUZZ_CHECK(v == -1 || (v >= 0 && v <= 999999999));
        break;
      case ColumnKind::date:
        FUZZ_CHECK(col.i32.size() == t.rows && col.f64.empty() && col.i64.empty());
        // Four-digit years: 0000-01-01 .. 9999-12-31.
        for (const int32_t v : col.i32)
          FUZZ_CHECK(v == airwatch::kMissingDay || (v >= -719528 && v <= 2932896));
        break;
      case ColumnKind::hour:
        FUZZ_CHECK(col.i32.size() == t.rows && col.f64.empty() && col.i64.empty());
        for (const int32_t v : col.i32) FUZZ_CHECK(v >= -1 && v <= 23);
        break;
      case ColumnKind::dictionary: {
        FUZZ_CHECK(col.i32.size() == t.rows && col.f64.empty() && col.i64.empty());
        for (const int32_t v : col.i32)
          FUZZ_CHECK(v >= 0 && static_cast<std::size_t>(v) < col.categories.size());
        for (const auto& s : col.categories) FUZZ_CHECK(airwatch::is_utf8(s));
        // Distinct: first appearance creates a category, later ones reuse it.
        std::vector<uint8_t> used(col.categories.size());
        int32_t next = 0;
        for (const int32_t v : col.i32) {
          if (!used[static_cast<std::size_t>(v)]) {
            FUZZ_CHECK(v == next);
            used[static_cast<std::size_t>(v)] = 1;
            ++next;
          }
        }
        FUZZ_CHECK(static_cast<std::size_t>(next) == col.categories.size());
        break;
      }
    }
  }
}

bool same_double(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void check_equal(const airwatch::CsvTable& a, const airwatch::CsvTable& b) {
  FUZZ_CHECK(a.rows == b.rows);
  FUZZ_CHECK(a.header == b.header);
  FUZZ_CHECK(a.row_flags == b.row_flags);
  for (std::size_t c = 0; c < a.columns.size(); ++c) {
    const airwatch::Column& x = a.columns[c];
    const airwatch::Column& y = b.columns[c];
    FUZZ_CHECK(x.present == y.present && x.i64 == y.i64 && x.i32 == y.i32 && x.categories == y.categories);
    FUZZ_CHECK(x.f64.size() == y.f64.size());
    for (std::size_t k = 0; k < x.f64.size(); ++k) FUZZ_CHECK(same_double(x.f64[k], y.f64[k]));
  }
}

// read_csv's result, or the message of the airwatch::Error it threw (any other exception escapes and
// libFuzzer reports it).
struct Outcome {
  bool ok = false;
  airwatch::CsvTable table;
  std::string error;
};

Outcome read(std::string_view data, int threads, std::size_t chunk_bytes) {
  Outcome o;
  try {
    o.table = airwatch::read_csv_chunked(data, requests(), threads, chunk_bytes);
    o.ok = true;
  } catch (const airwatch::Error& e) {
    o.error = e.what();
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  // The input as it is: libFuzzer's buffer has exactly `size` bytes, so ASan sees a read past the end.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Outcome whole = read(text, 1, std::size_t{1} << 20);
  if (whole.ok) check_table(whole.table);
  // The same bytes split over two or three threads at points that depend on the input's length (real
  // files split only past 1 MiB), merged: the same table, or the same error naming the same row.
  // Starting threads costs more than parsing a small input, so a third of the inputs are read so.
  if (size % 3 != 0) return 0;
  const Outcome split = read(text, 2 + static_cast<int>(size % 2), 1);
  FUZZ_CHECK(split.ok == whole.ok);
  if (whole.ok) {
    check_equal(split.table, whole.table);
  } else {
    FUZZ_CHECK(split.error == whole.error);
  }
  return 0;
}
