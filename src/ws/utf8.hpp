// UTF-8 validation for text messages and close reasons (RFC 6455 §8.1, RFC 3629 §4).
// Internal to the ws module; pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace nudge::ws {

// True when `text` is well-formed UTF-8: no overlong forms, no surrogates (U+D800-DFFF),
// nothing above U+10FFFF, no truncated sequence at the end.
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

// The longest prefix of `text` no longer than `max_size` bytes that does not end inside a
// multi-byte sequence (for valid UTF-8 input: a whole number of characters).
[[nodiscard]] std::size_t utf8_prefix_size(std::string_view text, std::size_t max_size) noexcept;

}  // namespace nudge::ws
