// An IDX training set read on demand (engine/row_source.hpp): the images through
// datasets/idx_rows.hpp, the labels (one byte each) held whole. What `plangrad train` gives
// fit in a distributed run, so that each rank holds only its rows (docs/distributed.md).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "datasets/idx.hpp"
#include "datasets/idx_rows.hpp"
#include "engine/eval_roles.hpp"
#include "engine/row_source.hpp"

namespace plangrad {

class ImageRows final : public RowSource {
 public:
  // The split's files in `dir` (mnist_file), checked as load_image_set checks them: the
  // images' shape against the model's input, the labels against its classes, the counts
  // against each other. limit > 0: the first `limit` examples only.
  ImageRows(const std::string& dir, Split split, const EvalRoles& roles, std::size_t limit = 0);

  std::size_t size() const { return labels_.size(); }  ///< n, after the limit
  std::size_t rows() const { return images_.rows(); }
  std::size_t cols() const { return images_.cols(); }
  const std::string& labels_path() const { return labels_path_; }
  void read(Span<const std::size_t> indices, float* features, float* targets) override;

 private:
  IdxImageRows images_;
  std::string labels_path_;
  std::vector<std::uint8_t> labels_;
};

}  // namespace plangrad
