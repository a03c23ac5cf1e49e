#include "airwatch/validate.hpp"

#include <cmath>
#include <unordered_set>

namespace airwatch {
namespace {

struct Range {
  double lo;
  double hi;
  int32_t unit;
};

// Plausible ranges per parameter, in the units AQS reports it in. PM2.5 goes a little negative near
// the detection limit (real values down to about -9 ug/m3 are reported) and reaches ~1,000 ug/m3 in
// wildfire smoke; the gas and meteorology bounds are physical limits, not climatology.
bool parameter_range(int32_t parameter, Range& r) noexcept {
  switch (parameter) {
    case 88101:
    case 88502:
      r = {-10.0, 1000.0, kUnitMicrogramsPerCubicMeter};
      return true;
    case 81102:
    case 85101:
      r = {-10.0, 5000.0, kUnitMicrogramsPerCubicMeter};
      return true;
    case 44201:
      r = {-0.005, 0.6, kUnitPpm};
      return true;
    case 42101:
      r = {-0.5, 100.0, kUnitPpm};
      return true;
    case 42401:
    case 42601:
    case 42602:
    case 42603:
      r = {-10.0, 2000.0, kUnitPpb};
      return true;
    case 62101:
      r = {-80.0, 140.0, kUnitDegreesFahrenheit};
      return true;
    case 61101:
    case 61103:
      r = {0.0, 200.0, kUnitKnots};
      return true;
    case 61102:
    case 61104:
      r = {0.0, 360.0, kUnitDegreesCompass};
      return true;
    case 62201:
      r = {0.0, 105.0, kUnitPercentHumidity};
      return true;
    case 64101:
      r = {500.0, 1100.0, kUnitMillibars};
      return true;
    default:
      return false;
  }
}

struct KeyHash {
  std::size_t operator()(const std::tuple<int64_t, int32_t, int32_t, int32_t, int32_t>& k) const noexcept {
    std::size_t h = std::hash<int64_t>{}(std::get<0>(k));
    auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(std::hash<int32_t>{}(std::get<1>(k)));
    mix(std::hash<int32_t>{}(std::get<2>(k)));
    mix(std::hash<int32_t>{}(std::get<3>(k)));
    mix(std::hash<int32_t>{}(std::get<4>(k)));
    return h;
  }
};

}  // namespace

std::vector<std::pair<uint32_t, std::string>> reason_codes() {
  return {{kMissingValue, "missing_value"},
          {kValueOutOfRange, "value_out_of_range"},
          {kBadDate, "bad_date"},
          {kBadCoordinates, "bad_coordinates"},
          {kBadCompleteness, "bad_completeness"},
          {kUnknownParameter, "unknown_parameter"},
          {kBadSiteId, "bad_site_id"},
          {kBadUnits, "bad_units"},
          {kDuplicateKey, "duplicate_key"},
          {kMalformedRow, "malformed_row"},
          {kOutOfScope, "out_of_scope"},
          {kUnparseable, "unparseable_value"}};
}

void validate_observations(const ObservationColumns& c, int32_t max_day, uint32_t* out) {
  std::unordered_set<std::tuple<int64_t, int32_t, int32_t, int32_t, int32_t>, KeyHash> seen;
  seen.reserve(c.n);
  for (std::size_t i = 0; i < c.n; ++i) {
    uint32_t mask = kValid;
    Range range{};
    const bool known = parameter_range(c.parameter[i], range);
    if (!known) mask |= kUnknownParameter;
    const double v = c.value[i];
    if (std::isnan(v)) {
      mask |= kMissingValue;
    } else if (known && (v < range.lo || v > range.hi || std::isinf(v))) {
      mask |= kValueOutOfRange;
    }
    if (known && c.unit[i] != range.unit) mask |= kBadUnits;
    if (c.day[i] == kMissingDay || c.day[i] > max_day) mask |= kBadDate;
    const double lat = c.latitude[i];
    const double lon = c.longitude[i];
    if ((!std::isnan(lat) && (lat < -90.0 || lat > 90.0)) ||
        (!std::isnan(lon) && (lon < -180.0 || lon > 180.0))) {
      mask |= kBadCoordinates;
    }
    const double pc = c.percent_complete[i];
    // Above 100 is real: download-tool exports say 200 when a 24-hour sampler reported two filters.
    if (!std::isnan(pc) && (pc < 0.0 || std::isinf(pc))) mask |= kBadCompleteness;
    if (c.site[i] == kSiteOutOfScope) {
      mask |= kOutOfScope;
    } else if (c.site[i] < 0 || c.site[i] > 999999999) {
      mask |= kBadSiteId;
    }
    if (c.row_flags != nullptr && (c.row_flags[i] & 1) != 0) mask |= kMalformedRow;
    if (c.row_flags != nullptr && (c.row_flags[i] & 2) != 0) mask |= kUnparseable;
    // Rows without a usable site id have no key to repeat; they are flagged for their site already.
    if (c.site[i] >= 0 && !seen.emplace(c.site[i], c.parameter[i], c.poc[i], c.series[i], c.day[i]).second) {
      mask |= kDuplicateKey;
    }
    out[i] = mask;
  }
}

}  // namespace airwatch
