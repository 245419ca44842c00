#include "api/response.hpp"

namespace strata::host::api {

int http_status(Code code) noexcept {
  switch (code) {
  case Code::Ok:
    return 200;
  case Code::InvalidArgument:
  case Code::OutOfRange:
    return 400;
  case Code::Unauthenticated:
    return 401;
  case Code::PermissionDenied:
    return 403;
  case Code::NotFound:
    return 404;
  case Code::AlreadyExists:
  case Code::Aborted:
    return 409;
  case Code::FailedPrecondition:
  case Code::NeedsParent:
    return 412;
  case Code::ResourceExhausted:
    return 429;
  case Code::Cancelled:
    return 499;
  case Code::NotImplemented:
    return 501;
  case Code::Unavailable:
    return 503;
  case Code::DeadlineExceeded:
    return 504;
  case Code::Unknown:
  case Code::Internal:
  case Code::DataLoss:
    return 500;
  }
  return 500;
}

Response Response::json(json::value body, int status) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::error(const Error& error) {
  return Response::error(error, http_status(error.code()));
}

json::value Response::error_body(const Error& error) {
  return json::object{{"code", to_string(error.code())}, {"message", error.message()}};
}

Response Response::error(const Error& error, int status) {
  return json(error_body(error), status);
}

Response Response::from(Result<json::value> result, int status) {
  if (!result)
    return error(result.error());
  return json(std::move(*result), status);
}

Response Response::raw(std::string body, std::string content_type, int status) {
  Response r;
  r.status = status;
  r.raw_body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::streamed(contentio::Source source, std::optional<std::uint64_t> size,
                            std::string content_type, int status) {
  Response r;
  r.status = status;
  r.body_stream = BodyStream{std::move(source), size};
  r.content_type = std::move(content_type);
  return r;
}

} // namespace strata::host::api
