// validate_observations on columns decoded from the fuzz input: every value of every column is
// arbitrary, as the Python binding passes them on from any DataFrame. Checks the rules that need no
// table of ranges: only known bits are set, missing values, bad dates, bad site ids, the parser's row
// flags, and duplicate keys against a quadratic reference.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "airwatch/validate.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  airwatch::fuzz::Input in(data, size);
  const auto max_day = in.take<int32_t>();
  const bool with_flags = (in.take<uint8_t>() & 1) != 0;
  // One row: site i64, parameter, poc, day, series, unit i32, value, percent_complete, latitude,
  // longitude f64, row_flags u8 (61 bytes, little-endian).
  constexpr std::size_t kRowBytes = 8 + 5 * 4 + 4 * 8 + 1;
  const std::size_t n = in.remaining() / kRowBytes;
  std::vector<int64_t> site(n);
  std::vector<int32_t> parameter(n), poc(n), day(n), series(n), unit(n);
  std::vector<double> value(n), percent(n), lat(n), lon(n);
  std::vector<uint8_t> flags(n);
  for (std::size_t i = 0; i < n; ++i) {
    site[i] = in.take<int64_t>();
    parameter[i] = in.take<int32_t>();
    poc[i] = in.take<int32_t>();
    day[i] = in.take<int32_t>();
    series[i] = in.take<int32_t>();
    unit[i] = in.take<int32_t>();
    value[i] = in.take<double>();
    percent[i] = in.take<double>();
    lat[i] = in.take<double>();
    lon[i] = in.take<double>();
    flags[i] = in.take<uint8_t>();
  }
  const airwatch::ObservationColumns cols{n,           site.data(),  parameter.data(),
                                          poc.data(),  day.data(),   series.data(),
                                          unit.data(), value.data(), percent.data(),
                                          lat.data(),  lon.data(),   with_flags ? flags.data() : nullptr};
  std::vector<uint32_t> out(n, 0xFFFFFFFFu);
  airwatch::validate_observations(cols, max_day, out.data());

  uint32_t known = 0;
  for (const auto& [bit, code] : airwatch::reason_codes()) known |= bit;
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t m = out[i];
    FUZZ_CHECK((m & ~known) == 0);
    FUZZ_CHECK(((m & airwatch::kMissingValue) != 0) == std::isnan(value[i]));
    FUZZ_CHECK(!((m & airwatch::kMissingValue) && (m & airwatch::kValueOutOfRange)));
    FUZZ_CHECK(((m & airwatch::kBadDate) != 0) == (day[i] == airwatch::kMissingDay || day[i] > max_day));
    FUZZ_CHECK(((m & airwatch::kOutOfScope) != 0) == (site[i] == airwatch::kSiteOutOfScope));
    FUZZ_CHECK(((m & airwatch::kBadSiteId) != 0) ==
               (site[i] != airwatch::kSiteOutOfScope && (site[i] < 0 || site[i] > 999999999)));
    FUZZ_CHECK(((m & airwatch::kMalformedRow) != 0) == (with_flags && (flags[i] & 1)));
    FUZZ_CHECK(((m & airwatch::kUnparseable) != 0) == (with_flags && (flags[i] & 2)));
    bool repeated = false;
    for (std::size_t j = 0; j < i && site[i] >= 0; ++j) {
      repeated |= site[j] == site[i] && parameter[j] == parameter[i] && poc[j] == poc[i] &&
                  series[j] == series[i] && day[j] == day[i];
    }
    FUZZ_CHECK(((m & airwatch::kDuplicateKey) != 0) == repeated);
  }
  return 0;
}
