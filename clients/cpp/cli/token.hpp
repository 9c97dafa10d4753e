// HS256 JWTs for development and tests (`nudge token`): what a backend's login would issue,
// signed with the hub's --jwt-secret. Pure apart from OpenSSL's HMAC; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nudge::cli {

struct TokenClaims {
    std::string subject;                  // `sub`: the user id, whose room the client joins
    std::vector<std::string> rooms;       // `rooms`: extra rooms, omitted when empty
    std::chrono::seconds ttl{3600};       // `exp` = `iat` + ttl
    std::optional<std::string> issuer;    // `iss`
    std::optional<std::string> audience;  // `aud`
};

// header.payload.signature, each base64url without padding (RFC 7519, RFC 7515 §3.1);
// header {"alg":"HS256","typ":"JWT"}, `iat` = now.
[[nodiscard]] std::string mint_hs256(std::string_view secret, const TokenClaims& claims,
                                     std::chrono::system_clock::time_point now);

}  // namespace nudge::cli
