#include "airwatch/spatial.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <queue>
#include <string>

#include "airwatch/error.hpp"

namespace airwatch {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

void to_xyz(double lat, double lon, double* out) {
  out[0] = std::cos(lat * kDeg) * std::cos(lon * kDeg);
  out[1] = std::cos(lat * kDeg) * std::sin(lon * kDeg);
  out[2] = std::sin(lat * kDeg);
}

// Chord length on the unit sphere for a great-circle distance, and back: the tree compares chords.
double chord2_of_km(double km) {
  const double angle = std::min(km / kEarthRadiusKm, std::numbers::pi);
  const double c = 2.0 * std::sin(angle / 2.0);
  return c * c;
}

}  // namespace

double haversine_km(double lat1, double lon1, double lat2, double lon2) noexcept {
  const double dlat = (lat2 - lat1) * kDeg;
  const double dlon = (lon2 - lon1) * kDeg;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kDeg) * std::cos(lat2 * kDeg) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2.0 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

SiteIndex::SiteIndex(const double* lat, const double* lon, std::size_t n)
    : lat_(lat, lat + n), lon_(lon, lon + n) {
  xyz_.resize(3 * n);
  std::vector<int32_t> ids;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(lat[i]) || std::isnan(lon[i])) continue;  // a site without coordinates has no neighbours
    if (lat[i] < -90 || lat[i] > 90 || lon[i] < -180 || lon[i] > 180) {
      throw Error("site " + std::to_string(i) + " has coordinates out of range");
    }
    to_xyz(lat[i], lon[i], &xyz_[3 * i]);
    ids.push_back(static_cast<int32_t>(i));
  }
  nodes_.reserve(ids.size());
  root_ = build(ids, 0, ids.size(), 0);
}

int32_t SiteIndex::build(std::vector<int32_t>& ids, std::size_t begin, std::size_t end, int depth) {
  if (begin >= end) return -1;
  const int axis = depth % 3;
  const std::size_t mid = begin + (end - begin) / 2;
  std::nth_element(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                   ids.begin() + static_cast<std::ptrdiff_t>(mid),
                   ids.begin() + static_cast<std::ptrdiff_t>(end), [&](int32_t a, int32_t b) {
                     return xyz_[3 * static_cast<std::size_t>(a) + static_cast<std::size_t>(axis)] <
                            xyz_[3 * static_cast<std::size_t>(b) + static_cast<std::size_t>(axis)];
                   });
  const auto node = static_cast<int32_t>(nodes_.size());
  nodes_.push_back({ids[mid], -1, -1, axis});
  const int32_t left = build(ids, begin, mid, depth + 1);
  const int32_t right = build(ids, mid + 1, end, depth + 1);
  nodes_[static_cast<std::size_t>(node)].left = left;
  nodes_[static_cast<std::size_t>(node)].right = right;
  return node;
}

void SiteIndex::search(int32_t node, const double* q, int k, double max_chord2, int32_t exclude,
                       std::vector<std::pair<double, int32_t>>& heap) const {
  if (node < 0) return;
  const Node& nd = nodes_[static_cast<std::size_t>(node)];
  const double* p = &xyz_[3 * static_cast<std::size_t>(nd.point)];
  const double d2 =
      (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2]);
  if (nd.point != exclude && d2 <= max_chord2) {
    if (static_cast<int>(heap.size()) < k) {
      heap.emplace_back(d2, nd.point);
      std::push_heap(heap.begin(), heap.end());
    } else if (d2 < heap.front().first) {
      std::pop_heap(heap.begin(), heap.end());
      heap.back() = {d2, nd.point};
      std::push_heap(heap.begin(), heap.end());
    }
  }
  const double diff = q[nd.axis] - p[nd.axis];
  const int32_t near = diff < 0 ? nd.left : nd.right;
  const int32_t far = diff < 0 ? nd.right : nd.left;
  search(near, q, k, max_chord2, exclude, heap);
  const double bound =
      static_cast<int>(heap.size()) < k ? max_chord2 : std::min(max_chord2, heap.front().first);
  if (diff * diff <= bound) search(far, q, k, max_chord2, exclude, heap);
}

std::vector<std::pair<int32_t, double>> SiteIndex::nearest(double lat, double lon, int k, double radius_km,
                                                           int32_t exclude) const {
  std::vector<std::pair<int32_t, double>> result;
  if (k <= 0 || std::isnan(lat) || std::isnan(lon)) return result;
  double q[3];
  to_xyz(lat, lon, q);
  std::vector<std::pair<double, int32_t>> heap;
  search(root_, q, k, chord2_of_km(radius_km) * (1 + 1e-12), exclude, heap);
  std::sort_heap(heap.begin(), heap.end());
  for (const auto& [d2, id] : heap) {
    const double km =
        haversine_km(lat, lon, lat_[static_cast<std::size_t>(id)], lon_[static_cast<std::size_t>(id)]);
    if (km <= radius_km) result.emplace_back(id, km);
  }
  return result;
}

