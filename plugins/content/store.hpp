#pragma once
// LocalStore: the strata.content.v1 "content" plugin's ContentStore, blobs as files under a root.

#include "core.hpp"

#include <strata/plugin/content.hpp>

#include <memory>
#include <string>

namespace strata::content {

/// A content store on the local filesystem (layout in layout.hpp). Thread-safe.
class LocalStore : public ContentStore {
public:
  /// Creates the store's directories under `root` (absolute). Errors: InvalidArgument; Internal.
  static Result<std::shared_ptr<LocalStore>> open(const std::string& root);

  /// Uses `root` as is; open() creates the directories first.
  explicit LocalStore(const std::string& root);

  const std::string& root() const { return core_->layout.root; }

  Result<ContentInfo> info(const std::string& digest) override;
  Result<ContentInfo> update(const ContentInfo& info,
                             const std::vector<std::string>& fieldpaths) override;
  Status walk(const ContentWalkFn& fn, const std::vector<std::string>& filters) override;
  Status remove(const std::string& digest) override;
  Result<std::shared_ptr<ReaderAt>> reader(const std::string& digest) override;
  Result<std::unique_ptr<ContentWriter>> writer(const std::string& ref,
                                                const Descriptor& expected) override;

private:
  Result<ContentInfo> stat_blob(const std::string& digest);

  std::shared_ptr<Core> core_;
};

} // namespace strata::content
