// plangrad train MODEL.json --data DIR|FILE.csv: trains a model loaded from a model file on
// an IDX data set (the train split; the test split validates every epoch) or on a table's
// columns (tools/table_data.hpp: --target, --features, --val, --split, --standardize) with fit
// (engine/fit.hpp), optionally checkpointing every epoch and resuming from a checkpoint
// (serialization/checkpoint.hpp), and saves the trained model. The graph's values play the
// parts `plangrad eval` documents (engine/eval_roles.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "datasets/idx.hpp"
#include "core/errors.hpp"
#include "engine/eval_roles.hpp"
#include "engine/image_rows.hpp"
#include "engine/fit.hpp"
#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "engine/optimizer.hpp"
#include "engine/lr_schedule.hpp"
#include "serialization/checkpoint_json.hpp"
#include "serialization/model_json.hpp"
#include "serialization/data_schema.hpp"
#include "tools/commands.hpp"
#include "tools/table_data.hpp"
#ifdef PLANGRAD_HAVE_MPI
#include "distributed/mpi_communicator.hpp"
#endif

namespace plangrad::cli {
namespace {

constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();

const char* const kHelp =
    "usage: plangrad train MODEL.json --data DIR [--epochs 10] [--batch 64]\n"
    "                      [--optimizer sgd|adam|adamw] [--lr LR] [--momentum M] [--nesterov]\n"
    "                      [--weight-decay W] [--schedule constant|step:S[:G]|cosine:T[:warmup=K]|\n"
    "                      linear:T[:start_factor=F]|onecycle:MAX_LR] [--schedule-unit epoch|step]\n"
    "                      [--patience P] [--drop-last] [--seed 1] [--subset N] [--eval-batch 1000]\n"
    "                      [--clip-norm X] [--clip-value X] [--freeze NAME|PREFIX*,...] [--restore-best]\n"
    "                      [--checkpoint FILE [--resume]] [--log FILE] [--out FILE]\n"
    "                      [--progress auto|bar|lines|off] [--distributed] [--sync-batchnorm]\n"
    "                      [--mpi-timeout 300]\n"
    "       plangrad train MODEL.json --data FILE.csv --target COL[,COL...] [--features COL,...]\n"
    "                      [--val FILE.csv | --split FRACTION] [--standardize] [options as above]\n"
    "Trains a classifier on an IDX data set: DIR holds train-images-idx3-ubyte and\n"
    "train-labels-idx1-ubyte (training) and t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte\n"
    "(validation after every epoch), each plain or .gz. The model follows `plangrad eval`'s\n"
    "conventions (N is the symbolic batch): the one [N, rows*cols] or [N, 1, rows, cols] input\n"
    "takes the images, the one [N] input the labels, the scalar output is the loss that is\n"
    "minimized, and the [N, classes] logits (or one logit, [N, 1]) give the accuracy.\n"
    "A CSV (or .tsv) file with a header row trains any model whose loss is softmax\n"
    "cross-entropy (classification), binary cross-entropy on one logit (binary) or MSE\n"
    "(regression; `plangrad new mlp` makes such models): the --features columns (default: all\n"
    "but the targets) fill its one [N, F] input, the --target column its labels (class names\n"
    "mapped to indices; integer labels are the indices) or K target columns its [N, K] target.\n"
    "The columns and class names are stored in the trained model for eval and predict.\n"
    "\n"
    "  --target COLS      the column(s) to predict (CSV); may be left out to retrain a model that\n"
    "                     stores its columns\n"
    "  --features COLS    the input columns, in the model's order (CSV); default all but --target\n"
    "  --val FILE         validation rows from another file (CSV)\n"
    "  --split F          hold out the fraction F of the rows, chosen by --seed, for validation\n"
    "                     (CSV; `plangrad eval --split F --seed S` evaluates the same rows)\n"
    "  --standardize      fit each feature's mean and standard deviation (and a regression\n"
    "                     target's) on the training rows into the model's standardize nodes\n"
    "  --epochs E         epochs in all (a resumed run counts the ones already done); default 10\n"
    "  --batch B          mini-batch size; default 64. The batch order is shuffled from --seed\n"
    "  --optimizer        sgd (default; --momentum, --nesterov), adam or adamw, as torch.optim\n"
    "  --lr LR            default 0.01 for sgd, 0.001 for adam and adamw\n"
    "  --weight-decay W   sgd, adam: L2 added to the gradient (default 0); adamw: decoupled (0.01)\n"
    "  --schedule S       the learning rate per epoch: constant, step:STEP[:GAMMA] (step:10:0.1),\n"
    "                     cosine:T_MAX[:warmup=K][:eta_min=X] (cosine:50:warmup=5),\n"
    "                     linear:T[:start_factor=F][:end_factor=F] (linear:500:start_factor=0.01),\n"
    "                     onecycle:MAX_LR[:total=N][:pct_start=P][:div_factor=D][:final_div_factor=F]\n"
    "                     (torch's OneCycleLR, cosine, momentum not cycled; total defaults to the\n"
    "                     run's length in the --schedule-unit)\n"
    "  --schedule-unit U  epoch (default): the schedule counts epochs, the rate set once per epoch;\n"
    "                     step: it counts optimizer steps, the rate set before every step\n"
    "  --clip-norm X      scale the gradients so that their global L2 norm is at most X, every\n"
    "                     step (torch.nn.utils.clip_grad_norm_; default off)\n"
    "  --clip-value X     clamp every gradient element to [-X, X] first (clip_grad_value_)\n"
    "  --freeze LIST      parameters to keep as they are, comma-separated: names, or prefixes\n"
    "                     ending in * (--freeze 'fc1.*,fc2.weight'): no gradient, no update\n"
    "  --patience P       stop when the validation loss has not improved for P epochs (0: off)\n"
    "  --restore-best     at the end (all epochs, or --patience stopping early), give the model the\n"
    "                     weights of the epoch with the best validation loss (training loss\n"
    "                     without validation data)\n"
    "  --drop-last        skip the last, shorter batch of each epoch\n"
    "  --subset N         use only the first N examples of each split (a quick run)\n"
    "  --checkpoint FILE  write the model and the whole training state to FILE after every epoch\n"
    "                     (atomically) and on Ctrl-C. With --resume, continue the run FILE holds:\n"
    "                     its model, optimizer, batch order and options (only --epochs, --log,\n"
    "                     --out, --progress, --subset and --eval-batch may be given), bit for bit\n"
    "                     as if it had never stopped\n"
    "  --log FILE         one JSON line per epoch: epoch, loss, train_accuracy, val_loss,\n"
    "                     val_accuracy, lr, seconds, steps. On --resume it is first cut back to\n"
    "                     the checkpoint's epochs, then appended to; scripts/plot_run.sh FILE\n"
    "                     OUT.png draws it\n"
    "  --out FILE         where the trained model goes; default MODEL.trained.json beside MODEL.json\n"
    "                     (MODEL.json itself is never overwritten unless named here)\n"
    "  --progress         auto (default): a progress bar with rate and ETA on a terminal, else one\n"
    "                     line per epoch\n"
    "  --distributed      data-parallel training over MPI (docs/distributed.md), implied when\n"
    "                     started by mpirun: `mpirun -np R plangrad train ... --batch B` splits\n"
    "                     each batch of B over R ranks; rank 0 prints and writes the files\n"
    "  --sync-batchnorm   distributed: batchnorm uses the whole global batch's statistics (summed\n"
    "                     across ranks), as one process would; without it each rank's own rows'\n"
    "  --mpi-timeout S    end the job when the other ranks have not answered within S seconds\n"
    "--out, --checkpoint and --log are checked before the data is read: each one's folder must\n"
    "exist and take a new file, and no two may name the same file (exit 2).\n"
    "Ctrl-C finishes the current step, writes the checkpoint (with --checkpoint) and the model to\n"
    "--out, and exits with status 130. A loss that is not a finite number (divergence: try a\n"
    "smaller --lr) stops the run at that step with exit 1, naming the last good checkpoint; after\n"
    "it, neither the checkpoint nor --out is written. The last line printed is a JSON summary.\n";

std::string default_out(const std::string& model_path) {
  std::filesystem::path p(model_path);
  std::string stem = p.filename().string();
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".json") == 0) stem.resize(stem.size() - 5);
  return (p.parent_path() / (stem + ".trained.json")).string();
}

