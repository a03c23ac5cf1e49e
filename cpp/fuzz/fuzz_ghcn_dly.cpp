// parse_ghcn_dly on arbitrary bytes, for the elements the pipeline asks for and a few with other rules.
// Checks that every kept row points at a known station and element, lies on a real day of its month,
// and is within the element's physical bounds, and that every cell of a well-formed line is counted
// once: kept, missing, flagged or out of bounds.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "airwatch/weather.hpp"
#include "fuzz_input.hpp"

namespace {

const std::vector<std::string> kElements = {"TMAX", "TMIN", "PRCP", "AWND", "WDF2",
                                            "WSF2", "SNOW", "ASLP", "RHAV", "WT01"};

// Bounds in metric units, as weather.cpp applies them (WT01 has none).
bool within_bounds(const std::string& e, double v) {
  if (e == "TMAX" || e == "TMIN") return v >= -70.0 && v <= 60.0;
  if (e == "PRCP") return v >= 0.0 && v <= 1000.0;
  if (e == "SNOW") return v >= 0.0 && v <= 10000.0;
  if (e == "AWND" || e == "WSF2") return v >= 0.0 && v <= 75.0;
  if (e == "WDF2") return v >= 0.0 && v <= 360.0;
  if (e == "RHAV") return v >= 0.0 && v <= 100.0;
  if (e == "ASLP") return v >= 870.0 && v <= 1090.0;
  return std::isfinite(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const airwatch::GhcnDaily g = airwatch::parse_ghcn_dly(text, kElements);
  const std::size_t n = g.value.size();
  FUZZ_CHECK(g.station.size() == n && g.day.size() == n && g.element.size() == n);
  for (const auto& id : g.stations) {
    FUZZ_CHECK(id.size() == 11);
    for (const char ch : id) FUZZ_CHECK(ch > ' ' && ch < 0x7F);
  }
  for (std::size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(g.station[i] >= 0 && static_cast<std::size_t>(g.station[i]) < g.stations.size());
    FUZZ_CHECK(g.element[i] >= 0 && static_cast<std::size_t>(g.element[i]) < kElements.size());
    FUZZ_CHECK(within_bounds(kElements[static_cast<std::size_t>(g.element[i])], g.value[i]));
  }
  // Each line of the requested elements with a valid month contributes its 31 cells to exactly one
  // of the counters, so the total is a multiple of 31 and each line is either malformed or counted.
  const std::size_t cells = n + g.missing + g.flagged + g.out_of_bounds;
  FUZZ_CHECK(cells % 31 == 0);
  std::size_t lines = 0;
  for (const char ch : text) lines += ch == '\n';
  FUZZ_CHECK(cells / 31 + g.malformed_lines <= lines + 1);
  return 0;
}
