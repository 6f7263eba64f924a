// MpiCommunicator: engine/communicator.hpp's Communicator over MPI (OpenMPI from Debian:
// libopenmpi-dev, openmpi-bin), the one implementation plangrad ships. It is the
// `plangrad_mpi` library, built only when CMake finds MPI (PLANGRAD_MPI=AUTO|ON|OFF); the
// library `plangrad` never includes <mpi.h>, and neither does this header.
//
// Buckets are summed deterministically: MPI_Iallgather of every rank's values into a buffer
// allocated when the bucket is added, then the ranks' values added in rank order, so every
// rank holds the same bits and the result depends on the number of ranks alone.
// Every wait is bounded: a collective that has not completed after `timeout_seconds` (a rank
// that hangs, or one that died without the launcher noticing) ends the job with MPI_Abort and
// a message naming this rank and what it waited for. MPI errors are returned, not fatal, so
// that they too end the job with a message.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "engine/communicator.hpp"

namespace plangrad {

class MpiCommunicator final : public Communicator {
 public:
  // Initializes MPI (unless the program already did) over MPI_COMM_WORLD; finalizes it in the
  // destructor when it initialized it.
  explicit MpiCommunicator(double timeout_seconds = 300);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override;
  int size() const override;
  std::size_t add_bucket(std::size_t n) override;
  float* bucket_data(std::size_t bucket) override;
  void start_bucket(std::size_t bucket) override;
  void finish_bucket(std::size_t bucket) override;
  void sum(double* data, std::size_t n) override;
  void sum(float* data, std::size_t n) override;
  [[noreturn]] void abort(const std::string& message) override;

  struct Impl;  // the MPI handles and buffers (defined where <mpi.h> is included)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace plangrad
