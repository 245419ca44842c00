#pragma once
// ChainLocks: what keeps two unpacks from applying the same layers at once.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace strata::images {

/// Names locked by unpacks in progress ("<snapshotter>/<chain id>"), so that a second unpack of
/// the same layers waits for the first and then finds them committed instead of applying them
/// again. Locks are taken in layer order: a chain ID only ever sits at one depth, so two unpacks
/// never wait for each other in a cycle.
class ChainLocks {
public:
  class Held {
  public:
    Held(ChainLocks& owner, std::vector<std::string> names);
    ~Held();
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

  private:
    ChainLocks& owner_;
    std::vector<std::string> names_;
  };

  /// Blocks until every name is free, taking them one by one in the order given.
  std::unique_ptr<Held> lock(std::vector<std::string> names);

private:
  std::mutex mu_;
  std::condition_variable freed_;
  std::set<std::string> held_;
};

} // namespace strata::images
