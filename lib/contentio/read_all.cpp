#include "strata/contentio/read_all.hpp"

#include "strata/contentio/blob_stream.hpp"
#include "strata/plugin/try.hpp"

namespace strata::contentio {

Result<std::string> read_all(ReaderAt& reader, std::size_t limit, std::string_view name) {
  const std::string label = name.empty() ? std::string("(unnamed)") : std::string(name);
  const std::int64_t size = reader.size();
  if (size >= 0 && static_cast<std::uint64_t>(size) > limit)
    return Error(Code::ResourceExhausted, "content: blob " + label + " has " +
                                              std::to_string(size) + " bytes, more than the " +
                                              std::to_string(limit) + " allowed here");
  BlobStream stream(reader, label);
  std::string out;
  if (size > 0)
    out.reserve(static_cast<std::size_t>(size));
  for (;;) {
    STRATA_TRY_ASSIGN(auto chunk, stream.next());
    if (chunk.empty())
      return out;
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  }
}

} // namespace strata::contentio
