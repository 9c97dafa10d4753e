#include "redis/url.hpp"

#include "common/authority.hpp"

#include <limits>
#include <optional>
#include <system_error>

namespace nudge::redis {
namespace {

constexpr std::string_view kScheme = "redis://";
constexpr std::string_view kTlsScheme = "rediss://";

std::optional<int> hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return std::nullopt;
}

// RFC 3986 §2.1 percent-decoding; nullopt on a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;
        const auto hi = hex_digit(in[i + 1]);
        const auto lo = hex_digit(in[i + 2]);
        if (!hi || !lo) return std::nullopt;
        out.push_back(static_cast<char>((*hi << 4) | *lo));
        i += 2;
    }
    return out;
}


// The URL with its userinfo (up to the last '@') replaced by ***, so an error message never
// leaks a password, even one that a parse error cut in the wrong place.
std::string without_password(std::string_view url) {
    const std::size_t scheme_end = url.find("://");
    const std::size_t at = url.rfind('@');
    if (scheme_end == std::string_view::npos || at == std::string_view::npos || at < scheme_end) {
        return std::string(url);
    }
    return std::string(url.substr(0, scheme_end + 3)) + "***" + std::string(url.substr(at));
}

}  // namespace

Result<Endpoint, std::string> parse_url(std::string_view url) {
    const auto bad = [&url](std::string_view why) {
        return fail(std::string(why) + " in \"" + without_password(url) + "\"");
    };
    if (url.starts_with(kTlsScheme)) {
        return bad(
            "rediss:// (TLS) is not supported: Debian's hiredis 0.14 has no TLS; use redis:// "
            "through a TLS tunnel such as stunnel");
    }
    if (!url.starts_with(kScheme)) {
        return bad("expected redis://[[user]:password@]host[:port][/db]");
    }
    std::string_view rest = url.substr(kScheme.size());
    Endpoint endpoint;
    // The userinfo ends at the last '@': host, port and db have none, and an unencoded '@' or
    // '/' in a password is common enough that this is the forgiving reading.
    if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest.remove_prefix(at + 1);
        std::string_view user;
        std::string_view password = userinfo;
        if (const std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
            user = userinfo.substr(0, colon);
            password = userinfo.substr(colon + 1);
        }
        auto decoded_user = percent_decode(user);
        auto decoded_password = percent_decode(password);
        if (!decoded_user) return bad("bad percent-escape in the user name");
        if (!decoded_password) return bad("bad percent-escape in the password");
        if (!decoded_user->empty() && decoded_password->empty()) {
            return bad("a user name needs a password (AUTH takes both)");
        }
        endpoint.username = std::move(*decoded_user);
        endpoint.password = std::move(*decoded_password);
    }
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return bad("query parameters and fragments are not supported");
    }
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

    auto host_port = split_authority(authority);
    if (!host_port) return bad(host_port.error());
    endpoint.host = std::string(host_port->host);
    if (host_port->port) endpoint.port = *host_port->port;
    if (!path.empty()) {
        const auto db = parse_decimal<int>(path);
        if (!db || *db < 0) {
            return bad("bad database \"" + std::string(path) + "\" (a number >= 0)");
        }
        endpoint.db = *db;
    }
    return endpoint;
}

std::string redact(const Endpoint& endpoint) {
    std::string out(kScheme);
    if (!endpoint.password.empty()) {
        out += endpoint.username;
        out += ":***@";
    }
    if (endpoint.host.find(':') != std::string::npos) {
        out += '[' + endpoint.host + ']';
    } else {
        out += endpoint.host;
    }
    out += ':' + std::to_string(endpoint.port) + '/' + std::to_string(endpoint.db);
    return out;
}

}  // namespace nudge::redis
