// EPA Air Quality Index: current breakpoints (PM2.5 as revised in 2024, ozone 8-hour as set in 2015)
// and EPA's truncation rules (40 CFR Part 58 Appendix G; Technical Assistance Document, May 2024).
#pragma once

#include <cstddef>
#include <cstdint>

namespace airwatch {

enum class Pollutant : int { pm25 = 0, ozone = 1 };

// AQI categories, index 0..5: Good .. Hazardous. -1 marks a missing value.
inline constexpr int kMissingAqi = -1;
inline constexpr int kCategoryCount = 6;
const char* category_name(int category) noexcept;

// Truncates a concentration as EPA does before the AQI lookup: PM2.5 to 0.1 ug/m3, ozone to 0.001 ppm.
double truncate_concentration(Pollutant pollutant, double concentration) noexcept;

// AQI of one daily concentration (PM2.5 24-hour mean in ug/m3, ozone MDA8 in ppm).
// NaN gives kMissingAqi; negative concentrations (real values near the detection limit) give 0;
// above the top breakpoint the last segment is extended, as EPA's AirData files do (545.8 ug/m3 -> 939),
// up to INT_MAX (infinity included), so the index never decreases as the concentration grows.
int aqi(Pollutant pollutant, double concentration) noexcept;

// Category index (0..5) of an AQI value, kMissingAqi for a missing one.
int aqi_category(int aqi_value) noexcept;

void aqi_array(Pollutant pollutant, const double* concentration, std::size_t n, int32_t* out) noexcept;
void aqi_category_array(const int32_t* aqi_values, std::size_t n, int32_t* out) noexcept;

}  // namespace airwatch