Progress parse_progress(const std::string& s) {
  if (s == "auto") return Progress::Auto;
  if (s == "bar") return Progress::Bar;
  if (s == "lines") return Progress::Lines;
  if (s == "off") return Progress::Off;
  throw UsageError("--progress must be auto, bar, lines or off, got '" + s + "'");
}

std::unique_ptr<Optimizer<float>> make_optimizer_from_flags(const Model& model, const std::string& kind, double lr,
                                                            double momentum, bool nesterov, double weight_decay) {
  if (kind != "sgd") {
    if (!std::isnan(momentum)) throw UsageError("--momentum is for --optimizer sgd, not " + kind);
    if (nesterov) throw UsageError("--nesterov is for --optimizer sgd, not " + kind);
  }
  if (kind == "sgd") {
    SgdOptions o;
    o.lr = std::isnan(lr) ? 0.01 : lr;
    o.momentum = std::isnan(momentum) ? 0.0 : momentum;
    o.weight_decay = std::isnan(weight_decay) ? 0.0 : weight_decay;
    o.nesterov = nesterov;
    return std::make_unique<SGD<float>>(model, o);
  }
  if (kind == "adam") {
    AdamOptions o;
    if (!std::isnan(lr)) o.lr = lr;
    if (!std::isnan(weight_decay)) o.weight_decay = weight_decay;
    return std::make_unique<Adam<float>>(model, o);
  }
  if (kind == "adamw") {
    AdamWOptions o;
    if (!std::isnan(lr)) o.lr = lr;
    if (!std::isnan(weight_decay)) o.weight_decay = weight_decay;
    return std::make_unique<AdamW<float>>(model, o);
  }
  throw UsageError("--optimizer must be sgd, adam or adamw, got '" + kind + "'");
}

