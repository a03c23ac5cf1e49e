#include "airwatch/aqi.hpp"

#include <array>
#include <cmath>
#include <limits>

namespace airwatch {
namespace {

struct Segment {
  double c_lo;
  double c_hi;
  int i_lo;
  int i_hi;
};

// PM2.5 24-hour, ug/m3, effective 2024-05-06.
constexpr std::array<Segment, 6> kPm25{{
    {0.0, 9.0, 0, 50},
    {9.1, 35.4, 51, 100},
    {35.5, 55.4, 101, 150},
    {55.5, 125.4, 151, 200},
    {125.5, 225.4, 201, 300},
    {225.5, 325.4, 301, 500},
}};

// Ozone 8-hour, ppm, effective 2015-10-01. EPA defines no 8-hour breakpoints above 0.200 ppm
// (the 1-hour scale takes over); the last segment is extended so a forecast still gets a number.
constexpr std::array<Segment, 5> kOzone8h{{
    {0.000, 0.054, 0, 50},
    {0.055, 0.070, 51, 100},
    {0.071, 0.085, 101, 150},
    {0.086, 0.105, 151, 200},
    {0.106, 0.200, 201, 300},
}};

constexpr std::array<const char*, kCategoryCount> kCategoryNames{
    "Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy", "Very Unhealthy", "Hazardous"};

template <std::size_t N>
int lookup(const std::array<Segment, N>& table, double c) noexcept {
  // Truncated values fall exactly on the table's grid, but binary floating point does not: compare
  // with a tolerance far below the truncation step so 9.05 (truncated to 9.0) stays in the first row.
  constexpr double eps = 1e-9;
  const Segment* seg = &table.back();
  for (const Segment& s : table) {
    if (c <= s.c_hi + eps) {
      seg = &s;
      break;
    }
  }
  const double index = (seg->i_hi - seg->i_lo) / (seg->c_hi - seg->c_lo) * (c - seg->c_lo) + seg->i_lo;
  // Far above the top breakpoint (or at infinity) the extended segment leaves int's range, where
  // lround's result is unspecified: x86 gives LONG_MIN, which became an AQI of 0, "Good".
  constexpr int kTop = std::numeric_limits<int>::max();
  if (!(index < kTop)) return kTop;
  // Round half up; the epsilon keeps an exact .5 computed as .49999.. from rounding down.
  return static_cast<int>(std::lround(index + 1e-9));
}

}  // namespace

const char* category_name(int category) noexcept {
  if (category < 0 || category >= kCategoryCount) return "Missing";
  return kCategoryNames[static_cast<std::size_t>(category)];
}

double truncate_concentration(Pollutant pollutant, double concentration) noexcept {
  const double scale = pollutant == Pollutant::pm25 ? 10.0 : 1000.0;
  // The small offset keeps 35.4 (stored as 35.39999...) at 35.4 instead of truncating to 35.3.
  return std::floor(concentration * scale + 1e-6) / scale;
}

int aqi(Pollutant pollutant, double concentration) noexcept {
  if (std::isnan(concentration)) return kMissingAqi;
  if (concentration <= 0.0) return 0;
  const double c = truncate_concentration(pollutant, concentration);
  return pollutant == Pollutant::pm25 ? lookup(kPm25, c) : lookup(kOzone8h, c);
}

int aqi_category(int aqi_value) noexcept {
  if (aqi_value < 0) return kMissingAqi;
  if (aqi_value <= 50) return 0;
  if (aqi_value <= 100) return 1;
  if (aqi_value <= 150) return 2;
  if (aqi_value <= 200) return 3;
  if (aqi_value <= 300) return 4;
  return 5;
}

void aqi_array(Pollutant pollutant, const double* concentration, std::size_t n, int32_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = aqi(pollutant, concentration[i]);
}

void aqi_category_array(const int32_t* aqi_values, std::size_t n, int32_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = aqi_category(aqi_values[i]);
}

}  // namespace airwatch
