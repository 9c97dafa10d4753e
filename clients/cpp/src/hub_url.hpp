// HubUrl: the parts of the configured hub URL the HTTP client needs. Pure; thread-safe.
//
// Accepted: http://host[:port][/prefix], host a name, an IPv4 address or a bracketed IPv6
// address ([::1]). The port defaults to 80; a trailing '/' on the prefix is dropped. Refused,
// each with a message naming the problem: other schemes (https included), user info, a
// query or fragment, an empty host, a port outside 1..65535.
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace nudge::detail {

struct HubUrl {
    std::string host;       // without brackets, for the resolver
    std::string port;       // decimal, for the resolver
    std::string authority;  // host[:port] as written, for the Host header
    std::string prefix;     // "" or "/path" without a trailing '/'

    [[nodiscard]] std::string target(std::string_view path) const {
        return prefix + std::string(path);
    }
};

[[nodiscard]] tl::expected<HubUrl, std::string> parse_hub_url(std::string_view url);

}  // namespace nudge::detail
