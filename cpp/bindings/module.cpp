// Python bindings of the C++ core. Arrays cross the boundary without copies: inputs are borrowed
// views of NumPy/Arrow buffers, outputs are NumPy arrays that own the C++ allocation. Every kernel
// releases the GIL while it runs. Array arguments are not converted implicitly: a float array passed
// where day numbers are expected is a TypeError, not a silent truncation. Results are plain tuples in a
// fixed order (a dict of named arrays where there are many); airwatch/core.py, the only importer of this
// module, names their fields. Bad input (airwatch::Error) raises CoreError, a ValueError.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "airwatch/aggregate.hpp"
#include "airwatch/aqi.hpp"
#include "airwatch/csv.hpp"
#include "airwatch/drift.hpp"
#include "airwatch/error.hpp"
#include "airwatch/features.hpp"
#include "airwatch/forest.hpp"
#include "airwatch/metrics.hpp"
#include "airwatch/ridge.hpp"
#include "airwatch/spatial.hpp"
#include "airwatch/validate.hpp"
#include "airwatch/weather.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

template <typename T>
using In = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <typename T>
using Out = nb::ndarray<nb::numpy, T, nb::ndim<1>>;

template <typename T>
Out<T> to_numpy(std::vector<T>&& values) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return Out<T>(owned->data(), {owned->size()}, owner);
}

airwatch::Pollutant parse_pollutant(const std::string& name) {
  if (name == "pm25") return airwatch::Pollutant::pm25;
  if (name == "ozone") return airwatch::Pollutant::ozone;
  throw airwatch::Error("pollutant must be 'pm25' or 'ozone', got '" + name + "'");
}

void require_same_length(std::size_t expected, std::size_t got, const char* name) {
  if (expected != got) {
    throw airwatch::Error(std::string("length mismatch: '") + name + "' has " + std::to_string(got) +
                          " rows, expected " + std::to_string(expected));
  }
}

Out<int32_t> py_aqi(const std::string& pollutant, In<double> concentration) {
  const auto p = parse_pollutant(pollutant);
  std::vector<int32_t> out(concentration.shape(0));
  {
    nb::gil_scoped_release release;
    airwatch::aqi_array(p, concentration.data(), out.size(), out.data());
  }
  return to_numpy(std::move(out));
}

Out<int32_t> py_aqi_category(In<int32_t> aqi_values) {
  std::vector<int32_t> out(aqi_values.shape(0));
  {
    nb::gil_scoped_release release;
    airwatch::aqi_category_array(aqi_values.data(), out.size(), out.data());
  }
  return to_numpy(std::move(out));
}

std::vector<std::string> py_category_names() {
  std::vector<std::string> names;
  for (int i = 0; i < airwatch::kCategoryCount; ++i) names.emplace_back(airwatch::category_name(i));
  return names;
}

std::tuple<Out<int32_t>, Out<int32_t>, Out<double>> py_daily_grid(In<int32_t> site, In<int32_t> day,
                                                                  In<double> value) {
  const std::size_t n = site.shape(0);
  require_same_length(n, day.shape(0), "day");
  require_same_length(n, value.shape(0), "value");
  airwatch::DailyGrid grid;
  {
    nb::gil_scoped_release release;
    grid = airwatch::daily_grid(site.data(), day.data(), value.data(), n);
  }
  return {to_numpy(std::move(grid.site)), to_numpy(std::move(grid.day)), to_numpy(std::move(grid.value))};
}

std::pair<std::vector<std::string>, nb::ndarray<nb::numpy, double, nb::ndim<2>, nb::f_contig>> py_features(
    In<int32_t> site, In<int32_t> day, In<double> value, std::vector<int> lags, std::vector<int> mean_windows,
    std::vector<int> std_windows, std::vector<int> max_windows, bool calendar, std::vector<double> ewm_alphas,
    int threads, std::vector<int> missing_windows) {
  const std::size_t n = site.shape(0);
  require_same_length(n, day.shape(0), "day");
  require_same_length(n, value.shape(0), "value");
  airwatch::FeatureSpec spec{std::move(lags),
                             std::move(mean_windows),
                             std::move(std_windows),
                             std::move(max_windows),
                             calendar,
                             std::move(ewm_alphas),
                             threads,
                             std::move(missing_windows)};
  auto names = airwatch::feature_names(spec);
  const std::size_t k = names.size();
  // Left uninitialized: the kernel writes every cell, and zeroing hundreds of MB first costs as much
  // as computing them.
  auto* owned = new double[n * k];
  nb::capsule owner(owned, [](void* p) noexcept { delete[] static_cast<double*>(p); });
  {
    nb::gil_scoped_release release;
    airwatch::compute_features(site.data(), day.data(), value.data(), n, spec, owned);
  }
  // Column-major: each feature is one contiguous column, ready for a DataFrame or LightGBM.
  nb::ndarray<nb::numpy, double, nb::ndim<2>, nb::f_contig> matrix(owned, {n, k}, owner);
  return {std::move(names), matrix};
}

