#pragma once
/// \file
/// A chain of running stream processors that turns a blob of one media type into a stream of
/// another, by piping it through each processor's binary in turn.
///
/// How a processor runs (the contract with processor authors):
/// - `path` is executed directly (posix_spawn, never a PATH or current-directory lookup) with
///   argv = {path, args...} in its own process group.
/// - The environment is exactly the configured `env` plus `STREAM_PROCESSOR_MEDIATYPE=<the media
///   type it is given>`. Unlike containerd, the daemon's own environment is not inherited: set
///   PATH, HOME and the like in `env` if the processor needs them.
/// - stdin carries the input, stdout the output, stderr is captured (its last bytes end up in the
///   error when the processor fails). When ChainOptions::payloads holds an entry for the
///   processor's id, fd 3 is a read-only file (a memfd positioned at 0) holding those bytes, the
///   counterpart of containerd's processor payload; otherwise fd 3 is closed. No other
///   descriptor is inherited.
/// - Success is exit status 0 after reading all of stdin. The processor must not leave children
///   behind: its process group is killed when it exits or when the chain is closed.

#include <strata/contentio/stream.hpp>
#include <strata/plugin/error.hpp>
#include <strata/streamproc/processor.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::streamproc {

namespace detail {
struct Runtime;
} // namespace detail

/// True for the uncompressed layer tars that end a chain: OCI `layer.v1.tar`, OCI
/// `layer.nondistributable.v1.tar` and Docker `rootfs.diff.tar`.
bool is_plain_layer_tar(std::string_view media_type) noexcept;

/// How processors run.
struct ChainOptions {
  /// A processor is killed (SIGKILL to its process group) and reported as DeadlineExceeded when,
  /// while the consumer waits on it, it neither writes output nor takes input for this long, or
  /// when it closes its stdout and does not exit within this long. Time during which the
  /// processor is starved because its own input is slow does not count. Zero disables the limit.
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
  /// Processor id -> bytes handed to that processor on fd 3.
  std::map<std::string, std::string> payloads;
  /// How many trailing bytes of a processor's stderr are kept for its error message.
  std::size_t stderr_limit = 4096;
};

/// The running processors, owning their child processes and threads. Move-only; destroying or
/// close()-ing it kills and reaps every child that is still running and joins every thread.
/// Not thread-safe: read the source and close from one thread at a time.
class Chain {
public:
  Chain(Chain&&) noexcept = default;
  Chain& operator=(Chain&&) noexcept;
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;
  ~Chain();

  /// The bytes of media_type(). Reads return 0 (end) only once every processor has exited with
  /// status 0 after consuming all of its input and the input source ended cleanly. Otherwise
  /// (and on every later read) the error, naming the processor, its path and its media type:
  /// - InvalidArgument: it exited with a non-zero status; the message ends with its stderr;
  /// - Internal: it was killed by a signal it did not get from strata (stderr included), or a
  ///   pipe or process call failed;
  /// - DeadlineExceeded: it stayed idle past ChainOptions::idle_timeout and was killed;
  /// - DataLoss: it exited with status 0 without reading all of its input, or the input source
  ///   claimed more bytes than it was asked for;
  /// - the input source's own error, unchanged;
  /// - Cancelled: read after close() of a chain that had not ended.
  /// With no processor applied this is the input source itself.
  const contentio::Source& source() const noexcept { return source_; }
  /// The media type of source(): a plain layer tar, or the first type no available processor
  /// accepts (the caller decides, e.g. built-in decompression or NotImplemented).
  const std::string& media_type() const noexcept { return media_type_; }
  /// Ids of the processors applied, in stream order.
  const std::vector<std::string>& processors() const noexcept { return processors_; }
  /// check() reasons of processors that accepted a media type on the way but could not run; worth
  /// adding to a NotImplemented message when media_type() is not usable.
  const std::vector<std::string>& unavailable() const noexcept { return unavailable_; }
  /// Stops the chain early: kills (SIGKILL) every processor still running, reaps it, joins the
  /// feeding threads and closes every descriptor. Idempotent; called by the destructor. A
  /// thread feeding the first processor may have to wait for the current call to the caller's
  /// input source to return.
  void close() noexcept;

private:
  friend Result<Chain> build_chain(const std::vector<ProcessorSpec>&, std::string,
                                   contentio::Source, const ChainOptions&);
  Chain() = default;

  contentio::Source source_;
  std::string media_type_;
  std::vector<std::string> processors_;
  std::vector<std::string> unavailable_;
  std::shared_ptr<detail::Runtime> runtime_;
};

/// Starting from `media_type`, repeatedly applies the first processor in `specs` order that
/// accepts the current media type and passes check(), until the type is a plain layer tar or no
/// available processor accepts it. The processors start at once; their output is pulled through
/// Chain::source(). Processors that fail check() are skipped and listed in Chain::unavailable().
/// Errors: InvalidArgument when a processor would return a media type already seen in the chain
/// (a loop), naming the path of types and the `returns` key to fix; Unavailable when a binary
/// cannot be started (with the reason); Internal when pipes, memfds or threads cannot be made.
/// Processors already started are killed and reaped before an error is returned.
Result<Chain> build_chain(const std::vector<ProcessorSpec>& specs, std::string media_type,
                          contentio::Source input, const ChainOptions& options = {});

} // namespace strata::streamproc
