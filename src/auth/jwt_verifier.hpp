// JwtVerifier: verifies the JWT a client sends in its Socket.IO CONNECT `auth.token` and
// extracts who it is (user id) and which extra rooms it may be in (`rooms` claim).
//
// The algorithm is pinned to the configured key, never taken from the token's header:
// an HS256 secret accepts only HS256; an RSA public key only RS256; an EC P-256 key only
// ES256. With a JWKS the token's `kid` picks the key and that key's type pins the algorithm
// (RS256, ES256 or EdDSA); `jku`, `x5u` and other key-carrying header fields are ignored. `alg: none`, and HS256 tokens signed with an RSA public key as the HMAC secret
// (the classic confusion attack), are rejected.
//
// Thread-safety: create() once at startup; verify() is const and may be called from every
// worker thread at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwks.hpp"
#include "common/result.hpp"

namespace nudge::auth {

struct JwtConfig {
    std::string secret;          // HS256 shared secret (exactly one of secret/public_key_pem)
    std::string public_key_pem;  // RS256 (RSA) or ES256 (EC P-256) public key, PEM text
    // Keys by kid from a JWKS (--jwt-jwks), kept current by net::JwksRefresher; exactly one of
    // secret, public_key_pem and jwks is set.
    std::shared_ptr<KeySet> jwks;
    std::optional<std::string> issuer;    // when set, `iss` must equal it
    std::optional<std::string> audience;  // when set, `aud` (string or array) must contain it
    std::string user_claim = "sub";       // claim holding the user id (string or integer)
    std::chrono::seconds leeway{30};      // clock skew allowed on exp and nbf
};

enum class AuthError {
    kMissingToken,          // no token, or not a string
    kMalformedToken,        // not three base64url parts of JSON objects
    kAlgorithmNotAllowed,   // header alg differs from the configured key type (incl. none)
    kBadSignature,          // signature does not verify
    kExpired,               // now > exp + leeway
    kNotYetValid,           // now < nbf - leeway
    kBadIssuer,             // iss missing or different
    kBadAudience,           // aud missing or does not contain the audience
    kMissingUserClaim,      // user claim absent, empty, or not a string/integer
    kBadRoomsClaim,         // rooms present but not an array of non-empty strings
    kUnknownKid,            // JWKS: the token's kid is not in the key set (or it has none)
    kCount,                 // number of values above; not an error
};

// Stable, snake_case reason sent to clients in CONNECT_ERROR data.reason and used as the
// metric label: "missing_token", "malformed_token", "algorithm_not_allowed",
// "bad_signature", "token_expired", "token_not_yet_valid", "bad_issuer", "bad_audience",
// "missing_user_claim", "bad_rooms_claim", "unknown_kid".
[[nodiscard]] std::string_view reason(AuthError error) noexcept;

struct Identity {
    std::string user_id;             // integer claims rendered in decimal
    std::vector<std::string> rooms;  // from the `rooms` claim, in token order, may be empty
    std::optional<std::int64_t> expires_at;  // `exp` in seconds since the epoch, if present
    // The `room` claim of a subscription token (nudge:subscribe), when it is a non-empty
    // string of at most 256 bytes; connection tokens need none.
    std::optional<std::string> room;
};

class JwtVerifier {
public:
    // Startup-time construction: fails with a human-readable message when the config holds
    // neither or both of secret/public key, the PEM does not parse, or the key is neither
    // RSA nor EC P-256.
    [[nodiscard]] static Result<JwtVerifier, std::string> create(JwtConfig config);

    [[nodiscard]] Result<Identity, AuthError> verify(
        std::string_view token, std::chrono::system_clock::time_point now) const;
    // The clock skew allowed on exp and nbf; sessions use it to close at exp + leeway.
    [[nodiscard]] std::chrono::seconds leeway() const noexcept;

    JwtVerifier(JwtVerifier&&) noexcept;
    JwtVerifier& operator=(JwtVerifier&&) noexcept;
    ~JwtVerifier();

private:
    struct Impl;
    explicit JwtVerifier(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::auth
