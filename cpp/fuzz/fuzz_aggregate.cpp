// pm25_daily and ozone_mda8 on hourly rows decoded from the fuzz input. Rows are encoded as steps
// from the previous row, so most inputs are sorted as the kernels require, yet any day number (and an
// unsorted row now and then) can be reached. Checks one output row per (site, day) of the input, the
// counts and flags EPA's rules allow, and, for ozone, the MDA8 against ozone_8h_averages on a dense
// calendar built here.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "airwatch/aggregate.hpp"
#include "airwatch/error.hpp"
#include "fuzz_input.hpp"

namespace {

struct Rows {
  std::vector<int32_t> site, day, hour;
  std::vector<double> value;
};

Rows decode(airwatch::fuzz::Input& in) {
  Rows r;
  int32_t site = 0;
  int32_t day = 0;
  // One row: a step byte, an hour byte, then 8 bytes of value. Step: 0 = same site and day;
  // 1..199 = that many days later; 200..253 = next site, same day; 254 = next site and 255 = same
  // site, each with a 4-byte day following.
  while (in.remaining() >= 10) {
    const auto step = in.take<uint8_t>();
    if (step >= 1 && step < 200) {
      day = static_cast<int32_t>(static_cast<uint32_t>(day) + step);
    } else if (step >= 200) {
      if (step != 255) ++site;
      if (step >= 254) day = in.take<int32_t>();
    }
    r.site.push_back(site);
    r.day.push_back(day);
    r.hour.push_back(static_cast<int32_t>(in.take<uint8_t>()));
    r.value.push_back(in.take<double>());
  }
  return r;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void check(const Rows& r, const airwatch::DailyAggregate& a, bool ozone) {
  const std::size_t m = a.site.size();
  FUZZ_CHECK(a.day.size() == m && a.value.size() == m && a.count.size() == m && a.valid.size() == m &&
             a.max_hour.size() == m);
  // Output rows are the input's distinct (site, day), in input order.
  std::size_t k = 0;
  for (std::size_t i = 0; i < r.site.size(); ++i) {
    if (i > 0 && r.site[i] == r.site[i - 1] && r.day[i] == r.day[i - 1]) continue;
    FUZZ_CHECK(k < m && a.site[k] == r.site[i] && a.day[k] == r.day[i]);
    ++k;
  }
  FUZZ_CHECK(k == m);
  for (std::size_t i = 0; i < m; ++i) {
    FUZZ_CHECK(std::isnan(a.value[i]) == (a.count[i] == 0));
    if (ozone) {
      FUZZ_CHECK(a.count[i] >= 0 && a.count[i] <= 17);
      FUZZ_CHECK(a.max_hour[i] == -1 ? a.count[i] == 0 : a.max_hour[i] >= 7 && a.max_hour[i] <= 23);
      FUZZ_CHECK(a.valid[i] == (a.count[i] >= 13 || (a.count[i] > 0 && a.value[i] > 0.070) ? 1 : 0));
    } else {
      FUZZ_CHECK(a.count[i] >= 0 && a.count[i] <= 24);
      FUZZ_CHECK(a.max_hour[i] == -1);
      FUZZ_CHECK(a.valid[i] == (a.count[i] >= 18 ? 1 : 0));
    }
  }
}

// MDA8 per output row from the 8-hour averages of a dense hourly calendar of its site, for sites
// whose days span little enough to lay out.
void check_mda8(const Rows& r, const airwatch::DailyAggregate& a) {
  std::size_t b = 0;
  std::size_t out = 0;
  while (b < r.site.size()) {
    std::size_t e = b;
    while (e < r.site.size() && r.site[e] == r.site[b]) ++e;
    const int64_t span = static_cast<int64_t>(r.day[e - 1]) - r.day[b];
    std::size_t days_out = 1;
    for (std::size_t i = b + 1; i < e; ++i) days_out += r.day[i] != r.day[i - 1];
    if (span <= 400) {
      const std::size_t hours = static_cast<std::size_t>(span + 2) * 24;
      std::vector<double> hourly(hours, std::nan(""));
      for (std::size_t i = b; i < e; ++i) {
        hourly[static_cast<std::size_t>(r.day[i] - r.day[b]) * 24 + static_cast<std::size_t>(r.hour[i])] =
            r.value[i];
      }
      const std::vector<double> avg = airwatch::ozone_8h_averages(hourly.data(), hours);
      for (std::size_t k = out; k < out + days_out; ++k) {
        const std::size_t d = static_cast<std::size_t>(a.day[k] - r.day[b]);
        double best = std::nan("");
        int periods = 0;
        for (std::size_t h = 7; h < 24; ++h) {
          const double v = avg[d * 24 + h];
          if (std::isnan(v)) continue;
          ++periods;
          if (std::isnan(best) || v > best) best = v;
        }
        FUZZ_CHECK(same(a.value[k], best));
        FUZZ_CHECK(a.count[k] == periods);
      }
    }
    out += days_out;
    b = e;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  airwatch::fuzz::Input in(data, size);
  const bool ozone = (in.take<uint8_t>() & 1) != 0;
  const Rows r = decode(in);
  const auto kernel = ozone ? airwatch::ozone_mda8 : airwatch::pm25_daily;
  airwatch::DailyAggregate a;
  try {
    a = kernel(r.site.data(), r.day.data(), r.hour.data(), r.value.data(), r.site.size(), 2);
  } catch (const airwatch::Error&) {
    // Unsorted rows or an hour outside 0..23: the kernels' documented refusal.
    return 0;
  }
  check(r, a, ozone);
  if (ozone) check_mda8(r, a);
  return 0;
}
