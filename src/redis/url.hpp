// Redis connection URLs: `redis://[[user]:password@]host[:port][/db]`, the syntax of redis-cli's
// `-u` (Redis' src/redis-cli.c parseRedisUri) and of the IANA "redis" URI scheme. Pure functions,
// no I/O; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace nudge::redis {

struct Endpoint {
    std::string host;  // DNS name or IP address; an IPv6 address without its [brackets]
    std::uint16_t port = 6379;
    std::string username;  // empty: AUTH with the password alone (the "default" user)
    std::string password;  // empty: no AUTH
    int db = 0;            // SELECT db when not 0
};

// Parses a redis:// URL. User and password are percent-decoded (RFC 3986 §2.1), so a password
// may contain ':' '@' '/' as %3A %40 %2F; the userinfo ends at the URL's last '@', so unencoded
// '@' and '/' in a password work too. As in redis-cli, userinfo without ':' is the password
// (`redis://secret@host`), and `redis://:secret@host` too. Errors name what is wrong and quote
// the URL with its password replaced by ***. `rediss://` (TLS) is refused: Debian 12's hiredis
// 0.14 has no TLS support.
[[nodiscard]] Result<Endpoint, std::string> parse_url(std::string_view url);

// "redis://host:port/db" for logs: the username is kept, a password shows as ***
// ("redis://user:***@host:6379/0"); IPv6 hosts get their brackets back.
[[nodiscard]] std::string redact(const Endpoint& endpoint);

}  // namespace nudge::redis
