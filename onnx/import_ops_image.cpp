// The mappings of the image ops (import_ops.cpp has the table): Conv, BatchNormalization,
// MaxPool, AveragePool, GlobalAveragePool, and Pad, kept pending for the Conv or
// AveragePool that takes it into its padding.

#include "core/errors.hpp"
#include "onnx/import.hpp"

namespace plangrad::onnx_import {
namespace {

using Ints = std::vector<std::int64_t>;

// kernel_shape, strides, pads (symmetric), dilations 1, auto_pad NOTSET or VALID: the 2-D
// window plangrad's conv2d and pools take.
struct Window {
  Ints kernel, stride, padding;
};

Window window(Importer& im, const Ints& kernel_from_weight) {
  Window w;
  w.kernel = im.attr_ints("kernel_shape", kernel_from_weight);
  if (w.kernel.size() != 2) im.fail("kernel_shape " + shape_str(w.kernel) + " is not 2-D");
  if (!kernel_from_weight.empty() && w.kernel != kernel_from_weight)
    im.fail("kernel_shape " + shape_str(w.kernel) + " differs from the weight's " + shape_str(kernel_from_weight));
  w.stride = im.attr_ints("strides", {1, 1});
  if (w.stride.size() != 2) im.fail("strides " + shape_str(w.stride) + " must have two entries");
  const Ints dil = im.attr_ints("dilations", {1, 1});
  if (dil != Ints{1, 1}) im.fail("dilations " + shape_str(dil) + " are not read (only 1, 1)");
  const std::string auto_pad = im.attr_string("auto_pad", "NOTSET");
  Ints pads = im.attr_ints("pads", {0, 0, 0, 0});
  if (auto_pad == "VALID") pads = {0, 0, 0, 0};
  else if (auto_pad != "NOTSET") im.fail("auto_pad " + auto_pad + " is not read (NOTSET with explicit pads, or VALID)");
  if (pads.size() != 4) im.fail("pads " + shape_str(pads) + " must have four entries");
  // Bounded here so that a Pad before can be added in; plangrad's shape rules check the rest.
  for (const std::int64_t p : pads)
    if (p < 0 || p > (std::int64_t{1} << 30)) im.fail("pads " + shape_str(pads) + " out of range");
  if (pads[0] != pads[2] || pads[1] != pads[3])
    im.fail("pads " + shape_str(pads) + " are not symmetric; plangrad pads both sides alike");
  w.padding = {pads[0], pads[1]};
  return w;
}

}  // namespace

void map_conv(Importer& im) {
  im.only_attrs({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  if (im.attr_int("group", 1) != 1) im.fail("group " + std::to_string(im.attr_int("group", 1)) + " is not read (only 1)");
  const Val xv = im.input(0);
  const Const& wc = im.const_input(1, "W");
  if (wc.is_int || wc.dims.size() != 4) im.fail("W " + shape_str(wc.dims) + " must be a 4-D float tensor");
  Window win = window(im, {wc.dims[2], wc.dims[3]});
  std::string x;
  if (xv.padded()) {
    // A zero Pad before the convolution is its padding.
    x = xv.name;
    win.padding[0] += xv.pad_h;
    win.padding[1] += xv.pad_w;
  } else {
    x = im.graph_input(0, "X");
  }
  const std::string w = im.declare(wc, ValueKind::Parameter, "", im.node().input(1));
  const Attrs attrs{{"stride", win.stride}, {"padding", win.padding}};
  if (im.has_input(2)) {
    const Const& bc = im.const_input(2, "B");
    if (bc.is_int || bc.dims.size() != 1) im.fail("B " + shape_str(bc.dims) + " must be a float vector");
    const std::string b = im.declare(bc, ValueKind::Parameter, "", im.node().input(2));
    im.set_output(0, im.add("conv2d", {x, w, b}, attrs, out_name(im)));
  } else {
    im.set_output(0, im.add("conv2d_nobias", {x, w}, attrs, out_name(im)));
  }
}

void map_batchnorm(Importer& im) {
  im.only_attrs({"epsilon", "momentum", "training_mode", "spatial"});
  im.require_only_first_output();
  if (im.attr_int("training_mode", 0) != 0) im.fail("training_mode=1 is not read (the inference graph is imported)");
  if (im.attr_int("spatial", 1) != 1) im.fail("spatial=0 is not read");
  const float eps = im.attr_float("epsilon", 1e-5f);
  const float momentum = im.attr_float("momentum", 0.9f);
  if (!(momentum >= 0.f && momentum <= 1.f)) im.fail("momentum " + std::to_string(momentum) + " is not in [0, 1]");
  const std::string x = im.graph_input(0, "X");
  const char* what[4] = {"scale", "B", "input_mean", "input_var"};
  std::string in[4];
  for (int i = 0; i < 4; ++i) {
    const Const& c = im.const_input(i + 1, what[i]);
    if (c.is_int || c.dims.size() != 1) im.fail(std::string(what[i]) + " " + shape_str(c.dims) + " must be a float vector");
    in[i] = im.declare(c, i < 2 ? ValueKind::Parameter : ValueKind::State, "", im.node().input(i + 1));
  }
  // ONNX keeps `momentum` of the old statistics, plangrad's momentum is the new batch's share.
  const Attrs attrs{{"eps", static_cast<double>(eps)}, {"momentum", 1.0 - static_cast<double>(momentum)}};
  im.set_output(0, im.add("batchnorm", {x, in[0], in[1], in[2], in[3]}, attrs, out_name(im)));
}

namespace {

void pool(Importer& im, bool average) {
  if (average) im.only_attrs({"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides", "dilations"});
  else im.only_attrs({"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
  im.require_only_first_output();
  if (im.attr_int("ceil_mode", 0) != 0) im.fail("ceil_mode=1 is not read (plangrad's output size rounds down)");
  if (im.attr_int("storage_order", 0) != 0) im.fail("storage_order=1 is not read");
  Window win = window(im, {});
  std::int64_t include_pad = im.attr_int("count_include_pad", 0);
  if (include_pad != 0 && include_pad != 1) im.fail("count_include_pad must be 0 or 1");
  const Val xv = im.input(0);
  std::string x;
  if (average && xv.padded()) {
    // PyTorch's AvgPool2d(padding=p) exports as a zero Pad and an AveragePool without pads.
    if (win.padding != Ints{0, 0}) im.fail("pads after a Pad are not read");
    x = xv.name;
    win.padding = {xv.pad_h, xv.pad_w};
    include_pad = 1;
  } else {
    x = im.graph_input(0, "X");
  }
  Attrs attrs{{"kernel", win.kernel}, {"stride", win.stride}, {"padding", win.padding}};
  if (average) attrs.set("count_include_pad", include_pad);
  im.set_output(0, im.add(average ? "avg_pool2d" : "max_pool2d", {x}, attrs, out_name(im)));
}

}  // namespace

void map_max_pool(Importer& im) { pool(im, false); }
void map_average_pool(Importer& im) { pool(im, true); }

// [N, C, H, W] -> [N, C] in plangrad, [N, C, 1, 1] to ONNX: a Flatten or Reshape to
// [N, C] after it costs nothing, another reader gets a reshape (Importer::materialize).
void map_global_average_pool(Importer& im) {
  im.only_attrs({});
  const std::string x = im.graph_input(0, "X");
  const std::string y = im.add("global_avg_pool2d", {x}, {}, im.fresh(out_name(im) + "/pooled"));
  Val v = im.graph_val(y);
  v.shape = {v.actual[0], v.actual[1], 1, 1};
  im.set_output(0, v);
}

// A zero, constant-mode Pad of the two spatial dimensions, the same on both sides: kept
// pending for the Conv or AveragePool that reads it.
void map_pad(Importer& im) {
  im.only_attrs({"mode"});
  if (im.attr_string("mode", "constant") != "constant") im.fail("mode '" + im.attr_string("mode", "") + "' is not read (constant only)");
  const Val v = im.input(0);
  if (v.constant) im.fail("Pad of a constant is not folded");
  if (v.padded() || v.shape != v.actual) im.fail("Pad of this input is not read");
  const Const& pc = im.const_input(1, "pads");
  if (!pc.is_int || pc.i.size() != 8 || v.shape.size() != 4)
    im.fail("pads " + shape_str(pc.dims) + " are read for a 4-D input only");
  if (im.has_input(2)) {
    const Const& value = im.const_input(2, "constant_value");
    if (value.size() > 1 || (value.size() == 1 && (value.is_int ? value.i[0] != 0 : value.f[0] != 0.f)))
      im.fail("constant_value must be 0");
  }
  if (im.has_input(3)) im.fail("axes are not read");
  const Ints& p = pc.i;
  if (p[0] || p[1] || p[4] || p[5]) im.fail("pads " + shape_str(p) + " pad the batch or channels");
  if (p[2] != p[6] || p[3] != p[7] || p[2] < 0 || p[3] < 0 || p[2] > 65536 || p[3] > 65536)
    im.fail("pads " + shape_str(p) + " are not symmetric, not positive, or too large");
  Val out = v;
  out.pad_h = p[2];
  out.pad_w = p[3];
  out.shape = {v.shape[0], v.shape[1], v.shape[2] + 2 * p[2], v.shape[3] + 2 * p[3]};
  im.set_output(0, out);
}

}  // namespace plangrad::onnx_import
