// Result<T>: a value or an Error, the project's error-as-value type (see docs/ARCHITECTURE.md).
//
// C++20 stand-in for std::expected (which g++ 12 has under C++23 but clang 14, used for the fuzz
// targets, cannot compile). Usage:
//
//   Result<int> parse(std::string_view s) {
//     if (s.empty()) return Err(Errc::kInvalidArgument, "empty input");
//     return 42;
//   }
//   auto r = parse(x);
//   if (!r) log(r.error().message);
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace qc {

// What went wrong, coarsely, so callers can branch on it; the message says it for people.
enum class Errc {
  kInvalidArgument,  // the caller (or the user's input) asked for something malformed
  kParse,            // a file or message could not be decoded
  kNotFound,         // a file, peer or entry does not exist
  kExists,           // refusing to overwrite something that exists
  kIo,               // an operating-system call failed (errno is in the message)
  kCrypto,           // a cryptographic operation failed (GnuTLS said no)
  kVerify,           // a signature or certificate chain did not verify
  kExpired,          // a certificate, probe or circuit is past its validity
  kProtocol,         // a peer broke the wire protocol
  kTooLarge,         // input or packet exceeds a limit
  kUnreachable,      // no route to the peer
  kTimeout,          // an operation did not finish in time
  kClosed,           // the object was closed or torn down
  kUnsupported,      // valid, but not something this build does
  kLimit,            // a rate or table limit was hit; the input was dropped
  kInternal,         // a bug; should not happen
};

const char* errc_name(Errc c);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;

  // "code: message", for logs and CLI output.
  std::string to_string() const { return std::string(errc_name(code)) + ": " + message; }
};

// Marker returned by Err(); converts to any Result<T>.
struct Unexpected {
  Error error;
};

inline Unexpected Err(Errc code, std::string message) {
  return Unexpected{Error{code, std::move(message)}};
}
inline Unexpected Err(Error e) { return Unexpected{std::move(e)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& v) : v_(v) {}  // NOLINT(google-explicit-constructor)
  Result(T&& v) : v_(std::move(v)) {}  // NOLINT(google-explicit-constructor)
  template <typename U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, Result> &&
             !std::is_same_v<std::decay_t<U>, Unexpected> && !std::is_same_v<std::decay_t<U>, T>)
  Result(U&& v) : v_(std::in_place_index<0>, std::forward<U>(v)) {}  // NOLINT
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }
  template <typename U>
  T value_or(U&& alt) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(alt));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : err_(std::move(u.error)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return err_;
  }

 private:
  Error err_;
  bool ok_ = true;
};

inline Result<void> Ok() { return {}; }

// Returns early from the enclosing function with the error of `expr` if it failed.
#define QC_TRY(expr)                                \
  do {                                              \
    auto&& qc_try_r_ = (expr);                      \
    if (!qc_try_r_) return ::qc::Err(qc_try_r_.error()); \
  } while (0)

}  // namespace qc