std::tuple<std::size_t, double, double, double> py_error_summary(In<double> forecast, In<double> observed) {
  require_same_length(forecast.shape(0), observed.shape(0), "observed");
  airwatch::ErrorSummary s;
  {
    nb::gil_scoped_release release;
    s = airwatch::error_summary(forecast.data(), observed.data(), forecast.shape(0));
  }
  return {s.n, s.rmse, s.mae, s.bias};
}

double py_rmse_skill(In<double> forecast, In<double> reference, In<double> observed) {
  require_same_length(forecast.shape(0), reference.shape(0), "reference");
  require_same_length(forecast.shape(0), observed.shape(0), "observed");
  nb::gil_scoped_release release;
  return airwatch::rmse_skill(forecast.data(), reference.data(), observed.data(), forecast.shape(0));
}

Out<uint32_t> py_validate(In<int64_t> site, In<int32_t> parameter, In<int32_t> poc, In<int32_t> day,
                          In<int32_t> series, In<int32_t> unit, In<double> value, In<double> percent_complete,
                          In<double> latitude, In<double> longitude, int32_t max_day,
                          std::optional<In<uint8_t>> row_flags) {
  const std::size_t n = site.shape(0);
  require_same_length(n, parameter.shape(0), "parameter");
  require_same_length(n, poc.shape(0), "poc");
  require_same_length(n, day.shape(0), "day");
  require_same_length(n, series.shape(0), "series");
  require_same_length(n, unit.shape(0), "unit");
  require_same_length(n, value.shape(0), "value");
  require_same_length(n, percent_complete.shape(0), "percent_complete");
  require_same_length(n, latitude.shape(0), "latitude");
  require_same_length(n, longitude.shape(0), "longitude");
  if (row_flags) require_same_length(n, row_flags->shape(0), "row_flags");
  airwatch::ObservationColumns cols{n,
                                    site.data(),
                                    parameter.data(),
                                    poc.data(),
                                    day.data(),
                                    series.data(),
                                    unit.data(),
                                    value.data(),
                                    percent_complete.data(),
                                    latitude.data(),
                                    longitude.data(),
                                    row_flags ? row_flags->data() : nullptr};
  std::vector<uint32_t> out(n);
  {
    nb::gil_scoped_release release;
    airwatch::validate_observations(cols, max_day, out.data());
  }
  return to_numpy(std::move(out));
}

using CsvColumns = nb::typed<nb::dict, nb::str, nb::object>;

std::tuple<std::size_t, std::vector<std::string>, CsvColumns, Out<uint8_t>> py_read_csv(
    In<uint8_t> data, const std::vector<std::pair<std::string, airwatch::ColumnKind>>& columns, int threads) {
  std::vector<airwatch::ColumnRequest> req;
  for (const auto& [name, kind] : columns) req.push_back({name, kind});
  // A view of the caller's buffer (bytes, or a memory-mapped file): the file is never copied.
  const std::string_view view(reinterpret_cast<const char*>(data.data()), data.shape(0));
  airwatch::CsvTable table;
  {
    nb::gil_scoped_release release;
    table = airwatch::read_csv(view, req, threads);
  }
  CsvColumns out;
  for (auto& col : table.columns) {
    if (!col.present) continue;
    switch (col.kind) {
      case airwatch::ColumnKind::float64:
        out[col.name.c_str()] = to_numpy(std::move(col.f64));
        break;
      case airwatch::ColumnKind::int64:
      case airwatch::ColumnKind::site_id:
        out[col.name.c_str()] = to_numpy(std::move(col.i64));
        break;
      case airwatch::ColumnKind::date:
      case airwatch::ColumnKind::hour:
        out[col.name.c_str()] = to_numpy(std::move(col.i32));
        break;
      case airwatch::ColumnKind::dictionary:
        out[col.name.c_str()] = nb::make_tuple(to_numpy(std::move(col.i32)), nb::cast(col.categories));
        break;
    }
  }
  return {table.rows, std::move(table.header), std::move(out), to_numpy(std::move(table.row_flags))};
}

