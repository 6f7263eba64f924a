// mpi_fit: the MPI tests' driver (tests/cli/mpi.sh). It trains the MNIST MLP or CNN
// (networks/models.hpp) with fit on the first --examples training images, alone or, with
// --mpi (implied under mpirun), data-parallel over MpiCommunicator, and rank 0 writes the
// trained parameters and state to --params. It can also plant the faults the tests expect
// to end the job: a rank that cannot read its data, throws, is killed or hangs. --sharded:
// each rank reads only its rows of each epoch (engine/image_rows.hpp, FitOptions::train_rows)
// instead of holding the set.
//   mpi_fit --net cnn --data DIR --examples 2560 --batch 128 --epochs 1 --params OUT
//           [--sync-batchnorm] [--checkpoint FILE [--resume]] [--sharded]
//           [--fail-rank R --fail load|epoch|kill|hang] [--timeout S]
//   mpi_fit --compare A B --rtol 1e-5     largest relative difference of two dumps
//   mpi_fit --save-model cnn|mlp FILE     the untrained network as a model file
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/flags.hpp"
#include "core/errors.hpp"
#include "datasets/idx.hpp"
#include "distributed/mpi_communicator.hpp"
#include "engine/fit.hpp"
#include "engine/image_rows.hpp"
#include "networks/models.hpp"
#include "serialization/checkpoint.hpp"
#include "serialization/model_json.hpp"

using namespace plangrad;

namespace {

GraphBuilder network(const std::string& net) {
  if (net == "mlp") return models::mnist_mlp();
  if (net == "cnn") return models::mnist_cnn();
  throw UsageError("--net must be mlp or cnn, got '" + net + "'");
}

using Dump = std::map<std::string, std::vector<float>>;

void write_dump(const Model& model, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (const auto* group : {&model.parameters, &model.state})
    for (const auto& [name, t] : *group) {
      const std::uint64_t n = t.size();
      out << name << '\n';
      out.write(reinterpret_cast<const char*>(&n), sizeof n);
      out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(n * sizeof(float)));
    }
  if (!out.flush()) throw DataError(path + ": cannot write");
}

Dump read_dump(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot read");
  Dump d;
  std::string name;
  while (std::getline(in, name)) {
    std::uint64_t n = 0;
    in.read(reinterpret_cast<char*>(&n), sizeof n);
    std::vector<float>& v = d[name];
    v.resize(n);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!in) throw DataError(path + ": truncated at '" + name + "'");
  }
  return d;
}

// The largest over tensors of max |a - b| / max |a|.
int compare(const std::string& a_path, const std::string& b_path, double rtol) {
  const Dump a = read_dump(a_path), b = read_dump(b_path);
  if (a.size() != b.size() || a.empty()) throw DataError("the dumps hold different tensors");
  double worst = 0;
  std::string where;
  for (const auto& [name, va] : a) {
    const std::vector<float>& vb = b.at(name);
    if (va.size() != vb.size()) throw DataError("'" + name + "' differs in size");
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < va.size(); ++i) {
      diff = std::max(diff, std::fabs(static_cast<double>(va[i]) - vb[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(va[i])));
    }
    const double rel = scale > 0 ? diff / scale : diff;
    if (!(rel <= worst)) {
      worst = rel;
      where = name;
    }
  }
  std::printf("largest relative difference %.3g (%s); tolerance %.3g\n", worst, where.c_str(), rtol);
  return worst <= rtol ? 0 : 1;
}

