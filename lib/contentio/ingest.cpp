#include "strata/contentio/ingest.hpp"
#include "strata/plugin/try.hpp"

#include <vector>

namespace strata::contentio {

namespace {
constexpr std::size_t chunk_size = std::size_t(1) << 20;
}

Status ingest(ContentStore& store, const std::string& ref, const Descriptor& expected,
              const Source& source, const Labels& labels) {
  if (!expected.digest.empty()) {
    auto info = store.info(expected.digest);
    if (info && (expected.size <= 0 || info->size == expected.size))
      return {};
  }
  STRATA_TRY_ASSIGN(auto writer, store.writer(ref, expected));
  std::vector<std::byte> buf(chunk_size);
  for (;;) {
    auto got = source(std::span(buf));
    if (!got)
      return got.error().wrap("ingest of ref \"" + ref + "\" at offset " +
                              std::to_string(writer->offset()));
    if (*got > buf.size())
      return Error(Code::DataLoss, "ingest of ref \"" + ref + "\": the source returned a " +
                                       "nonsensical count " + std::to_string(*got) +
                                       " for a buffer of " + std::to_string(buf.size()) +
                                       " bytes at offset " + std::to_string(writer->offset()));
    if (*got == 0)
      break;
    STRATA_TRY(writer->write(std::span<const std::byte>(buf.data(), *got)));
  }
  auto st = writer->commit(expected.size, expected.digest, labels);
  if (!st && st.error().code() == Code::AlreadyExists)
    return {};
  return st;
}

} // namespace strata::contentio