namespace {

// Where each site's rows of a daily grid start, how many there are and their first day (rows of a
// site are consecutive days), and each site's neighbours: what every neighbour-site kernel needs.
struct GridNeighbours {
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> start, length;
  std::vector<int32_t> first_day;
  std::vector<std::vector<std::pair<int32_t, double>>> neighbours;

  GridNeighbours(const int32_t* site, const int32_t* day, std::size_t n, const double* lat, const double* lon,
                 std::size_t n_sites, int k, double radius_km)
      : start(n_sites, kNone), length(n_sites, 0), first_day(n_sites, 0), neighbours(n_sites) {
    for (std::size_t i = 0; i < n; ++i) {
      if (site[i] < 0 || static_cast<std::size_t>(site[i]) >= n_sites) {
        throw Error("row " + std::to_string(i) + ": site " + std::to_string(site[i]) +
                    " has no coordinates (only " + std::to_string(n_sites) + " sites)");
      }
      const auto s = static_cast<std::size_t>(site[i]);
      if (start[s] == kNone) {
        start[s] = i;
        first_day[s] = day[i];
      } else if (i > 0 && (site[i - 1] != site[i] || day[i] != day[i - 1] + 1)) {
        throw Error("row " + std::to_string(i) + ": rows of a site must be consecutive days");
      }
      ++length[s];
    }
    const SiteIndex index(lat, lon, n_sites);
    for (std::size_t s = 0; s < n_sites; ++s) {
      if (start[s] != kNone)
        neighbours[s] = index.nearest(lat[s], lon[s], k, radius_km, static_cast<int32_t>(s));
    }
  }

  // Calls f(value, km) for each neighbour of row i's site with a value on row i's day.
  template <typename F>
  void each(const int32_t* site, const int32_t* day, const double* value, std::size_t i, F&& f) const {
    for (const auto& [other, km] : neighbours[static_cast<std::size_t>(site[i])]) {
      const auto o = static_cast<std::size_t>(other);
      if (start[o] == kNone) continue;
      const int64_t offset = static_cast<int64_t>(day[i]) - first_day[o];
      if (offset < 0 || offset >= static_cast<int64_t>(length[o])) continue;
      const double v = value[start[o] + static_cast<std::size_t>(offset)];
      if (!std::isnan(v)) f(v, km);
    }
  }
};

}  // namespace

void neighbor_mean(const int32_t* site, const int32_t* day, const double* value, std::size_t n,
                   const double* lat, const double* lon, std::size_t n_sites, int k, double radius_km,
                   double* out_mean, int32_t* out_count) {
  const GridNeighbours grid(site, day, n, lat, lon, n_sites, k, radius_km);
  for (std::size_t i = 0; i < n; ++i) {
    double wsum = 0.0, vsum = 0.0;
    int32_t count = 0;
    grid.each(site, day, value, i, [&](double v, double km) {
      const double w = 1.0 / std::max(km, 1.0);  // sites closer than 1 km count as 1 km away
      wsum += w;
      vsum += w * v;
      ++count;
    });
    out_mean[i] = count > 0 ? vsum / wsum : std::numeric_limits<double>::quiet_NaN();
    out_count[i] = count;
  }
}

void regional_episode(const int32_t* site, const int32_t* day, const double* value, std::size_t n,
                      const double* lat, const double* lon, std::size_t n_sites, int k, double radius_km,
                      double threshold, double* out_max, double* out_high, double* out_run) {
  const GridNeighbours grid(site, day, n, lat, lon, n_sites, k, radius_km);
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < n; ++i) {
    double high = 0.0, top = -std::numeric_limits<double>::infinity();
    int32_t count = 0;
    grid.each(site, day, value, i, [&](double v, double) {
      top = std::max(top, v);
      high += v >= threshold ? 1.0 : 0.0;
      ++count;
    });
    out_max[i] = count > 0 ? top : kNaN;
    out_high[i] = count > 0 ? high / count : kNaN;
    // A missing day ends a run: what is not observed is not known to be high.
    const bool same_site = i > 0 && site[i - 1] == site[i];
    const double before = same_site ? out_run[i - 1] : 0.0;
    out_run[i] = std::isnan(value[i])    ? kNaN
                 : value[i] >= threshold ? (std::isnan(before) ? 0.0 : before) + 1.0
                                         : 0.0;
  }
}

}  // namespace airwatch
