#include "auth/jws_signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

namespace nudge::auth::jws {

std::optional<DerSignature> p256_signature_to_der(std::string_view raw) {
    if (raw.size() != 2 * kP256ScalarBytes) return std::nullopt;
    BignumPtr r(BN_bin2bn(bytes_of(raw), static_cast<int>(kP256ScalarBytes), nullptr));
    BignumPtr s(
        BN_bin2bn(bytes_of(raw) + kP256ScalarBytes, static_cast<int>(kP256ScalarBytes), nullptr));
    EcdsaSigPtr signature(ECDSA_SIG_new());
    if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
        return std::nullopt;
    }
    // ECDSA_SIG_set0 took ownership of r and s.
    static_cast<void>(r.release());
    static_cast<void>(s.release());
    DerSignature der;
    const int needed = i2d_ECDSA_SIG(signature.get(), nullptr);
    if (needed <= 0 || static_cast<std::size_t>(needed) > der.bytes.size()) return std::nullopt;
    unsigned char* out = der.bytes.data();
    const int written = i2d_ECDSA_SIG(signature.get(), &out);
    if (written != needed) return std::nullopt;
    der.size = static_cast<std::size_t>(written);
    return der;
}

// Verifies a JWS signature with a JWKS key, the algorithm fixed by the key (RFC 7518 §3.3,
// §3.4; RFC 8037 §3.1 for EdDSA, which hashes internally: no digest is named).
bool jwk_signature_matches(const Jwk& jwk, std::string_view signing_input,
                           std::string_view signature) {
    const unsigned char* sig = bytes_of(signature);
    std::size_t sig_size = signature.size();
    std::optional<DerSignature> der;
    if (jwk.algorithm == JwkAlgorithm::kEs256) {
        der = p256_signature_to_der(signature);
        if (!der) return false;
        sig = der->bytes.data();
        sig_size = der->size;
    }
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    const int init = jwk.algorithm == JwkAlgorithm::kEdDsa
                         ? EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, jwk.key.get())
                         : EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr,
                                                   jwk.key.get(), nullptr);
    const bool ok = init == 1 && EVP_DigestVerify(ctx.get(), sig, sig_size, bytes_of(signing_input),
                                                  signing_input.size()) == 1;
    if (!ok) ERR_clear_error();
    return ok;
}

bool hmac_sha256_matches(EVP_MAC& mac_algorithm, std::uint64_t key_id, std::string_view secret,
                         std::string_view signing_input, std::string_view signature) {
    if (signature.size() != kSha256Bytes) return false;
    // Each thread keeps one HMAC context keyed for the verifier it served last and only
    // re-initialises it per token (EVP_MAC_init without a key keeps the key): a fresh context
    // per token costs OpenSSL about fifteen short-lived allocations, which under a connect
    // storm interleave with the connections' long-lived ones and fragment the heap.
    struct KeyedMac {
        std::uint64_t key_id = 0;
        MacCtxPtr ctx;
    };
    thread_local KeyedMac cached;
    if (cached.key_id == key_id && cached.ctx) {
        if (EVP_MAC_init(cached.ctx.get(), nullptr, 0, nullptr) != 1) return false;
    } else {
        cached.key_id = 0;
        cached.ctx.reset(EVP_MAC_CTX_new(&mac_algorithm));
        if (!cached.ctx) return false;
        char digest[] = "SHA256";
        const std::array<OSSL_PARAM, 2> params = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end()};
        if (EVP_MAC_init(cached.ctx.get(), bytes_of(secret), secret.size(), params.data()) != 1) {
            return false;
        }
        cached.key_id = key_id;
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    std::size_t mac_size = 0;
    if (EVP_MAC_update(cached.ctx.get(), bytes_of(signing_input), signing_input.size()) != 1 ||
        EVP_MAC_final(cached.ctx.get(), mac.data(), &mac_size, mac.size()) != 1 ||
        mac_size != kSha256Bytes) {
        return false;
    }
    // Constant time, so the comparison leaks nothing about how many bytes matched.
    return CRYPTO_memcmp(mac.data(), signature.data(), kSha256Bytes) == 0;
}

bool sha256_signature_matches(EVP_PKEY& key, std::string_view signing_input, const unsigned char* signature,
                              std::size_t signature_size) {
    // RS256 is RSASSA-PKCS1-v1_5 (OpenSSL's default RSA padding), ES256 is ECDSA; both over
    // SHA-256 (RFC 7518 §3.3, §3.4).
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr,
                                        &key, nullptr) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx.get(), signature, signature_size, bytes_of(signing_input),
                            signing_input.size()) == 1;
}

}  // namespace nudge::auth::jws
