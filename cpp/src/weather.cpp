#include "airwatch/weather.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "airwatch/csv.hpp"

namespace airwatch {
namespace {

struct ElementRule {
  double scale;
  double lo;
  double hi;
};

// Scale from the file's integer units to metric, and the physical bounds in metric units.
ElementRule rule_for(std::string_view element) {
  if (element == "TMAX" || element == "TMIN" || element == "TAVG") return {0.1, -70.0, 60.0};
  if (element == "PRCP") return {0.1, 0.0, 1000.0};
  if (element == "SNOW" || element == "SNWD") return {1.0, 0.0, 10000.0};
  if (element == "AWND" || element == "WSF2" || element == "WSF5" || element == "WSFG")
    return {0.1, 0.0, 75.0};
  if (element == "WDF2" || element == "WDF5" || element == "WDFG") return {1.0, 0.0, 360.0};
  if (element == "RHAV" || element == "RHMN" || element == "RHMX") return {1.0, 0.0, 100.0};
  // Tenths of hPa; sea-level pressure has never been recorded outside 870-1084 hPa, and station
  // pressure at US airports stays above 500 hPa.
  if (element == "ASLP") return {0.1, 870.0, 1090.0};
  if (element == "ASTP") return {0.1, 500.0, 1090.0};
  return {1.0, -1e12, 1e12};
}

bool month_days(int year, int month, int& days) {
  static constexpr int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  days = d[month - 1] + (month == 2 && leap ? 1 : 0);
  return true;
}

}  // namespace

GhcnDaily parse_ghcn_dly(std::string_view data, const std::vector<std::string>& elements) {
  GhcnDaily out;
  std::unordered_map<std::string, int32_t> station_index;
  std::vector<ElementRule> rules;
  for (const auto& e : elements) rules.push_back(rule_for(e));
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) end = data.size();
    std::string_view line = data.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.size() < 269) {
      ++out.malformed_lines;
      continue;
    }
    const std::string_view element = line.substr(17, 4);
    int e = -1;
    for (std::size_t k = 0; k < elements.size(); ++k) {
      if (element == elements[k]) e = static_cast<int>(k);
    }
    if (e < 0) continue;
    int year = 0, month = 0, days = 0;
    std::from_chars(line.data() + 11, line.data() + 15, year);
    std::from_chars(line.data() + 15, line.data() + 17, month);
    if (!month_days(year, month, days)) {
      ++out.malformed_lines;
      continue;
    }
    const std::string id(line.substr(0, 11));
    // Station ids are ASCII (country, network, number); anything else is a damaged or foreign line,
    // and would not even convert to a Python str.
    if (!std::all_of(id.begin(), id.end(), [](char ch) { return ch > ' ' && ch < 0x7F; })) {
      ++out.malformed_lines;
      continue;
    }
    auto it = station_index.find(id);
    if (it == station_index.end()) {
      it = station_index.emplace(id, static_cast<int32_t>(out.stations.size())).first;
      out.stations.push_back(id);
    }
    const int32_t first = days_from_civil(year, static_cast<unsigned>(month), 1);
    const ElementRule& r = rules[static_cast<std::size_t>(e)];
    for (int d = 0; d < 31; ++d) {
      const std::size_t at = 21 + static_cast<std::size_t>(d) * 8;
      std::string_view field = line.substr(at, 5);
      while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
      int raw = -9999;
      std::from_chars(field.data(), field.data() + field.size(), raw);
      if (raw == -9999 || d >= days) {
        ++out.missing;
        continue;
      }
      if (line[at + 6] != ' ') {  // QFLAG: the value failed one of NOAA's quality checks
        ++out.flagged;
        continue;
      }
      const double v = raw * r.scale;
      if (v < r.lo || v > r.hi) {
        ++out.out_of_bounds;
        continue;
      }
      out.station.push_back(it->second);
      out.day.push_back(first + d);
      out.element.push_back(e);
      out.value.push_back(v);
    }
  }
  return out;
}

}  // namespace airwatch
