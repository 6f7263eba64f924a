#include "engine/image_rows.hpp"

#include <algorithm>

#include "core/errors.hpp"

namespace plangrad {

ImageRows::ImageRows(const std::string& dir, Split split, const EvalRoles& roles, std::size_t limit)
    : images_(mnist_file(dir, split, true)), labels_path_(mnist_file(dir, split, false)) {
  check_image_shape(roles, images_.rows(), images_.cols());
  // IDX labels are bytes: with more than 256 classes every byte is one (load_image_set).
  labels_ = read_idx_labels(labels_path_, std::min<std::size_t>(roles.classes, 256));
  if (labels_.size() != images_.count())
    throw DataError(images_.path() + ": " + std::to_string(images_.count()) + " images, but " + labels_path_ + ": " +
                    std::to_string(labels_.size()) + " labels");
  if (limit > 0 && limit < labels_.size()) labels_.resize(limit);
}

void ImageRows::read(Span<const std::size_t> indices, float* features, float* targets) {
  images_.read(indices, features);
  for (std::size_t k = 0; k < indices.size(); ++k) targets[k] = static_cast<float>(labels_[indices[k]]);
}

}  // namespace plangrad
