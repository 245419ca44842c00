#pragma once
// Differs with one fixed behaviour each, for the diff service's tests: used in-process by the
// unit tests and wrapped as plugin modules (fake_plugin.hpp) for the integration test.

#include <strata/plugin/differ.hpp>

#include <atomic>
#include <cstdio>
#include <string>

namespace diffservice_test {

enum class Behaviour {
  NotImplemented, ///< every call: NotImplemented "fake <id>: not mine"
  Fails,          ///< every call: Internal "boom"
  Works,          ///< every call: works_descriptor(id, operation)
};

/// Annotation keys of the descriptor a Works differ returns.
inline constexpr const char* annotation_differ = "test.strata.differ";
inline constexpr const char* annotation_operation = "test.strata.operation";
inline constexpr const char* annotation_sync_fs = "test.strata.sync_fs";

/// What a Works differ returns: a fixed layer descriptor whose annotations say who made it, for
/// which operation, and (apply) whether sync_fs was asked for.
inline strata::Descriptor works_descriptor(const std::string& id, const std::string& operation) {
  strata::Descriptor d;
  d.media_type = strata::media_type::layer_tar;
  d.digest = "sha256:" + std::string(64, '0');
  d.size = 0;
  d.annotations[annotation_differ] = id;
  d.annotations[annotation_operation] = operation;
  return d;
}

/// A differ with a fixed behaviour that counts its calls and, when given a path, appends one line
/// per call ("apply" or "compare") to that file so a test outside the process can count them.
class FakeDiffer : public strata::Differ {
public:
  FakeDiffer(std::string id, Behaviour behaviour, std::string calls_file = {})
      : id_(std::move(id)), behaviour_(behaviour), calls_file_(std::move(calls_file)) {}

  strata::Result<strata::Descriptor> apply(const strata::Descriptor&,
                                           const std::vector<strata::Mount>&,
                                           const strata::ApplyOptions& opts) override {
    last_sync_fs_ = opts.sync_fs;
    auto r = respond("apply");
    if (r)
      r->annotations[annotation_sync_fs] = opts.sync_fs ? "true" : "false";
    return r;
  }

  strata::Result<strata::Descriptor> compare(const std::vector<strata::Mount>&,
                                             const std::vector<strata::Mount>&,
                                             const strata::CompareOptions&) override {
    return respond("compare");
  }

  int calls() const noexcept { return calls_; }
  bool last_sync_fs() const noexcept { return last_sync_fs_; }

private:
  strata::Result<strata::Descriptor> respond(const char* operation) {
    ++calls_;
    record(operation);
    switch (behaviour_) {
    case Behaviour::NotImplemented:
      return strata::not_implemented("fake " + id_ + ": not mine");
    case Behaviour::Fails:
      return strata::internal_error("boom");
    case Behaviour::Works:
      break;
    }
    return works_descriptor(id_, operation);
  }

  void record(const char* operation) const {
    if (calls_file_.empty())
      return;
    if (std::FILE* f = std::fopen(calls_file_.c_str(), "a")) {
      std::fprintf(f, "%s\n", operation);
      std::fclose(f);
    }
  }

  std::string id_;
  Behaviour behaviour_;
  std::string calls_file_;
  std::atomic<int> calls_{0};
  std::atomic<bool> last_sync_fs_{false};
};

} // namespace diffservice_test
