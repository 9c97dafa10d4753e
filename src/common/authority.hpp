// Small parsers shared by the URL readers (--broker, --jwt-jwks, --subscribe-hook) and the
// Redis message codecs. Pure; thread-safe.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "common/result.hpp"

namespace nudge {

// All of `text` as a decimal number of type Int; empty when it is not one (empty, a sign an
// unsigned type does not take, bytes after the digits, overflow).
template <class Int>
[[nodiscard]] std::optional<Int> parse_decimal(std::string_view text) noexcept {
    Int value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// The host and port of a URL's authority (RFC 3986 §3.2.2): `host`, `host:port`, `[v6]` or
// `[v6]:port` (an IPv6 address must be in brackets). The host is a view into `authority`.
struct HostPort {
    std::string_view host;
    std::optional<std::uint16_t> port;  // none when the authority names no port
};
// Errors: "unclosed [", "bad host" (bytes after ']'), "an IPv6 host needs [brackets]",
// "no host", "bad port \"…\" (1-65535)".
[[nodiscard]] Result<HostPort, std::string> split_authority(std::string_view authority);

}  // namespace nudge
