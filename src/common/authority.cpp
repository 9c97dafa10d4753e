#include "common/authority.hpp"

namespace nudge {

Result<HostPort, std::string> split_authority(std::string_view authority) {
    std::string_view host = authority;
    std::optional<std::string_view> port;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return fail(std::string("unclosed ["));
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) return fail(std::string("bad host"));
            port = after.substr(1);
        }
    } else if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
        if (authority.find(':', colon + 1) != std::string_view::npos) {
            return fail(std::string("an IPv6 host needs [brackets]"));
        }
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return fail(std::string("no host"));
    HostPort out{host, std::nullopt};
    if (port) {
        const auto number = parse_decimal<std::uint32_t>(*port);
        if (!number || *number == 0 || *number > 65535) {
            return fail("bad port \"" + std::string(*port) + "\" (1-65535)");
        }
        out.port = static_cast<std::uint16_t>(*number);
    }
    return out;
}

}  // namespace nudge
