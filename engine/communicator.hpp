/// \file
/// Communicator: what data-parallel training (FitOptions::communicator, engine/fit.hpp)
/// needs from a message-passing layer, with no message-passing library in sight. The
/// library itself never talks to the network; distributed/mpi_communicator.hpp (the
/// separate `plangrad_mpi` library, built when MPI is found) implements it over MPI, and a
/// test may implement it over anything.
///
/// Every rank runs the same program and calls the same collective operations in the same
/// order. Sums are deterministic: the result is the ranks' values added in rank order,
/// ((v0 + v1) + v2) + ..., the same bits on every rank.
#pragma once

#include <cstddef>
#include <string>

#include "core/visibility.hpp"

PLANGRAD_PUBLIC_BEGIN
namespace plangrad {

/// A group of ranks that sum buffers together (see the file's description).
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;  ///< this process's rank, 0 .. size() - 1
  virtual int size() const = 0;  ///< the number of ranks

  /// \name Buckets: gradient sums that overlap with computation
  /// A bucket is a buffer of n floats, registered once before training (it may allocate
  /// then, never afterwards). Each step, a rank writes its values into bucket_data,
  /// start_bucket begins the sum across ranks and returns, possibly before it is done;
  /// finish_bucket waits for it, after which bucket_data holds the sum in rank order.
  /// Buckets are started and finished in the order they were added, on every rank.
  ///@{
  virtual std::size_t add_bucket(std::size_t n) = 0;  ///< a new bucket of n floats; its id
  virtual float* bucket_data(std::size_t bucket) = 0;  ///< its n floats (a fixed address)
  virtual void start_bucket(std::size_t bucket) = 0;   ///< begin the sum across ranks
  virtual void finish_bucket(std::size_t bucket) = 0;  ///< wait for it: data holds the sum
  ///@}

  /// Blocking in-place sums across ranks, in rank order (metrics, running statistics,
  /// agreement checks). May allocate: not for every step.
  virtual void sum(double* data, std::size_t n) = 0;
  /// \copydoc sum(double*, std::size_t)
  virtual void sum(float* data, std::size_t n) = 0;

  /// Ends the job on every rank after printing `message` (with this rank's number) to
  /// stderr: what a rank does when it cannot go on, so that no other rank waits for it.
  [[noreturn]] virtual void abort(const std::string& message) = 0;
};

}  // namespace plangrad
PLANGRAD_PUBLIC_END
