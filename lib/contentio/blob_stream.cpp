#include "strata/contentio/blob_stream.hpp"

#include <strata/digest/sha256.hpp>

#include <algorithm>
#include <utility>

namespace strata::contentio {

struct BlobStream::Hasher {
  digest::Sha256 sha;
};

BlobStream::BlobStream(ReaderAt& reader, std::string name, std::size_t chunk, bool verify)
    : reader_(reader), name_(std::move(name)), buf_(std::max<std::size_t>(chunk, 1)),
      size_(reader.size()), verify_(verify && digest::validate(name_).ok()) {
  if (verify_)
    hash_ = std::make_shared<Hasher>();
}

Error BlobStream::fail(Error e) {
  failed_ = e;
  return e;
}

std::string BlobStream::where() const {
  return "blob " + name_ + " at offset " + std::to_string(offset_) + " of size " +
         std::to_string(size_);
}

Result<std::span<const std::byte>> BlobStream::next() {
  if (failed_)
    return *failed_;
  if (size_ < 0)
    return fail(Error(Code::DataLoss, "content reader of blob " + name_ +
                                          " declared a negative size " + std::to_string(size_)));
  if (offset_ == size_) {
    // End of blob: the reader is not asked for more, so a reader that would keep returning bytes
    // past its declared size cannot make the stream longer.
    if (verify_ && !verified_) {
      verified_ = true;
      std::string actual = hash_->sha.finish();
      if (actual != name_)
        return fail(Error(Code::DataLoss, "content: blob " + name_ + " read back as " + actual +
                                              " (" + std::to_string(size_) + " bytes)"));
    }
    return std::span<const std::byte>{};
  }
  const auto want = static_cast<std::size_t>(
      std::min<std::uint64_t>(buf_.size(), static_cast<std::uint64_t>(size_ - offset_)));
  auto got = reader_.read_at(std::span(buf_.data(), want), offset_);
  if (!got)
    return fail(got.error().wrap("reading " + where()));
  if (*got > want)
    return fail(Error(Code::DataLoss, "content reader returned a nonsensical count " +
                                          std::to_string(static_cast<long long>(*got)) +
                                          " for a buffer of " + std::to_string(want) +
                                          " bytes, reading " + where()));
  if (*got == 0)
    return fail(Error(Code::DataLoss, "short blob: " + name_ + " ended at offset " +
                                          std::to_string(offset_) + " of its declared size " +
                                          std::to_string(size_)));
  std::span<const std::byte> out(buf_.data(), *got);
  if (verify_)
    hash_->sha.update(out);
  offset_ += static_cast<std::int64_t>(*got);
  return out;
}

} // namespace strata::contentio