// The labels file load_image_set read (the plain file wins over .gz), named in errors about
// an example.
std::string labels_file(const std::string& dir, Split split) {
  const std::filesystem::path plain = std::filesystem::path(dir) / mnist_labels_name(split);
  return std::filesystem::exists(plain) ? plain.string() : plain.string() + ".gz";
}

// Where a diverged run leaves the user: which checkpoint holds the last good state.
std::string after_divergence(const TrainingDiverged& e, const std::string& checkpoint_path,
                             const Checkpoint* resumed, const std::string& out) {
  std::string where;
  if (checkpoint_path.empty())
    where = "no checkpoint was kept (--checkpoint FILE keeps one after every epoch)";
  else if (resumed && e.epochs_done == resumed->state.epochs_done)
    where = "the last good checkpoint is " + checkpoint_path + " (the one this run resumed, untouched)";
  else if (!resumed && e.epochs_done == 0)
    where = "no checkpoint was written: the first epoch did not finish";
  else
    where = "the last good checkpoint is " + checkpoint_path + " (after epoch " + std::to_string(e.epochs_done) + ")";
  return std::string(e.what()) + "; " + where + "; the model was not saved to " + out;
}

// Whether `flag` was typed (as "--flag" or "--flag=...").
bool flags_given(const Args& args, const std::string& flag) {
  for (const std::string& a : args)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

// The first `limit` examples of a set (0: all).
void truncate(ImageSet& set, std::size_t limit) {
  if (limit == 0 || limit >= set.size()) return;
  const std::size_t row = static_cast<std::size_t>(set.images.dim(1));
  set.images = Tensor<float>({static_cast<Dim>(limit), set.images.dim(1)}, set.images.data(), limit * row);
  set.labels = Tensor<float>({static_cast<Dim>(limit)}, set.labels.data(), limit);
}

// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun): the
// variables OpenMPI, MPICH and PMIx set for each rank.
bool started_by_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

// The communicator of a distributed run (nullptr: one process), made before anything
// else so that every error after it ends all ranks.
std::unique_ptr<Communicator> make_communicator(const Args& args) {
  if (!started_by_mpi_launcher() && !flags_given(args, "--distributed")) return nullptr;
#ifdef PLANGRAD_HAVE_MPI
  double timeout = 300;
  for (std::size_t i = 0; i < args.size(); ++i)
    if (args[i] == "--mpi-timeout" && i + 1 < args.size())
      timeout = std::atof(args[i + 1].c_str());
    else if (args[i].rfind("--mpi-timeout=", 0) == 0)
      timeout = std::atof(args[i].c_str() + 14);
  if (!(timeout > 0)) throw UsageError("--mpi-timeout takes a positive number of seconds");
  return std::make_unique<MpiCommunicator>(timeout);
#else
  throw UsageError("distributed training is off in this build: plangrad was built without MPI "
                   "(configure with -DPLANGRAD_MPI=ON after installing libopenmpi-dev and openmpi-bin)");
#endif
}

int train(const Args& args, Communicator* comm);

}  // namespace

