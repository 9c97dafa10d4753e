#include "hub_url.hpp"

#include <charconv>

namespace nudge::detail {

namespace {

tl::unexpected<std::string> bad(std::string_view url, std::string_view why) {
    return tl::make_unexpected("hub URL " + std::string(why) + ": \"" + std::string(url) +
                               "\" (expected http://host:port)");
}

}  // namespace

tl::expected<HubUrl, std::string> parse_hub_url(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    if (url.substr(0, kScheme.size()) != kScheme) {
        return bad(url, url.find("://") == std::string_view::npos ? "has no http:// scheme"
                                                                  : "must start with http://");
    }
    const std::string_view rest = url.substr(kScheme.size());
    const std::size_t path_start = rest.find('/');
    const std::string_view authority = rest.substr(0, path_start);
    std::string_view path =
        path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
    if (path.find_first_of("?#") != std::string_view::npos ||
        authority.find_first_of("?#") != std::string_view::npos) {
        return bad(url, "must not have a query or fragment");
    }
    if (authority.find('@') != std::string_view::npos) return bad(url, "must not have user info");

    std::string_view host = authority;
    std::string_view port_part;  // ":1234" or empty
    if (authority.substr(0, 1) == "[") {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return bad(url, "has an unclosed '['");
        host = authority.substr(1, close - 1);
        port_part = authority.substr(close + 1);
    } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port_part = authority.substr(colon);
    }
    if (host.empty()) return bad(url, "has no host");
    if (!port_part.empty() && port_part[0] != ':') return bad(url, "has text after ']'");
    const std::string_view port = port_part.empty() ? std::string_view{} : port_part.substr(1);
    if (!port_part.empty() && port.empty()) return bad(url, "has an empty port");
    if (!port.empty()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            return bad(url, "has a bad port");
        }
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);

    HubUrl result;
    result.host = std::string(host);
    result.port = port.empty() ? "80" : std::string(port);
    result.authority = std::string(authority);
    result.prefix = std::string(path);
    return result;
}

}  // namespace nudge::detail
