// Out-of-line virtual destructors ("key functions") of every SDK interface. Defining them here,
// in the one shared SDK library, gives each interface a single vtable and type_info for the whole
// process, so dynamic_cast and exceptions behave across plugins loaded with RTLD_LOCAL.

#include "strata/plugin/content.hpp"
#include "strata/plugin/differ.hpp"
#include "strata/plugin/images.hpp"
#include "strata/plugin/registration.hpp"
#include "strata/plugin/snapshotter.hpp"

namespace strata {

Instance::~Instance() = default;
Status Instance::close() {
  return {};
}
InitContext::~InitContext() = default;
Result<Meta> InitContext::dependency_meta(const std::string& uri) const {
  return not_implemented("this init context does not provide the Meta of " + uri);
}
std::shared_ptr<Logger> InitContext::logger() const {
  return null_logger();
}
Logger::~Logger() = default;
Registrar::~Registrar() = default;
Snapshotter::~Snapshotter() = default;
Status Snapshotter::cleanup() {
  return not_implemented("this snapshotter has nothing to clean up");
}
Applier::~Applier() = default;
Comparer::~Comparer() = default;
Differ::~Differ() = default;
ReaderAt::~ReaderAt() = default;
ContentWriter::~ContentWriter() = default;
ContentStore::~ContentStore() = default;
ImageService::~ImageService() = default;
Result<UnpackResult> ImageService::unpack(const std::string& name, const UnpackOptions&) {
  return not_implemented("this images service cannot unpack image \"" + name + "\"");
}

} // namespace strata
