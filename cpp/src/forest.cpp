#include "airwatch/forest.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <thread>

#include "airwatch/error.hpp"

namespace airwatch {

namespace {

// LightGBM's constants (include/LightGBM/meta.h, tree.h).
constexpr double kZeroThreshold = 1e-35f;
constexpr std::uint8_t kCategoricalMask = 1;
constexpr std::uint8_t kDefaultLeftMask = 2;
constexpr std::uint8_t kMissingZero = 1;
constexpr std::uint8_t kMissingNaN = 2;
// Rows that walk a tree together: their inputs (64 rows of 60 inputs, 30 KB) stay in L1.
constexpr std::size_t kBlock = 64;

constexpr std::uint8_t kMissingLeft = 1, kZeroMissing = 2;  // Node::rule

std::string tree_name(std::size_t t) { return "forest: tree " + std::to_string(t); }

}  // namespace

CompiledForest::CompiledForest(const Forest& f, std::size_t inputs) : inputs_(inputs) {
  const std::size_t splits = f.feature.size();
  if (f.threshold.size() != splits || f.decision.size() != splits || f.left.size() != splits ||
      f.right.size() != splits) {
    throw Error("forest: node arrays of different lengths");
  }
  if (f.node_start.empty() || f.leaf_start.size() != f.node_start.size() || f.node_start.front() != 0 ||
      f.leaf_start.front() != 0 || static_cast<std::size_t>(f.node_start.back()) != splits ||
      static_cast<std::size_t>(f.leaf_start.back()) != f.leaf_value.size()) {
    throw Error("forest: tree bounds do not cover the node and leaf arrays");
  }
  start_.push_back(0);
  for (std::size_t t = 0; t < f.trees(); ++t) {
    const std::int64_t n = f.node_start[t + 1] - f.node_start[t];
    const std::int64_t leaves = f.leaf_start[t + 1] - f.leaf_start[t];
    if (n < 0 || leaves != n + 1) {
      throw Error(tree_name(t) + " has " + std::to_string(leaves) + " leaves for " + std::to_string(n) +
                  " splits");
    }
    // Slots: the tree's splits 0..n-1, then its leaves n..2n (leaf k at n + k).
    const auto base = static_cast<std::int32_t>(nodes_.size());
    std::vector<std::int32_t> depth(static_cast<std::size_t>(2 * n + 1), 0);
    for (std::int64_t k = 0; k < n; ++k) {
      const auto at = static_cast<std::size_t>(f.node_start[t] + k);
      const std::uint8_t decision = f.decision[at];
      if (decision & kCategoricalMask)
        throw Error(tree_name(t) + " has a categorical split, which is not supported");
      if (f.feature[at] < 0 || static_cast<std::size_t>(f.feature[at]) >= inputs) {
        throw Error(tree_name(t) + " splits on input " + std::to_string(f.feature[at]) + " of " +
                    std::to_string(inputs));
      }
      std::array<std::int32_t, 2> slot{};
      for (int side = 0; side < 2; ++side) {
        const std::int32_t child = side == 0 ? f.left[at] : f.right[at];
        // LightGBM numbers a split's children after it, so a walk always ends at a leaf.
        const bool ok = child >= 0 ? (child > k && child < n) : (~child < leaves);
        if (!ok) throw Error(tree_name(t) + " has a child out of the tree");
        slot[static_cast<std::size_t>(side)] = child >= 0 ? child : static_cast<std::int32_t>(n) + ~child;
        depth[static_cast<std::size_t>(slot[static_cast<std::size_t>(side)])] =
            depth[static_cast<std::size_t>(k)] + 1;
      }
      // Tree::NumericalDecision, as bits: missing type none reads NaN as 0 (left when 0 <= threshold);
      // type NaN sends NaN to the default side; type zero sends NaN and zero there.
      const std::uint8_t missing = (decision >> 2) & 3;
      const bool default_left = (decision & kDefaultLeftMask) != 0;
      const bool missing_left =
          (missing == kMissingNaN || missing == kMissingZero) ? default_left : 0.0 <= f.threshold[at];
      const auto rule = static_cast<std::uint8_t>((missing_left ? kMissingLeft : 0) |
                                                  (missing == kMissingZero ? kZeroMissing : 0));
      nodes_.push_back({f.threshold[at], f.feature[at], {base + slot[1], base + slot[0]}, rule});
      value_.push_back(0.0);
    }
    for (std::int64_t k = 0; k < leaves; ++k) {
      const auto self = static_cast<std::int32_t>(nodes_.size());
      nodes_.push_back({0.0, 0, {self, self}, 0});  // a leaf is its own child: a walk that reached it stays
      value_.push_back(f.leaf_value[static_cast<std::size_t>(f.leaf_start[t] + k)]);
    }
    start_.push_back(static_cast<std::int64_t>(nodes_.size()));
    depth_.push_back(*std::max_element(depth.begin(), depth.end()));
  }
}

void CompiledForest::predict_range(const double* const* columns, std::size_t begin, std::size_t end,
                                   double* out) const {
  std::vector<double> block(kBlock * inputs_);
  std::array<std::int32_t, kBlock> at{};
  std::array<double, kBlock> sum{};
  const std::size_t trees = depth_.size();
  const Node* nodes = nodes_.data();
  for (std::size_t first = begin; first < end; first += kBlock) {
    const std::size_t count = std::min(kBlock, end - first);
    // Each row as LightGBM's predictor sees it: a value within 1e-35 of zero is no entry of its sparse
    // row, so it reads as 0.
    for (std::size_t j = 0; j < inputs_; ++j) {
      const double* column = columns[j] + first;
      for (std::size_t r = 0; r < count; ++r) {
        const double v = column[r];
        block[r * inputs_ + j] = (std::fabs(v) > kZeroThreshold || std::isnan(v)) ? v : 0.0;
      }
    }
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::size_t t = 0; t < trees; ++t) {
      const auto root = static_cast<std::int32_t>(start_[t]);
      // The tree's slots are its n splits then its n + 1 leaves.
      const auto first_leaf = static_cast<std::int32_t>(start_[t] + (start_[t + 1] - start_[t] - 1) / 2);
      std::fill(at.begin(), at.begin() + static_cast<std::ptrdiff_t>(count), root);
      unsigned walking = 1;
      // Until every row of the block is at a leaf: the tree's deepest leaves see few rows.
      for (std::int32_t d = 0; d < depth_[t] && walking != 0; ++d) {
        walking = 0;
        for (std::size_t r = 0; r < count; ++r) {
          const Node& node = nodes[at[r]];
          const double v = block[r * inputs_ + static_cast<std::size_t>(node.feature)];
          // Bit arithmetic, not && and ?: which compile to branches on the data (a third of a national
          // frame's weather inputs are NaN, in no order a predictor could learn). Zero here is exactly 0:
          // the block holds what LightGBM reads as zero as 0.
          const unsigned nan = static_cast<unsigned>(v != v);
          const unsigned missing = nan | (static_cast<unsigned>(v == 0.0) & (node.rule >> 1));
          const unsigned below = static_cast<unsigned>(v <= node.threshold);
          const unsigned left = (missing & node.rule) | (~missing & below & 1u);
          at[r] = node.child[left];
          walking |= static_cast<unsigned>(at[r] < first_leaf);
        }
      }
      for (std::size_t r = 0; r < count; ++r) sum[r] += value_[static_cast<std::size_t>(at[r])];
    }
    std::copy(sum.begin(), sum.begin() + static_cast<std::ptrdiff_t>(count), out + first);
  }
}

void CompiledForest::predict(const double* const* columns, std::size_t rows, double* out, int threads) const {
  const std::size_t parts = rows < 16 * kBlock ? 1 : static_cast<std::size_t>(std::max(1, threads));
  if (parts == 1) {
    predict_range(columns, 0, rows, out);
    return;
  }
  std::vector<std::thread> pool;
  for (std::size_t p = 0; p < parts; ++p) {
    pool.emplace_back(&CompiledForest::predict_range, this, columns, rows * p / parts, rows * (p + 1) / parts,
                      out);
  }
  for (auto& worker : pool) worker.join();
}

}  // namespace airwatch
