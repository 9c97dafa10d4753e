// JWKS: the signing keys an identity provider publishes (RFC 7517), by key id (`kid`).
//
// parse_jwks() is a pure function from a JWKS document to the usable keys — fuzzed directly
// (fuzz/jwks_fuzz.cpp). Each key's algorithm is pinned by the key itself, never by a token:
// RSA (≥ 2048 bits) → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA; a JWK `alg` that says
// otherwise, a `use` other than "sig", a missing `kid`, a private key, or an unsupported
// `kty`/`crv` makes that key skipped (and named in `skipped`), not the document refused.
// A document that is not `{"keys": [...]}`, or has no usable key, is an error.
//
// KeySet holds the current keys for every worker thread: replace() swaps in a new set (the
// refresher's job, net/jwks_refresher), find() is lock-free for readers of a snapshot.
// Tokens that name a kid the set does not have tell the listener (the refresher, which
// rate-limits its fetches). Header parameters that point elsewhere (`jku`, `x5u`, `jwk`,
// `x5c`) are never read: keys come only from the configured source.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace nudge::auth {

enum class JwkAlgorithm { kRs256, kEs256, kEdDsa };

// The JWS `alg` value a key verifies: "RS256", "ES256", "EdDSA".
[[nodiscard]] std::string_view jws_name(JwkAlgorithm algorithm) noexcept;

struct Jwk {
    std::string kid;
    JwkAlgorithm algorithm = JwkAlgorithm::kRs256;
    std::shared_ptr<evp_pkey_st> key;  // immutable public key, safe to share across threads
};

struct JwksDocument {
    std::vector<Jwk> keys;
    std::vector<std::string> skipped;  // "kid x: reason" for each key left out
};

inline constexpr std::size_t kMaxJwksBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxJwksKeys = 100;

[[nodiscard]] Result<JwksDocument, std::string> parse_jwks(std::string_view document);

class KeySet {
public:
    using Keys = std::vector<Jwk>;

    void replace(Keys keys);
    // The key with this kid, or null. Thread-safe.
    [[nodiscard]] std::shared_ptr<const Jwk> find(std::string_view kid) const;
    [[nodiscard]] std::size_t size() const;
    // Called (from any worker thread, must not block) when a token names an unknown kid.
    void on_unknown_kid(std::function<void()> listener);
    void unknown_kid_seen() const;

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Keys> keys_ = std::make_shared<const Keys>();
    std::function<void()> listener_;
};

}  // namespace nudge::auth
