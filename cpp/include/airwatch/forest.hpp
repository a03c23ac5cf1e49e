// A trained LightGBM tree ensemble's raw forecast for rows stored a column per feature, as LightGBM's
// own Booster.predict computes it, to the bit: the same decisions (its missing-value rules) and the
// trees' leaf values added in tree order. Without LightGBM's copies: its predict wants a row-major
// matrix (a national training side is a GB as one) and turns every row into (index, value) pairs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace airwatch {

// The trees' arrays as LightGBM's model text lists them, every tree's after the one before.
// Tree t has internal nodes node_start[t] .. node_start[t+1] - 1 and leaves leaf_start[t] ..
// leaf_start[t+1] - 1; a child >= 0 is an internal node of the same tree, ~child a leaf of it.
struct Forest {
  std::vector<std::int32_t> feature;   // per internal node: the input column it splits on
  std::vector<double> threshold;       // goes left when value <= threshold
  std::vector<std::uint8_t> decision;  // LightGBM's decision_type: bit 1 default left, bits 2-3 missing type
  std::vector<std::int32_t> left;
  std::vector<std::int32_t> right;
  std::vector<double> leaf_value;
  std::vector<std::int64_t> node_start{0};  // one more entry than trees
  std::vector<std::int64_t> leaf_start{0};

  std::size_t trees() const noexcept { return node_start.size() - 1; }
};

// A Forest laid out for prediction: each tree's nodes and leaves in one array, a leaf its own child, so
// a block of rows walks a tree together for the tree's depth, without a branch on the data.
class CompiledForest {
 public:
  // Throws airwatch::Error when the arrays do not form trees over `inputs` columns (sizes, a child
  // out of its tree or not after its parent, as LightGBM numbers them) or a split is categorical.
  CompiledForest(const Forest& forest, std::size_t inputs);

  std::size_t inputs() const noexcept { return inputs_; }

  // out[i] = the sum over trees, in order, of the value of the leaf row i reaches. columns: one
  // pointer per input, each `rows` long. Rows are split between `threads` workers; each row's sum is
  // its own, so the result does not depend on the thread count.
  void predict(const double* const* columns, std::size_t rows, double* out, int threads) const;

 private:
  struct Node {
    double threshold;
    std::int32_t feature;
    std::int32_t child[2];  // slots of the same tree: [0] right (value > threshold), [1] left
    std::uint8_t rule;      // bit 0: a missing value goes left; bit 1: zero is missing (NaN always is)
  };
  void predict_range(const double* const* columns, std::size_t begin, std::size_t end, double* out) const;

  std::size_t inputs_;
  std::vector<Node> nodes_;          // every tree's slots: its splits, then its leaves
  std::vector<double> value_;        // per slot: the leaf's value (0 at a split)
  std::vector<std::int64_t> start_;  // each tree's first slot, and the slot count at the end
  std::vector<std::int32_t> depth_;  // each tree's depth: its deepest leaf's number of splits
};

}  // namespace airwatch
