// Result<T, E>: the error-as-value type of the data plane (STYLE.md: no exceptions there).
// An alias of tl::expected so call sites read the same as std::expected will in C++23.
#pragma once

#include <tl/expected.hpp>
#include <utility>

namespace nudge {

template <class T, class E>
using Result = tl::expected<T, E>;

// `return fail(Error::kX);` reads better than tl::make_unexpected at every call site.
template <class E>
[[nodiscard]] auto fail(E&& error) {
    return tl::make_unexpected(std::forward<E>(error));
}

}  // namespace nudge