using Aggregate =
    std::tuple<Out<int32_t>, Out<int32_t>, Out<double>, Out<int32_t>, Out<uint8_t>, Out<int32_t>>;

template <typename Fn>
Aggregate py_aggregate(Fn fn, In<int32_t> site, In<int32_t> day, In<int32_t> hour, In<double> value,
                       int threads) {
  const std::size_t n = site.shape(0);
  require_same_length(n, day.shape(0), "day");
  require_same_length(n, hour.shape(0), "hour");
  require_same_length(n, value.shape(0), "value");
  airwatch::DailyAggregate a;
  {
    nb::gil_scoped_release release;
    a = fn(site.data(), day.data(), hour.data(), value.data(), n, threads);
  }
  return {to_numpy(std::move(a.site)),  to_numpy(std::move(a.day)),   to_numpy(std::move(a.value)),
          to_numpy(std::move(a.count)), to_numpy(std::move(a.valid)), to_numpy(std::move(a.max_hour))};
}

std::tuple<std::size_t, double, std::size_t, double, double> py_category_scores(const std::string& pollutant,
                                                                                In<double> forecast,
                                                                                In<double> observed,
                                                                                int threshold_category) {
  require_same_length(forecast.shape(0), observed.shape(0), "observed");
  const auto p = parse_pollutant(pollutant);
  airwatch::CategoryScores s;
  {
    nb::gil_scoped_release release;
    s = airwatch::category_scores(p, forecast.data(), observed.data(), forecast.shape(0), threshold_category);
  }
  return {s.n, s.hit_rate, s.events, s.pod, s.far};
}

// Named arrays rather than a tuple: the verification set has 27 outputs.
nb::typed<nb::dict, nb::str, nb::object> py_verify_groups(
    const std::string& pollutant, In<int32_t> group, std::size_t groups, In<double> forecast,
    In<double> observed, std::optional<In<double>> persistence, std::optional<In<double>> climatology,
    std::optional<In<double>> lower, std::optional<In<double>> upper, int event_category) {
  const std::size_t n = group.shape(0);
  require_same_length(n, forecast.shape(0), "forecast");
  require_same_length(n, observed.shape(0), "observed");
  const auto data = [n](const std::optional<In<double>>& column, const char* name) -> const double* {
    if (!column) return nullptr;
    require_same_length(n, column->shape(0), name);
    return column->data();
  };
  const double* p = data(persistence, "persistence");
  const double* c = data(climatology, "climatology");
  const double* lo = data(lower, "lower");
  const double* hi = data(upper, "upper");
  const auto pol = parse_pollutant(pollutant);
  airwatch::GroupVerification v;
  {
    nb::gil_scoped_release release;
    v = airwatch::verify_groups(pol, group.data(), groups, forecast.data(), observed.data(), p, c, lo, hi, n,
                                event_category);
  }
  nb::dict out;
  const auto counts = [&out](const char* name, std::vector<std::int64_t>& values) {
    out[name] = nb::cast(to_numpy(std::move(values)));
  };
  const auto scores = [&out](const char* name, std::vector<double>& values) {
    out[name] = nb::cast(to_numpy(std::move(values)));
  };
  counts("n", v.n);
  scores("bias", v.bias);
  scores("mae", v.mae);
  scores("rmse", v.rmse);
  scores("corr", v.corr);
  counts("n_persistence", v.n_persistence);
  scores("skill_vs_persistence", v.skill_persistence);
  counts("n_climatology", v.n_climatology);
  scores("skill_vs_climatology", v.skill_climatology);
  counts("n_interval", v.n_interval);
  scores("interval_coverage", v.coverage);
  counts("n_category", v.n_category);
  scores("category_hit_rate", v.hit_rate);
  scores("within_one_category", v.within_one);
  counts("hits", v.hits);
  counts("false_alarms", v.false_alarms);
  counts("misses", v.misses);
  counts("correct_negatives", v.correct_negatives);
  scores("pod", v.pod);
  scores("far", v.far);
  scores("csi", v.csi);
  scores("frequency_bias", v.frequency_bias);
  scores("hss", v.hss);
  counts("confusion", v.confusion);
  return nb::typed<nb::dict, nb::str, nb::object>(out);
}

