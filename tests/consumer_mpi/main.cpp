// A program that trains data-parallel with an installed plangrad::mpi, under mpirun: every
// rank fits the same model on its share of each batch (docs/distributed.md, "From C++").
// Rank 0 prints "consumer_mpi ok" when every rank ends with the same parameters.
#include <plangrad/datasets/circle.hpp>
#include <plangrad/distributed/mpi_communicator.hpp>
#include <plangrad/plangrad.hpp>

#include <cstdio>
#include <exception>

int main() {
  using namespace plangrad;
  MpiCommunicator comm(/*timeout_seconds=*/60);
  try {
    const CircleData train = make_circle(256, 1);
    GraphBuilder b;
    Value x = b.input("x", {kBatchDim, 2}), labels = b.input("labels", {kBatchDim});
    Value logits = b.dense(b.relu(b.dense(x, 16, "fc1")), 2, "logits");
    b.output(b.softmax_cross_entropy(logits, labels, "loss"));
    b.output(logits);
    Model model = b.build(/*seed=*/1);
    SGD<float> sgd(model, SgdOptions{0.1, 0.9, 0.0});
    FitOptions o;
    o.epochs = 2;
    o.batch = 64;  // the global batch, split over the ranks
    o.seed = 1;
    o.progress = Progress::Off;
    o.communicator = &comm;
    const FitResult r =
        fit(model, sgd, {"x", "labels", "loss", "logits"}, {train.points.data(), train.labels.data(), train.size()}, {}, o);
    // The ranks' parameters are the same bits: each value summed over the ranks is R times it.
    int differ = 0;
    for (const auto& [name, t] : model.parameters)
      for (std::size_t i = 0; i < t.size(); ++i) {
        double v = t.data()[i];
        comm.sum(&v, 1);
        differ += v != static_cast<double>(t.data()[i]) * comm.size();
      }
    if (comm.rank() == 0)
      std::printf("consumer_mpi %s: %d ranks, %d differing values, loss %.4f\n", differ ? "FAILED" : "ok", comm.size(),
                  differ, r.history.back().train_loss);
    return differ ? 1 : 0;
  } catch (const std::exception& e) {
    comm.abort(e.what());
  }
}