int train(Flags& flags, Communicator* comm) {
  const std::string net = flags.get("--net", "cnn");
  const std::string dir = flags.get("--data", "");
  const auto examples = static_cast<std::size_t>(flags.get_int("--examples", 2560, 1, 60000));
  const auto batch = static_cast<std::size_t>(flags.get_int("--batch", 128, 1, 60000));
  const auto epochs = flags.get_int("--epochs", 1, 1, 1000);
  const std::string params = flags.get("--params", "");
  const std::string checkpoint = flags.get("--checkpoint", "");
  const bool resume = flags.has("--resume");
  const auto fail_rank = flags.get_int("--fail-rank", -1, -1, 1 << 20);
  const std::string fail = flags.get("--fail", "");
  flags.get_double("--timeout", 0, 0, 1e9);
  flags.has("--mpi");
  const bool sync_batchnorm = flags.has("--sync-batchnorm");
  const bool sharded = flags.has("--sharded");
  flags.finish();
  const int rank = comm ? comm->rank() : 0;
  const bool failing = rank == fail_rank;

  if (failing && fail == "load") throw DataError(dir + "/train-images-idx3-ubyte: cannot read this rank's shard (planted)");
  ImageSet set;
  std::unique_ptr<ImageRows> rows;
  if (sharded)
    rows = std::make_unique<ImageRows>(dir, Split::Train, eval_roles(network(net).build(1).graph), examples);
  else
    set = load_mnist_dir(dir, Split::Train);
  if (examples > (rows ? rows->size() : set.size())) throw UsageError("--examples is more than the data holds");

  std::unique_ptr<Checkpoint> ckpt;
  Model model;
  std::unique_ptr<Optimizer<float>> optimizer;
  FitOptions o;
  if (resume) {
    ckpt = std::make_unique<Checkpoint>(load_checkpoint(checkpoint));
    model = std::move(ckpt->model);
    optimizer = make_optimizer(model, ckpt->state.optimizer);
    o = resume_options(ckpt->state);
    o.resume = &ckpt->state;
  } else {
    model = network(net).build(1);
    SgdOptions so;
    so.lr = 0.02;
    so.momentum = 0.9;
    optimizer = std::make_unique<SGD<float>>(model, so);
    o.batch = batch;
    o.seed = 7;
  }
  o.epochs = epochs;
  o.progress = Progress::Off;
  o.handle_sigint = false;
  o.communicator = comm;
  o.sync_batchnorm = sync_batchnorm;
  if (!checkpoint.empty()) o.checkpoint = checkpoint_writer(checkpoint);
  o.on_epoch_end = [&](const EpochStats& s) {
    if (failing && s.epoch == 1) {
      if (fail == "epoch") throw DataError("planted failure after epoch 1");
      if (fail == "kill") std::raise(SIGKILL);
      if (fail == "hang")
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (rank == 0)
      std::printf("epoch %lld loss %.9g accuracy %.9g seconds %.3f\n", static_cast<long long>(s.epoch), s.train_loss,
                  s.train_accuracy, s.seconds);
    return true;
  };
  if (rank == 0 && !resume) {
    std::size_t floats = 0;
    for (const auto& [name, t] : model.parameters) floats += t.size();
    std::printf("parameters %zu floats, %zu gradient bytes per step\n", floats, floats * sizeof(float));
  }
  o.train_rows = rows.get();
  const DataView train_view(rows ? nullptr : set.images.data(), rows ? nullptr : set.labels.data(), examples, dir);
  fit(model, *optimizer, {"x", "labels", "loss", "logits"}, train_view, DataView(), o);
  if (rank == 0 && !params.empty()) write_dump(model, params);
  return 0;
}

bool under_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 4 && args[0] == "--compare") return compare(args[1], args[2], 0);
    if (args.size() == 5 && args[0] == "--compare") return compare(args[1], args[2], std::atof(args[4].c_str()));
    if (args.size() == 3 && args[0] == "--save-model") {
      save_model(network(args[1]).build(1), args[2]);
      return 0;
    }
    Flags flags(args);
    std::unique_ptr<MpiCommunicator> comm;
    bool mpi = under_mpirun();
    for (const std::string& a : args) mpi = mpi || a == "--mpi";
    double timeout = 60;
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--timeout") timeout = std::atof(args[i + 1].c_str());
    if (mpi) comm = std::make_unique<MpiCommunicator>(timeout);
    try {
      return train(flags, comm.get());
    } catch (const std::exception& e) {
      if (comm && comm->size() > 1) comm->abort(std::string("mpi_fit: ") + e.what());
      throw;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpi_fit: %s\n", e.what());
    return 1;
  }
}
