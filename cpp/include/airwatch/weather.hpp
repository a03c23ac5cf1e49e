// NOAA GHCN-Daily station files (the fixed-width .dly format): parsed into one row per station, day and
// element, in metric units, with NOAA's quality flags honoured and physical bounds applied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace airwatch {

struct GhcnDaily {
  std::vector<std::string> stations;  // distinct station ids, in order of first appearance
  std::vector<int32_t> station;       // index into stations
  std::vector<int32_t> day;           // days since 1970-01-01 (the station's local standard day)
  std::vector<int32_t> element;       // index into the requested elements
  std::vector<double> value;          // metric: degrees C, mm, m/s, degrees
  std::size_t missing = 0;            // -9999 cells (including days a month does not have)
  std::size_t flagged = 0;            // cells with a quality flag: dropped, as NOAA advises
  std::size_t out_of_bounds = 0;      // cells outside physical bounds: dropped
  std::size_t malformed_lines = 0;    // lines shorter than the 269-character layout, or with a non-ASCII id
};

// Parses .dly text; only the requested elements (e.g. TMAX, TMIN, PRCP, AWND, WDF2, WSF2) are kept.
// Units: temperatures from tenths of degrees C, PRCP from tenths of mm, wind speeds from tenths of m/s.
GhcnDaily parse_ghcn_dly(std::string_view data, const std::vector<std::string>& elements);

}  // namespace airwatch