std::tuple<double, double, double, Out<double>> py_drift(In<double> reference, In<double> current, int bins) {
  double psi = 0, ks = 0, w = 0;
  std::vector<double> edges;
  {
    nb::gil_scoped_release release;
    edges = airwatch::quantile_edges(reference.data(), reference.shape(0), bins);
    psi = airwatch::psi(reference.data(), reference.shape(0), current.data(), current.shape(0), edges);
    ks = airwatch::ks_statistic(reference.data(), reference.shape(0), current.data(), current.shape(0));
    w = airwatch::wasserstein(reference.data(), reference.shape(0), current.data(), current.shape(0));
  }
  return {psi, ks, w, to_numpy(std::move(edges))};
}

using InMatrix = nb::ndarray<const double, nb::ndim<2>, nb::f_contig, nb::device::cpu>;

std::tuple<Out<double>, Out<double>, Out<double>, Out<int64_t>, Out<int64_t>,
           nb::ndarray<nb::numpy, double, nb::ndim<2>>>
py_drift_columns(InMatrix reference, InMatrix current, int bins, int threads) {
  const std::size_t columns = reference.shape(1);
  if (current.shape(1) != columns) {
    throw airwatch::Error("column mismatch: 'current' has " + std::to_string(current.shape(1)) +
                          " columns, 'reference' has " + std::to_string(columns));
  }
  std::vector<airwatch::DriftStats> stats;
  {
    nb::gil_scoped_release release;
    stats = airwatch::drift_columns(reference.data(), reference.shape(0), current.data(), current.shape(0),
                                    columns, bins, threads);
  }
  std::vector<double> psi(columns), ks(columns), w(columns);
  std::vector<int64_t> n_reference(columns), n_current(columns);
  // One row of edges per column; NaN where equal quantiles were merged or the column was not evaluated.
  const std::size_t width = bins > 1 ? static_cast<std::size_t>(bins - 1) : 0;
  auto* edges = new std::vector<double>(columns * width, std::numeric_limits<double>::quiet_NaN());
  nb::capsule owner(edges, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
  for (std::size_t j = 0; j < columns; ++j) {
    psi[j] = stats[j].psi;
    ks[j] = stats[j].ks;
    w[j] = stats[j].wasserstein;
    n_reference[j] = static_cast<int64_t>(stats[j].n_reference);
    n_current[j] = static_cast<int64_t>(stats[j].n_current);
    std::copy(stats[j].edges.begin(), stats[j].edges.end(),
              edges->begin() + static_cast<std::ptrdiff_t>(j * width));
  }
  return {to_numpy(std::move(psi)),
          to_numpy(std::move(ks)),
          to_numpy(std::move(w)),
          to_numpy(std::move(n_reference)),
          to_numpy(std::move(n_current)),
          nb::ndarray<nb::numpy, double, nb::ndim<2>>(edges->data(), {columns, width}, owner)};
}

std::tuple<Out<int32_t>, Out<double>> py_nearest(In<double> lat, In<double> lon, In<double> query_lat,
                                                 In<double> query_lon, int k, double radius_km) {
  require_same_length(lat.shape(0), lon.shape(0), "lon");
  require_same_length(query_lat.shape(0), query_lon.shape(0), "query_lon");
  if (k < 1) throw airwatch::Error("k must be >= 1");
  const std::size_t q = query_lat.shape(0);
  std::vector<int32_t> index(q * static_cast<std::size_t>(k), -1);
  std::vector<double> distance(q * static_cast<std::size_t>(k), std::numeric_limits<double>::quiet_NaN());
  {
    nb::gil_scoped_release release;
    const airwatch::SiteIndex tree(lat.data(), lon.data(), lat.shape(0));
    for (std::size_t i = 0; i < q; ++i) {
      const auto found = tree.nearest(query_lat.data()[i], query_lon.data()[i], k, radius_km);
      for (std::size_t j = 0; j < found.size(); ++j) {
        index[i * static_cast<std::size_t>(k) + j] = found[j].first;
        distance[i * static_cast<std::size_t>(k) + j] = found[j].second;
      }
    }
  }
  return {to_numpy(std::move(index)), to_numpy(std::move(distance))};
}

std::tuple<Out<double>, Out<int32_t>> py_neighbor_mean(In<int32_t> site, In<int32_t> day, In<double> value,
                                                       In<double> lat, In<double> lon, int k,
                                                       double radius_km) {
  const std::size_t n = site.shape(0);
  require_same_length(n, day.shape(0), "day");
  require_same_length(n, value.shape(0), "value");
  require_same_length(lat.shape(0), lon.shape(0), "lon");
  std::vector<double> mean(n);
  std::vector<int32_t> count(n);
  {
    nb::gil_scoped_release release;
    airwatch::neighbor_mean(site.data(), day.data(), value.data(), n, lat.data(), lon.data(), lat.shape(0), k,
                            radius_km, mean.data(), count.data());
  }
  return {to_numpy(std::move(mean)), to_numpy(std::move(count))};
}

std::tuple<Out<double>, Out<double>, Out<double>> py_regional_episode(In<int32_t> site, In<int32_t> day,
                                                                      In<double> value, In<double> lat,
                                                                      In<double> lon, int k, double radius_km,
                                                                      double threshold) {
  const std::size_t n = site.shape(0);
  require_same_length(n, day.shape(0), "day");
  require_same_length(n, value.shape(0), "value");
  require_same_length(lat.shape(0), lon.shape(0), "lon");
  std::vector<double> top(n), high(n), run(n);
  {
    nb::gil_scoped_release release;
    airwatch::regional_episode(site.data(), day.data(), value.data(), n, lat.data(), lon.data(), lat.shape(0),
                               k, radius_km, threshold, top.data(), high.data(), run.data());
  }
  return {to_numpy(std::move(top)), to_numpy(std::move(high)), to_numpy(std::move(run))};
}

std::tuple<std::vector<std::string>, Out<int32_t>, Out<int32_t>, Out<int32_t>, Out<double>, std::size_t,
           std::size_t, std::size_t, std::size_t>
py_ghcn(In<uint8_t> data, const std::vector<std::string>& elements) {
  const std::string_view view(reinterpret_cast<const char*>(data.data()), data.shape(0));
  airwatch::GhcnDaily g;
  {
    nb::gil_scoped_release release;
    g = airwatch::parse_ghcn_dly(view, elements);
  }
  return {std::move(g.stations),
          to_numpy(std::move(g.station)),
          to_numpy(std::move(g.day)),
          to_numpy(std::move(g.element)),
          to_numpy(std::move(g.value)),
          g.missing,
          g.flagged,
          g.out_of_bounds,
          g.malformed_lines};
}

template <typename T>
std::vector<T> copied(In<T> values) {
  return std::vector<T>(values.data(), values.data() + values.shape(0));
}

airwatch::CompiledForest py_forest(In<int32_t> feature, In<double> threshold, In<uint8_t> decision,
                                   In<int32_t> left, In<int32_t> right, In<double> leaf_value,
                                   In<int64_t> node_start, In<int64_t> leaf_start, std::size_t inputs) {
  const airwatch::Forest forest{copied(feature), copied(threshold),  copied(decision),   copied(left),
                                copied(right),   copied(leaf_value), copied(node_start), copied(leaf_start)};
  return airwatch::CompiledForest(forest, inputs);
}

Out<double> py_forest_predict(const airwatch::CompiledForest& forest, const std::vector<In<double>>& columns,
                              int threads) {
  if (columns.size() != forest.inputs()) {
    throw airwatch::Error("forest: " + std::to_string(columns.size()) + " columns for " +
                          std::to_string(forest.inputs()) + " inputs");
  }
  const std::size_t rows = columns.empty() ? 0 : columns[0].shape(0);
  std::vector<const double*> pointers;
  for (std::size_t j = 0; j < columns.size(); ++j) {
    require_same_length(rows, columns[j].shape(0), ("column " + std::to_string(j)).c_str());
    pointers.push_back(columns[j].data());
  }
  std::vector<double> out(rows);
  {
    nb::gil_scoped_release release;
    forest.predict(pointers.data(), rows, out.data(), threads);
  }
  return to_numpy(std::move(out));
}

// The fit's rows as the core reads them; the arrays stay owned by the caller for the call's length.
struct RidgeArgs {
  std::vector<const double*> pointers;
  airwatch::RidgeRows rows;
};

RidgeArgs ridge_rows(const std::vector<In<double>>& columns, const std::optional<In<int64_t>>& index,
                     const std::optional<In<double>>& weights) {
  RidgeArgs args;
  const std::size_t length = columns.empty() ? 0 : columns[0].shape(0);
  for (std::size_t j = 0; j < columns.size(); ++j) {
    require_same_length(length, columns[j].shape(0), ("column " + std::to_string(j)).c_str());
    args.pointers.push_back(columns[j].data());
  }
  const std::size_t rows = index ? index->shape(0) : length;
  if (weights) require_same_length(rows, weights->shape(0), "weights");
  args.rows = {args.pointers.data(),
               columns.size(),
               length,
               index ? index->data() : nullptr,
               rows,
               weights ? weights->data() : nullptr};
  return args;
}

std::tuple<Out<double>, Out<int64_t>, Out<double>, Out<double>> py_ridge_imputation(
    const std::vector<In<double>>& columns, const std::optional<In<int64_t>>& index,
    const std::optional<In<double>>& weights, int threads) {
  RidgeArgs args = ridge_rows(columns, index, weights);
  airwatch::RidgeImputation imputation;
  {
    nb::gil_scoped_release release;
    imputation = airwatch::ridge_imputation(args.rows, threads);
  }
  return {to_numpy(std::move(imputation.fill)), to_numpy(std::move(imputation.flagged)),
          to_numpy(std::move(imputation.sums)), to_numpy(std::move(imputation.weighted_sums))};
}

using ColumnMajorOut = nb::ndarray<double, nb::ndim<2>, nb::f_contig, nb::device::cpu>;

Out<double> py_ridge_block(const std::vector<In<double>>& columns, const std::optional<In<int64_t>>& index,
                           const std::optional<In<double>>& weights, In<double> fill, In<int64_t> flagged,
                           In<double> mean, In<double> weighted_mean, std::size_t start, ColumnMajorOut z) {
  RidgeArgs args = ridge_rows(columns, index, weights);
  airwatch::RidgeImputation imputation;
  imputation.fill = copied(fill);
  imputation.flagged = copied(flagged);
  require_same_length(columns.size(), fill.shape(0), "fill");
  const std::size_t width = imputation.width();
  require_same_length(width, mean.shape(0), "mean");
  require_same_length(width, weighted_mean.shape(0), "weighted_mean");
  require_same_length(width, z.shape(1), "z's columns");
  std::vector<double> squares(width);
  {
    nb::gil_scoped_release release;
    airwatch::ridge_block(args.rows, imputation, mean.data(), weighted_mean.data(), start, start + z.shape(0),
                          z.data(), squares.data());
  }
  return to_numpy(std::move(squares));
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "AirWatch C++ core: EPA AQI, validation rules, daily-series features and forecast metrics.";

  // A ValueError, so callers that caught the ValueError of std::invalid_argument keep working.
  nb::exception<airwatch::Error>(m, "CoreError", PyExc_ValueError);

  nb::enum_<airwatch::ColumnKind>(m, "ColumnKind", "How read_csv converts a column.")
      .value("FLOAT64", airwatch::ColumnKind::float64, "NaN when empty, '.' or not a number")
      .value("INT64", airwatch::ColumnKind::int64, "-1 when empty or not an integer")
      .value("DATE", airwatch::ColumnKind::date,
             "days since 1970-01-01 (YYYY-MM-DD or MM/DD/YYYY); MISSING_DAY if invalid")
      .value("HOUR", airwatch::ColumnKind::hour, "HH:MM to 0..23; -1 when invalid")
      .value("DICTIONARY", airwatch::ColumnKind::dictionary,
             "codes into the distinct strings, in order of first appearance")
      .value("SITE_ID", airwatch::ColumnKind::site_id,
             "9 digits, dashes ignored, as SSCCCNNNN; -1 when invalid");

  nb::class_<airwatch::CompiledForest>(m, "Forest",
                                       "A LightGBM tree ensemble, checked and laid out for forest_predict.")
      .def_prop_ro("inputs", &airwatch::CompiledForest::inputs);
  m.def("forest", &py_forest, "feature"_a.noconvert(), "threshold"_a.noconvert(), "decision"_a.noconvert(),
        "left"_a.noconvert(), "right"_a.noconvert(), "leaf_value"_a.noconvert(), "node_start"_a.noconvert(),
        "leaf_start"_a.noconvert(), "inputs"_a,
        "A Forest from LightGBM's tree arrays, every tree's after the one before (node_start, leaf_start: "
        "each tree's first node and leaf, and their counts at the end). CoreError when they do not form "
        "trees over `inputs` columns or a split is categorical.");
  m.def(
      "forest_predict", &py_forest_predict, "forest"_a, "columns"_a.noconvert(), "threads"_a = 2,
      "The forest's raw forecast of each row, as LightGBM's Booster.predict makes it (to the bit), from one "
      "float64 column per input.");
  m.def("ridge_imputation", &py_ridge_imputation, "columns"_a.noconvert(), "index"_a.noconvert() = nb::none(),
        "weights"_a.noconvert() = nb::none(), "threads"_a = 2,
        "A ridge fit's imputation and design sums over the rows (index: their positions in the columns; "
        "None: every row): (fill: each input's median, flagged: the inputs with a missing value, sums and "
        "weighted_sums: per design column, inputs then indicators).");
  m.def("ridge_block", &py_ridge_block, "columns"_a.noconvert(), "index"_a.noconvert().none(),
        "weights"_a.noconvert().none(), "fill"_a.noconvert(), "flagged"_a.noconvert(), "mean"_a.noconvert(),
        "weighted_mean"_a.noconvert(), "start"_a, "z"_a.noconvert(),
        "Into z (column-major, as many rows as it has, a column per design column): the design's rows from "
        "start on, less weighted_mean and times the square roots of their weights. Returns each design "
        "column's squared deviations from mean over those rows.");
  m.def("aqi", &py_aqi, "pollutant"_a, "concentration"_a.noconvert(),
        "Daily AQI per value (int32, -1 where missing). pollutant: 'pm25' (24-h mean, ug/m3, 2024 "
        "breakpoints) or 'ozone' (MDA8, ppm, 2015 breakpoints); values are truncated as EPA requires.");
  m.def("aqi_category", &py_aqi_category, "aqi"_a.noconvert(),
        "AQI category index 0..5 (Good..Hazardous), -1 where missing.");
  m.def("category_names", &py_category_names, "Names of the AQI categories, by index.");
  m.def("daily_grid", &py_daily_grid, "site"_a.noconvert(), "day"_a.noconvert(), "value"_a.noconvert(),
        "Lays observations sorted by (site, day) on a gap-free daily calendar per site (NaN for missing "
        "days).");
  m.def("compute_features", &py_features, "site"_a.noconvert(), "day"_a.noconvert(), "value"_a.noconvert(),
        "lags"_a, "mean_windows"_a, "std_windows"_a, "max_windows"_a, "calendar"_a = true,
        "ewm_alphas"_a = std::vector<double>{}, "threads"_a = 2, "missing_windows"_a = std::vector<int>{7},
        "Feature block for each row of a daily grid, from values on or before the row's day. Returns "
        "(names, matrix) with matrix of shape (rows, features), column-major.");
  m.def("error_summary", &py_error_summary, "forecast"_a.noconvert(), "observed"_a.noconvert(),
        "(n, rmse, mae, bias) over the pairs where both values exist.");
  m.def("rmse_skill", &py_rmse_skill, "forecast"_a.noconvert(), "reference"_a.noconvert(),
        "observed"_a.noconvert(), "1 - rmse(forecast)/rmse(reference) over the days all three exist.");
  m.def("validate_observations", &py_validate, "site"_a.noconvert(), "parameter"_a.noconvert(),
        "poc"_a.noconvert(), "day"_a.noconvert(), "series"_a.noconvert(), "unit"_a.noconvert(),
        "value"_a.noconvert(), "percent_complete"_a.noconvert(), "latitude"_a.noconvert(),
        "longitude"_a.noconvert(), "max_day"_a, "row_flags"_a.noconvert() = nb::none(),
        "Reason bit mask per row (0 = valid); row_flags (uint8, optional) from read_csv: 1 wrong field "
        "count, 2 unparseable text.");
  m.def("reason_codes", &airwatch::reason_codes, "(bit, code) of every validation rule.");
  m.def("read_csv", &py_read_csv, "data"_a.noconvert(), "columns"_a, "threads"_a = 2,
        "Read the named columns of a CSV (a uint8 array over the bytes, e.g. np.frombuffer of bytes or "
        "mmap). Returns (rows, header, {name: array or (codes, categories)}, row_flags); absent columns "
        "are left out of the dict.");
  m.def(
      "pm25_daily",
      [](In<int32_t> site, In<int32_t> day, In<int32_t> hour, In<double> value, int threads) {
        return py_aggregate(airwatch::pm25_daily, site, day, hour, value, threads);
      },
      "site"_a.noconvert(), "day"_a.noconvert(), "hour"_a.noconvert(), "value"_a.noconvert(), "threads"_a = 2,
      "PM2.5 24-hour averages from hourly rows sorted by (site, day, hour): (site, day, value, count "
      "(valid hours), valid (>= 18 hours), max_hour).");
  m.def(
      "ozone_mda8",
      [](In<int32_t> site, In<int32_t> day, In<int32_t> hour, In<double> value, int threads) {
        return py_aggregate(airwatch::ozone_mda8, site, day, hour, value, threads);
      },
      "site"_a.noconvert(), "day"_a.noconvert(), "hour"_a.noconvert(), "value"_a.noconvert(), "threads"_a = 2,
      "Ozone MDA8 (40 CFR 50 Appendix U, 2015) from hourly ppm rows sorted by (site, day, hour): (site, "
      "day, value, count (valid 8-hour periods of 17), valid, max_hour).");
  m.def("category_scores", &py_category_scores, "pollutant"_a, "forecast"_a.noconvert(),
        "observed"_a.noconvert(), "threshold_category"_a = 2,
        "(n, hit_rate, events, pod, far): AQI-category hit rate, and POD/FAR for days at or above "
        "threshold_category (2 = USG).");
  m.def(
      "verify_groups", &py_verify_groups, "pollutant"_a, "group"_a.noconvert(), "groups"_a,
      "forecast"_a.noconvert(), "observed"_a.noconvert(), "persistence"_a.noconvert() = nb::none(),
      "climatology"_a.noconvert() = nb::none(), "lower"_a.noconvert() = nb::none(),
      "upper"_a.noconvert() = nb::none(), "event_category"_a = 2,
      "Forecast verification per group: a dict of per-group arrays (n, bias, mae, rmse, corr, skill against "
      "persistence and climatology, interval coverage, category hit and within-one rates, the 2x2 "
      "contingency "
      "of category >= event_category with POD, false-alarm ratio, CSI, frequency bias and HSS) and "
      "'confusion', groups x 6 x 6 counts flattened.");
  m.def("drift", &py_drift, "reference"_a.noconvert(), "current"_a.noconvert(), "bins"_a = 10,
        "(psi, ks, wasserstein, edges): PSI over reference-quantile bins, Kolmogorov-Smirnov statistic and "
        "Wasserstein-1 distance.");
  m.def("drift_columns", &py_drift_columns, "reference"_a.noconvert(), "current"_a.noconvert(), "bins"_a = 10,
        "threads"_a = 2,
        "Per column of two column-major matrices (rows, features): (psi, ks, wasserstein, n_reference, "
        "n_current, edges), edges of shape (features, bins - 1), NaN-padded; each column sorted once, "
        "columns shared between threads. A column empty on either side gets NaN statistics.");
  m.def("nearest_sites", &py_nearest, "lat"_a.noconvert(), "lon"_a.noconvert(), "query_lat"_a.noconvert(),
        "query_lon"_a.noconvert(), "k"_a, "radius_km"_a,
        "k nearest sites within radius_km of each query point (k-d tree): (index, distance_km), each "
        "(queries * k), -1/NaN padded.");
  m.def("neighbor_mean", &py_neighbor_mean, "site"_a.noconvert(), "day"_a.noconvert(), "value"_a.noconvert(),
        "lat"_a.noconvert(), "lon"_a.noconvert(), "k"_a, "radius_km"_a,
        "Inverse-distance weighted mean of the k nearest other sites' values on each grid row's day, and how "
        "many contributed.");
  m.def("regional_episode", &py_regional_episode, "site"_a.noconvert(), "day"_a.noconvert(),
        "value"_a.noconvert(), "lat"_a.noconvert(), "lon"_a.noconvert(), "k"_a, "radius_km"_a, "threshold"_a,
        "On each grid row's day, the highest value of the k nearest other sites within radius_km and the "
        "fraction of them at or above threshold (NaN when none has a value), and the site's run of "
        "consecutive days at or above threshold up to that day (NaN without a value).");
  m.def("parse_ghcn_dly", &py_ghcn, "data"_a.noconvert(), "elements"_a,
        "NOAA GHCN-Daily .dly text (uint8 array) to long rows in metric units: (stations, station, day, "
        "element, value, missing, flagged, out_of_bounds, malformed_lines); flagged (QFLAG), missing "
        "(-9999) and out-of-bounds values are dropped and counted.");
  m.attr("MISSING_DAY") = airwatch::kMissingDay;
  // Set by CMakeLists.txt from the C++ sources, for dataset versions.
  m.attr("SOURCE_DIGEST") = AIRWATCH_SOURCE_DIGEST;
}
