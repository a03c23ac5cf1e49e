// A spatial index of monitoring sites: a k-d tree over points on the unit sphere, answering k-nearest
// queries within a great-circle radius; and the neighbour-site features built on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace airwatch {

inline constexpr double kEarthRadiusKm = 6371.0088;

double haversine_km(double lat1, double lon1, double lat2, double lon2) noexcept;

class SiteIndex {
 public:
  SiteIndex(const double* lat, const double* lon, std::size_t n);
  // Up to k nearest sites within radius_km of (lat, lon), nearest first, as (site, distance km).
  // exclude: a site index to leave out (the query site itself), or -1.
  std::vector<std::pair<int32_t, double>> nearest(double lat, double lon, int k, double radius_km,
                                                  int32_t exclude = -1) const;
  std::size_t size() const noexcept { return xyz_.size() / 3; }

 private:
  struct Node {
    int32_t point;
    int32_t left = -1;
    int32_t right = -1;
    int axis = 0;
  };
  int32_t build(std::vector<int32_t>& ids, std::size_t begin, std::size_t end, int depth);
  void search(int32_t node, const double* q, int k, double max_chord2, int32_t exclude,
              std::vector<std::pair<double, int32_t>>& heap) const;
  std::vector<double> xyz_;
  std::vector<double> lat_, lon_;
  std::vector<Node> nodes_;
  int32_t root_ = -1;
};

// For each row of a daily grid (sorted by site, consecutive days per site), the inverse-distance
// weighted mean of the values of the site's k nearest other sites on the same day, among those with a
// value; NaN when none has one. Also writes how many neighbours contributed. site indexes the
// coordinate arrays.
void neighbor_mean(const int32_t* site, const int32_t* day, const double* value, std::size_t n,
                   const double* lat, const double* lon, std::size_t n_sites, int k, double radius_km,
                   double* out_mean, int32_t* out_count);

// For each row of a daily grid (as neighbor_mean's), what says a regional episode (smoke, a
// photochemical event) is under way on the row's day, from the values of the site's k nearest other
// sites within radius_km: the highest of them, and the fraction at or above threshold (the
// pollutant's AQI 100); NaN for both when no neighbour has a value. out_run: how many consecutive
// days up to the row's the site itself has been at or above threshold (0 below it, NaN on a day
// without a value; a missing day ends a run).
void regional_episode(const int32_t* site, const int32_t* day, const double* value, std::size_t n,
                      const double* lat, const double* lon, std::size_t n_sites, int k, double radius_km,
                      double threshold, double* out_max, double* out_high, double* out_run);

}  // namespace airwatch
