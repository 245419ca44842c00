// strata.content.v1.content: the plugin glue around LocalStore (store.hpp). Everything else lives
// in the content-store static library so that tests can use the store without loading a .so.

#include "store.hpp"

#include <strata/plugin/sdk.hpp>

namespace {

class ContentPlugin final : public strata::content::LocalStore {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::content,
      .id = "content",
      .version = "0.1.0",
  };

  static strata::InitResult init(strata::InitContext& ic) {
    strata::content::Layout layout(ic.root());
    if (auto st = layout.create(); !st)
      return st.error();
    ic.meta().exports["root"] = ic.root();
    return std::make_shared<ContentPlugin>(ic.root());
  }

  using LocalStore::LocalStore;
};

} // namespace

STRATA_PLUGIN(ContentPlugin)
