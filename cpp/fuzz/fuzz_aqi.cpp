// The AQI kernels on arbitrary concentrations (NaN, infinities, negative zero, subnormals, huge values):
// a missing value gives kMissingAqi, every other value an AQI of at least 0 that never decreases as
// the concentration grows, and the category kernel agrees with the scalar one on any int32.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "airwatch/aqi.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  airwatch::fuzz::Input in(data, size);
  const auto pollutant =
      (in.take<uint8_t>() & 1) != 0 ? airwatch::Pollutant::ozone : airwatch::Pollutant::pm25;
  std::vector<double> c(in.remaining() / sizeof(double));
  for (double& v : c) v = in.take<double>();
  std::vector<int32_t> index(c.size());
  airwatch::aqi_array(pollutant, c.data(), c.size(), index.data());
  std::vector<int32_t> category(c.size());
  airwatch::aqi_category_array(index.data(), index.size(), category.data());

  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < c.size(); ++i) {
    FUZZ_CHECK(index[i] == airwatch::aqi(pollutant, c[i]));
    if (std::isnan(c[i])) {
      FUZZ_CHECK(index[i] == airwatch::kMissingAqi);
      FUZZ_CHECK(category[i] == airwatch::kMissingAqi);
      continue;
    }
    FUZZ_CHECK(index[i] >= 0);
    FUZZ_CHECK(category[i] >= 0 && category[i] < airwatch::kCategoryCount);
    order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c[a] < c[b]; });
  for (std::size_t k = 1; k < order.size(); ++k) FUZZ_CHECK(index[order[k - 1]] <= index[order[k]]);

  // The same bytes read as AQI values: any int32, including the negative ones that mean missing.
  airwatch::fuzz::Input again(data, size);
  std::vector<int32_t> values(size / sizeof(int32_t));
  for (int32_t& v : values) v = again.take<int32_t>();
  std::vector<int32_t> cats(values.size());
  airwatch::aqi_category_array(values.data(), values.size(), cats.data());
  for (std::size_t i = 0; i < values.size(); ++i) {
    FUZZ_CHECK(cats[i] == airwatch::aqi_category(values[i]));
    FUZZ_CHECK(values[i] < 0 ? cats[i] == airwatch::kMissingAqi
                             : cats[i] >= 0 && cats[i] < airwatch::kCategoryCount);
  }
  return 0;
}
