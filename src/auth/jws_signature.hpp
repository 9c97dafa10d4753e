// JWS signature checks (RFC 7515, algorithms of RFC 7518 and RFC 8037) on OpenSSL 3: the
// primitives JwtVerifier runs once a token's shape and header are accepted. Internal to
// src/auth. Thread-safe: every function keeps its per-call state on the stack, except the
// HMAC context cached per thread (see hmac_sha256_matches).
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "auth/jwks.hpp"

namespace nudge::auth::jws {

// Every OpenSSL object is owned by a unique_ptr whose deleter is the matching *_free.
template <auto FreeFn>
struct OpenSslDeleter {
    template <class T>
    void operator()(T* object) const noexcept {
        FreeFn(object);
    }
};
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<&BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<&BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<&ECDSA_SIG_free>>;
using MacPtr = std::unique_ptr<EVP_MAC, OpenSslDeleter<&EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OpenSslDeleter<&EVP_MAC_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<&EVP_MD_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<&EVP_PKEY_free>>;

inline constexpr std::size_t kSha256Bytes = 32;      // HS256 MAC length, RFC 7518 §3.2
inline constexpr std::size_t kP256ScalarBytes = 32;  // ES256 r and s, RFC 7518 §3.4

inline const unsigned char* bytes_of(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

// A JWS ES256 signature is r||s, each a 32-byte big-endian integer (RFC 7518 §3.4), while
// OpenSSL verifies the DER SEQUENCE of two INTEGERs (RFC 3279 §2.2.3).
struct DerSignature {
    std::array<unsigned char, 80> bytes{};  // DER of two 33-byte INTEGERs is at most 72
    std::size_t size = 0;
};
[[nodiscard]] std::optional<DerSignature> p256_signature_to_der(std::string_view raw);

// Verifies a JWS signature with a JWKS key, the algorithm fixed by the key (RFC 7518 §3.3,
// §3.4; RFC 8037 §3.1 for EdDSA, which hashes internally: no digest is named).
[[nodiscard]] bool jwk_signature_matches(const Jwk& jwk, std::string_view signing_input,
                                         std::string_view signature);

// HS256 (RFC 7518 §3.2) with `secret`, compared in constant time. `key_id` names the key: each
// thread keeps one context keyed for the key it served last.
[[nodiscard]] bool hmac_sha256_matches(EVP_MAC& mac_algorithm, std::uint64_t key_id, std::string_view secret,
                                       std::string_view signing_input, std::string_view signature);

// RS256 or ES256 (DER signature) with a public key: a SHA-256 digest signature.
[[nodiscard]] bool sha256_signature_matches(EVP_PKEY& key, std::string_view signing_input,
                                            const unsigned char* signature, std::size_t signature_size);

}  // namespace nudge::auth::jws
