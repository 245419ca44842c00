// Choosing processors for a media type and owning the stages that run them.
#include <strata/plugin/try.hpp>
#include <strata/streamproc/chain.hpp>

#include "stage.hpp"

#include <algorithm>

namespace strata::streamproc {

namespace detail {

// The running stages, closed in an order that never leaves a feeder thread inside a stage that
// is already shut down.
struct Runtime {
  std::shared_ptr<Cancel> cancel;
  std::vector<std::shared_ptr<Stage>> stages; // stream order
  bool closed = false;

  void close() noexcept {
    if (closed)
      return;
    closed = true;
    if (cancel)
      cancel->fire();
    for (auto& s : stages)
      s->kill();
    // Stage k's feeder may be inside stage k-1's read, so k is joined before k-1 goes away.
    for (auto it = stages.rbegin(); it != stages.rend(); ++it)
      (*it)->shutdown();
  }
  ~Runtime() { close(); }
};

} // namespace detail

bool is_plain_layer_tar(std::string_view media_type) noexcept {
  return media_type == "application/vnd.oci.image.layer.v1.tar" ||
         media_type == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
         media_type == "application/vnd.docker.image.rootfs.diff.tar";
}

Chain& Chain::operator=(Chain&& other) noexcept {
  if (this != &other) {
    close();
    source_ = std::move(other.source_);
    media_type_ = std::move(other.media_type_);
    processors_ = std::move(other.processors_);
    unavailable_ = std::move(other.unavailable_);
    runtime_ = std::move(other.runtime_);
  }
  return *this;
}

Chain::~Chain() {
  close();
}

void Chain::close() noexcept {
  if (runtime_)
    runtime_->close();
}

Result<Chain> build_chain(const std::vector<ProcessorSpec>& specs, std::string media_type,
                          contentio::Source input, const ChainOptions& options) {
  try {
    std::vector<Status> usable;
    usable.reserve(specs.size());
    for (const auto& s : specs)
      usable.push_back(check(s));

    Chain chain;
    std::vector<std::string> seen{media_type};
    std::string path_text = media_type; // "a -> (p) b -> (q) c", for loop messages
    auto runtime = std::make_shared<detail::Runtime>();
    while (!is_plain_layer_tar(media_type)) {
      const ProcessorSpec* pick = nullptr;
      for (std::size_t i = 0; i < specs.size() && pick == nullptr; ++i) {
        const auto& a = specs[i].accepts;
        if (std::find(a.begin(), a.end(), media_type) == a.end())
          continue;
        if (usable[i]) {
          pick = &specs[i];
        } else {
          const std::string& why = usable[i].error().message();
          if (std::find(chain.unavailable_.begin(), chain.unavailable_.end(), why) ==
              chain.unavailable_.end())
            chain.unavailable_.push_back(why);
        }
      }
      if (pick == nullptr)
        break;
      path_text += " -> (" + pick->id + ") " + pick->returns;
      if (std::find(seen.begin(), seen.end(), pick->returns) != seen.end())
        return invalid_argument("stream processors form a loop: " + path_text +
                                "; fix stream_processors." + pick->id +
                                ".returns or the accepts lists so that the chain ends in a "
                                "layer tar");
      if (!runtime->cancel) {
        STRATA_TRY_ASSIGN(auto c, detail::Cancel::make());
        runtime->cancel = std::move(c);
      }
      auto stage =
          detail::Stage::start(*pick, media_type, std::move(input), options, runtime->cancel);
      if (!stage)
        return std::move(stage).error();
      runtime->stages.push_back(*stage);
      input = [s = *stage](std::span<std::byte> buf) { return s->read(buf); };
      chain.processors_.push_back(pick->id);
      media_type = pick->returns;
      seen.push_back(media_type);
    }
    chain.source_ = std::move(input);
    chain.media_type_ = std::move(media_type);
    if (!runtime->stages.empty())
      chain.runtime_ = std::move(runtime);
    return chain;
  } catch (const std::exception& e) {
    return internal_error(std::string("building the stream processor chain: ") + e.what());
  }
}

} // namespace strata::streamproc
