// The parts of an HTTP request target the connection routes by (RFC 9112 §3.2: origin-form).
#pragma once

#include <string_view>

namespace nudge::net {

inline constexpr std::string_view kEngineIoPath = "/socket.io/";

inline std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

inline std::string_view query_of(std::string_view target) {
    const auto q = target.find('?');
    return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

}  // namespace nudge::net
