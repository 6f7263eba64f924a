// The measuring loop and command line of the C++ peers (bench/libtorch/, bench/ort/), the same
// as plangrad's bench/workloads.cpp and bench/torch_workloads.py: warm up, then time every
// step on its own (steady_clock wall time and this thread's CPU time), report the median
// (v[n/2]) as one JSON line. The loss is read outside the timed region; so is `prepare`,
// which the real-batch workloads use to point the step at its next batch.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <zlib.h>

namespace harness {

inline double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

inline long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

struct Args {
  std::string workloads = "all";
  int iters = 0;    // 0: the workload's default
  int warmup = -1;  // -1: the workload's default
  int threads = 1;
  bool quick = false;
  std::string data = "data/fashion-mnist";
  std::string models;  // bench/ort: the folder of the exported models
};

// The flags bench/run.sh passes to every side; plangrad-only flags are refused.
inline Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(f + " needs a value");
      return argv[++i];
    };
    auto number = [&](int lo) {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo || n > 100000000) throw std::invalid_argument(f + " takes an integer");
      return static_cast<int>(n);
    };
    if (f == "--workloads") a.workloads = value();
    else if (f == "--iters") a.iters = number(0);
    else if (f == "--warmup") a.warmup = number(-1);
    else if (f == "--threads") a.threads = number(1);
    else if (f == "--data") a.data = value();
    else if (f == "--models") a.models = value();
    else if (f == "--quick") a.quick = true;
    else throw std::invalid_argument("unknown argument '" + f + "'");
  }
  return a;
}

// --workloads: "all", or names from `all` separated by commas; another name is an
// std::invalid_argument naming it and what this side runs.
inline std::vector<std::string> split(const std::string& s, const std::vector<std::string>& all) {
  if (s == "all") return all;
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    if (std::find(all.begin(), all.end(), item) == all.end()) {
      std::string names;
      for (const std::string& w : all) names += (names.empty() ? "" : ", ") + w;
      throw std::invalid_argument("unknown workload '" + item + "' (this side runs " + names + ")");
    }
    out.push_back(item);
  }
  return out;
}

// The training peers' workloads (LibTorch, oneDNN): every one of bench/workloads.cpp's.
inline const std::vector<std::string> kTrainingPeerWorkloads = {
    "W1", "W2", "W3", "W4", "W5-mlp", "W5-cnn", "W5-mlp-b64", "W5-cnn-b64", "W3-real", "W4-real"};

// The same defaults as bench/workloads.cpp: timed steps, and for the real-batch workloads
// the warm-up (20 batches, then 200 timed ones: 220 of the training set's 468).
inline int default_iters(const std::string& w) {
  if (w == "W1" || w == "W5-mlp") return 4000;
  if (w == "W2" || w == "W5-cnn") return 2000;
  if (w == "W5-mlp-b64") return 1000;
  if (w == "W4") return 20;
  return 200;  // W3, W5-cnn-b64, W3-real, W4-real
}
constexpr int kRealWarmup = 20;

struct Plan {
  int warmup = 0, iters = 0;
};

// --quick: one warm-up and one timed step; otherwise the flags, else the defaults (warm-up a
// tenth of the timed steps, at least 3, unless the workload says otherwise).
inline Plan plan(const Args& a, int default_iters, int default_warmup = -1) {
  if (a.quick) return {1, 1};
  const int iters = a.iters > 0 ? a.iters : default_iters;
  const int warmup = a.warmup >= 0 ? a.warmup : default_warmup >= 0 ? default_warmup : std::max(3, default_iters / 10);
  return {warmup, iters};
}

// Times `step` `p.iters` times after `p.warmup` untimed steps and prints the JSON line.
// `prepare(i)` (may be empty) runs before step i (warm-up steps count first), untimed;
// `loss` (may be empty) reads the step's loss, untimed. `extra_json` goes inside the object.
inline void time_steps(const std::string& side, const std::string& workload, const std::string& optimizer,
                       int threads, const Plan& p, const std::function<void(int)>& prepare,
                       const std::function<void()>& step, const std::function<double()>& loss,
                       const std::string& extra_json) {
  int n = 0;
  for (int i = 0; i < p.warmup; ++i, ++n) {
    if (prepare) prepare(n);
    step();
  }
  std::vector<double> us, cpu;
  us.reserve(static_cast<std::size_t>(p.iters));
  cpu.reserve(static_cast<std::size_t>(p.iters));
  double loss_sum = 0;
  const long faults0 = minor_faults();
  for (int i = 0; i < p.iters; ++i, ++n) {
    if (prepare) prepare(n);
    const double c0 = thread_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    step();
    const auto t1 = std::chrono::steady_clock::now();
    cpu.push_back(thread_cpu_us() - c0);
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (loss) loss_sum += loss();
  }
  const double faults = double(minor_faults() - faults0) / p.iters;
  const double mean = std::accumulate(us.begin(), us.end(), 0.0) / p.iters;
  std::printf("{\"side\":\"%s\",\"workload\":\"%s\",\"us\":%.2f,\"min_us\":%.2f,\"mean_us\":%.2f,\"cpu_us\":%.2f,"
              "\"faults_per_step\":%.2f,\"iters\":%d,\"threads\":%d,\"optimizer\":\"%s\",\"loss\":%.6g%s}\n",
              side.c_str(), workload.c_str(), median(us), *std::min_element(us.begin(), us.end()), mean, median(cpu),
              faults, p.iters, threads, optimizer.c_str(), loss_sum / p.iters, extra_json.c_str());
  std::fflush(stdout);
}

// An IDX file's whole content, plain or gzipped (zlib reads both).
inline std::vector<std::uint8_t> read_file(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) throw std::runtime_error(path + ": cannot open");
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> buf(1 << 16);
  int n;
  while ((n = gzread(g, buf.data(), static_cast<unsigned>(buf.size()))) > 0) out.insert(out.end(), buf.begin(), buf.begin() + n);
  const bool bad = n < 0;
  gzclose(g);
  if (bad) throw std::runtime_error(path + ": corrupt gzip data");
  return out;
}

inline std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

// DIR/name or DIR/name.gz, as plangrad's load_mnist_dir looks for them (the plain file first).
inline std::vector<std::uint8_t> read_idx(const std::string& dir, const std::string& name, std::uint32_t magic) {
  std::vector<std::uint8_t> bytes;
  for (const std::string& f : {dir + "/" + name, dir + "/" + name + ".gz"}) {
    if (FILE* probe = std::fopen(f.c_str(), "rb")) {
      std::fclose(probe);
      bytes = read_file(f);
      break;
    }
  }
  if (bytes.empty()) throw std::runtime_error(dir + ": no " + name + " or " + name + ".gz");
  if (bytes.size() < 8 || be32(bytes.data()) != magic) throw std::runtime_error(dir + "/" + name + ": not an IDX file of this kind");
  return bytes;
}

}  // namespace harness