int cmd_train(const Args& args) {
  const std::unique_ptr<Communicator> comm = make_communicator(args);
  if (!comm || comm->size() == 1) return train(args, comm.get());
  try {
    return train(args, comm.get());
  } catch (const std::exception& e) {
    comm->abort(std::string("plangrad train: ") + e.what());
  }
  return 1;  // not reached: abort ends the process
}

namespace {

int train(const Args& args, Communicator* comm) {
  const bool leader = !comm || comm->rank() == 0;
  Flags flags(args);
  if (flags.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string dir = flags.get("--data", "");
  const std::string checkpoint_path = flags.get("--checkpoint", "");
  const bool resume = flags.has("--resume");
  const std::string log_path = flags.get("--log", "");
  std::string out = flags.get("--out", "");
  const Progress asked = parse_progress(flags.get("--progress", "auto"));
  const Progress progress = leader ? asked : Progress::Off;
  flags.has("--distributed");
  const bool sync_batchnorm = flags.has("--sync-batchnorm");
  flags.get_double("--mpi-timeout", 300, 1e-3, 1e9);
  const auto limit = static_cast<std::size_t>(flags.get_int("--subset", 0, 0, INT64_MAX));
  const auto eval_batch = static_cast<std::size_t>(flags.get_int("--eval-batch", 1000, 1, 1 << 24));
  const auto epochs = flags.get_int("--epochs", -1, 1, 1000000);  // -1: not given
  // The recipe: only for a fresh run (a resumed one takes it from the checkpoint).
  const char* recipe_flags[] = {"--batch", "--optimizer", "--lr", "--momentum", "--nesterov", "--weight-decay",
                                "--schedule", "--schedule-unit", "--patience", "--drop-last", "--seed", "--clip-norm", "--clip-value", "--freeze", "--restore-best"};
  const auto batch = flags.get_int("--batch", 64, 1, 1 << 24);
  const std::string optimizer_kind = flags.get("--optimizer", "sgd");
  const double lr = flags.get_double("--lr", kUnset, 1e-12, 1e6);
  const double momentum = flags.get_double("--momentum", kUnset, 0.0, 1.0);
  const bool nesterov = flags.has("--nesterov");
  const double weight_decay = flags.get_double("--weight-decay", kUnset, 0.0, 1e6);
  const std::string schedule_text = flags.get("--schedule", "constant");
  const std::string schedule_unit = flags.get("--schedule-unit", "epoch");
  if (schedule_unit != "epoch" && schedule_unit != "step")
    throw UsageError("--schedule-unit must be epoch or step, got '" + schedule_unit + "'");
  const auto patience = flags.get_int("--patience", 0, 0, 1000000);
  const bool drop_last = flags.has("--drop-last");
  const bool restore_best = flags.has("--restore-best");
  std::vector<std::string> freeze;
  for (const std::string& pattern : split_commas(flags.get("--freeze", "")))
    if (!pattern.empty()) freeze.push_back(pattern);
  const GradientClipping clip{flags.get_double("--clip-norm", 0.0, 0.0, 1e12),
                              flags.get_double("--clip-value", 0.0, 0.0, 1e12)};
  const auto seed = static_cast<std::uint64_t>(flags.get_int("--seed", 1, 0, INT64_MAX));
  TableFlags table;
  read_column_flags(flags, table);
  table.val = flags.get("--val", "");
  table.split = flags.get_double("--split", 0.0, 0.0, 1.0);
  table.standardize = flags.has("--standardize");
  flags.finish();

  if (flags.positional().size() != 1)
    throw UsageError("expected one model file (plangrad train MODEL.json --data DIR), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  if (dir.empty()) throw UsageError("--data DIR|FILE.csv is required: the directory holding the IDX files, or a table");
  const bool is_table = is_table_file(dir);
  if (!is_table && table.any())
    throw UsageError("--target, --features, --val, --split and --standardize are for a table (--data FILE.csv); " + dir +
                     " is a folder of IDX files");
  if ((table.split <= 0.0 || table.split >= 1.0) && flags_given(args, "--split"))
    throw UsageError("--split takes the fraction of the rows held out for validation, between 0 and 1 (exclusive)");
  if (resume && checkpoint_path.empty()) throw UsageError("--resume needs --checkpoint FILE: the run to continue");
  if (resume)
    for (const char* f : recipe_flags)
      for (const std::string& a : args)
        if (a == f || a.rfind(std::string(f) + "=", 0) == 0)
          throw UsageError(std::string(f) + " cannot be given with --resume: the run continues with the checkpoint's");
  const std::string& model_path = flags.positional().front();
  // The flag as the messages name it: the default --out was not typed.
  const std::string out_flag = out.empty() ? "--out (default)" : "--out";
  if (out.empty()) out = default_out(model_path);
  if (!checkpoint_path.empty() && same_file(out, checkpoint_path))
    throw UsageError(out_flag + " and --checkpoint both name " + out +
                     ": the trained model would replace the checkpoint; give them different files");
  if (!log_path.empty())
    for (const auto& [flag, path] : {std::pair<std::string, std::string>{out_flag, out},
                                     {"--checkpoint", checkpoint_path}, {"the model file", model_path}})
      if (!path.empty() && same_file(log_path, path))
        throw UsageError("--log and " + flag + " both name " + log_path + "; give the log a file of its own");

  // The model and optimizer: fresh from MODEL.json, or both from the checkpoint.
  JsonModelDocument doc = load_json_model_document(model_path);
  if (doc.training.is_object() && doc.training.value("format", "") == kCheckpointFormatName)
    doc.training = nullptr;  // a checkpoint's state does not belong in the trained model
  std::optional<Checkpoint> ckpt;
  std::unique_ptr<Optimizer<float>> optimizer;
  FitOptions options;
  if (resume) {
    if (!std::filesystem::exists(checkpoint_path))
      throw DataError(checkpoint_path + ": no such checkpoint to resume");
    ckpt = load_checkpoint(checkpoint_path);
    doc.model = std::move(ckpt->model);
    optimizer = make_optimizer(doc.model, ckpt->state.optimizer, freeze_patterns(doc.model.graph, ckpt->state.freeze));
    options = resume_options(ckpt->state);
    options.resume = &ckpt->state;
    if (epochs > 0) options.epochs = epochs;
  } else {
    optimizer = make_optimizer_from_flags(doc.model, optimizer_kind, lr, momentum, nesterov, weight_decay);
    options.epochs = epochs > 0 ? epochs : 10;
    options.batch = static_cast<std::size_t>(batch);
    options.seed = seed;
    options.drop_last = drop_last;
    options.patience = patience;
    options.clip = clip;
    options.freeze = freeze;
    options.restore_best = restore_best;
    options.lr_schedule_unit = schedule_unit == "step" ? ScheduleUnit::Step : ScheduleUnit::Epoch;
    set_lr_schedule(options, LrSchedule::parse(schedule_text));
  }
  // Every file the run will write, checked before the data is read and the first step made.
  if (leader) {
    check_output_file(out_flag, out, WriteMode::Replace);
    if (!checkpoint_path.empty()) check_output_file("--checkpoint", checkpoint_path, WriteMode::Replace);
    if (!log_path.empty()) check_output_file("--log", log_path, WriteMode::Open);
  }
  options.communicator = comm;
  options.sync_batchnorm = sync_batchnorm;

  options.eval_batch = eval_batch;
  options.log_path = log_path;
  options.progress = progress;
  if (!checkpoint_path.empty()) options.checkpoint = checkpoint_writer(checkpoint_path);

  Model& model = doc.model;
  ModelData data;
  ImageSet train, test;
  std::unique_ptr<ImageRows> train_rows;
  DataView train_view, val_view;
  if (is_table) {
    // A resumed run splits the rows by the seed it started with.
    data = table_training_data(model, doc.training, model_path, dir, table, options.seed, limit);
    train_view = data.train.view();
    val_view = data.val.view();
  } else {
    const EvalRoles roles = eval_roles(model.graph);
    // Distributed: each rank reads only its rows of each epoch's batches (FitOptions::train_rows).
    if (comm && comm->size() > 1)
      train_rows = std::make_unique<ImageRows>(dir, Split::Train, roles, limit);
    else
      train = load_image_set(dir, Split::Train, roles);
    test = load_image_set(dir, Split::Test, roles);
    truncate(train, limit);
    truncate(test, limit);
    const std::size_t train_n = train_rows ? train_rows->size() : train.size();
    data.roles = roles;
    data.model_line = model_path + ": images '" + roles.input + "' " + shape_str(roles.input_shape) + ", labels '" +
                      roles.target + "', logits '" + roles.logits + "' (" + std::to_string(roles.classes) +
                      " classes), loss '" + roles.loss + "'";
    data.data_line = dir + ": " + std::to_string(train_n) + " training, " + std::to_string(test.size()) +
                     " validation images of " + std::to_string(test.rows) + "x" + std::to_string(test.cols);
    train_view = {train_rows ? nullptr : train.images.data(), train_rows ? nullptr : train.labels.data(), train_n,
                  labels_file(dir, Split::Train)};
    options.train_rows = train_rows.get();
    val_view = {test.images.data(), test.labels.data(), test.size(), labels_file(dir, Split::Test)};
  }

  if (!resume) {
    // onecycle's default length: the run's, in the schedule's unit, now that the data is known.
    const std::size_t n = train_view.n, b = options.batch;
    const std::size_t per_epoch = options.drop_last ? n / b : (n + b - 1) / b;
    const std::int64_t per_unit = options.lr_schedule_unit == ScheduleUnit::Step ? static_cast<std::int64_t>(per_epoch) : 1;
    set_lr_schedule(options, LrSchedule::parse(schedule_text).with_total(options.epochs * per_unit));
  }

  if (progress != Progress::Off) {
    std::printf("model     %s\n", data.model_line.c_str());
    std::printf("data      %s\n", data.data_line.c_str());
    std::printf("training  %s, lr %g, schedule %s, batch %zu, %lld epochs, seed %llu%s\n", optimizer->kind(),
                resume ? ckpt->state.base_lr : optimizer->learning_rate(), options.lr_schedule_name.c_str(),
                options.batch, static_cast<long long>(options.epochs), static_cast<unsigned long long>(options.seed),
                resume ? (", resumed after epoch " + std::to_string(ckpt->state.epochs_done) + " (step " +
                          std::to_string(ckpt->state.steps) + ")")
                             .c_str()
                       : "");
    std::fflush(stdout);
  }

  FitResult r;
  try {
    r = fit(model, *optimizer, data.roles, train_view, val_view, options);
  } catch (const TrainingDiverged& e) {
    throw TrainingDiverged(after_divergence(e, checkpoint_path, ckpt ? &*ckpt : nullptr, out), e.epoch, e.step,
                           e.loss, e.epochs_done);
  }
  if (!leader) return r.status == FitStatus::Interrupted ? 130 : 0;
  if (data.schema) set_data_schema(doc.training, *data.schema);
  save_model_document(doc.model, doc.training, out);

  double seconds = 0;
  for (const EpochStats& s : r.history) seconds += s.seconds;
  nlohmann::ordered_json line{{"command", "train"},
                              {"model", model_path},
                              {"out", out},
                              {"status", fit_status_name(r.status)},
                              {"epochs_done", r.epochs_done},
                              {"steps", r.steps},
                              {"seconds", seconds}};
  if (!r.history.empty()) {
    const EpochStats& s = r.history.back();
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
    line["loss"] = num(s.train_loss);
    line["train_accuracy"] = num(s.train_accuracy);
    line["val_loss"] = num(s.val_loss);
    line["val_accuracy"] = num(s.val_accuracy);
    const std::pair<const char*, double> more[] = {{"val_precision", s.val_precision}, {"val_recall", s.val_recall},
                                                   {"val_roc_auc", s.val_auc},         {"val_rmse", s.val_rmse},
                                                   {"val_mae", s.val_mae},             {"val_r2", s.val_r2}};
    for (const auto& [name, v] : more)
      if (!std::isnan(v)) line[name] = num(v);
  }
  if (r.restored_epoch > 0) line["restored_best_epoch"] = r.restored_epoch;
  if (!checkpoint_path.empty()) line["checkpoint"] = checkpoint_path;
  if (r.status == FitStatus::Interrupted) {
    std::fprintf(stderr, "plangrad train: interrupted after %lld epochs and %lld steps; model saved to %s\n",
                 static_cast<long long>(r.epochs_done), static_cast<long long>(r.steps), out.c_str());
    // A distributed run resumes on as many ranks (the checkpoint records them).
    const std::string launcher = comm && comm->size() > 1 ? "mpirun -np " + std::to_string(comm->size()) + " " : "";
    if (!checkpoint_path.empty())
      std::fprintf(stderr, "resume with: %splangrad train %s --data %s --checkpoint %s --resume%s\n", launcher.c_str(),
                   model_path.c_str(), dir.c_str(), checkpoint_path.c_str(),
                   r.state.sync_batchnorm ? " --sync-batchnorm" : "");
  } else if (progress != Progress::Off) {
    std::printf("saved     %s\n", out.c_str());
  }
  std::printf("%s\n", line.dump().c_str());
  return r.status == FitStatus::Interrupted ? 130 : 0;
}

}  // namespace
}  // namespace plangrad::cli
