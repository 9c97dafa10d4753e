// parse_jwks and JwtVerifier with a KeySet: keys generated here with OpenSSL, exported as
// JWKs, tokens signed with the private halves.
#include "auth/jwks.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "auth/jwt_verifier.hpp"
#include "common/base64.hpp"

namespace nudge::auth {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey rsa(unsigned bits = 2048) {
    return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}
Pkey p256() { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }
Pkey ed25519() { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); }

std::string bn_param(EVP_PKEY* key, const char* name) {
    BIGNUM* bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(bn);
    return base64url_encode(bytes);
}

// The public JWK of `key` (with `extra` JSON members appended).
std::string jwk(EVP_PKEY* key, const std::string& kid, const std::string& extra = "") {
    std::string out = R"({"kid":")" + kid + "\"";
    if (EVP_PKEY_is_a(key, "RSA") == 1) {
        out += R"(,"kty":"RSA","n":")" + bn_param(key, OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" +
               bn_param(key, OSSL_PKEY_PARAM_RSA_E) + "\"";
    } else if (EVP_PKEY_is_a(key, "EC") == 1) {
        std::array<unsigned char, 65> point{};
        std::size_t size = 0;
        EXPECT_EQ(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                                  point.size(), &size), 1);
        const std::string_view raw(reinterpret_cast<const char*>(point.data()) + 1, 64);
        out += R"(,"kty":"EC","crv":"P-256","x":")" + base64url_encode(raw.substr(0, 32)) +
               R"(","y":")" + base64url_encode(raw.substr(32)) + "\"";
    } else {
        std::array<unsigned char, 32> raw{};
        std::size_t size = raw.size();
        EXPECT_EQ(EVP_PKEY_get_raw_public_key(key, raw.data(), &size), 1);
        out += R"(,"kty":"OKP","crv":"Ed25519","x":")" +
               base64url_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), size)) + "\"";
    }
    return out + extra + "}";
}

// A JWS signed with `key` as `alg` (ES256 signatures converted from DER to r||s).
std::string sign(EVP_PKEY* key, std::string_view alg, const std::string& kid,
                 const std::string& claims) {
    const std::string input = base64url_encode(R"({"alg":")" + std::string(alg) + R"(","kid":")" +
                                               kid + R"(","jku":"http://127.0.0.1:1/evil"})") +
                              "." + base64url_encode(claims);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool eddsa = alg == "EdDSA";
    EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, eddsa ? nullptr : EVP_sha256(), nullptr, key), 1);
    std::size_t size = 0;
    EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &size,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()), 1);
    std::string signature(size, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()), 1);
    signature.resize(size);
    EVP_MD_CTX_free(ctx);
    if (alg == "ES256") {
        const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
        ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
        std::string raw(64, '\0');
        BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
        ECDSA_SIG_free(sig);
        signature = raw;
    }
    return input + "." + base64url_encode(signature);
}

TEST(ParseJwks, KeysOfEachTypeWithTheAlgorithmTheyPin) {
    const Pkey a = rsa(), b = p256(), c = ed25519();
    auto parsed = parse_jwks(R"({"keys":[)" + jwk(a.get(), "a", R"(,"alg":"RS256","use":"sig")") +
                             "," + jwk(b.get(), "b") + "," + jwk(c.get(), "c", R"(,"alg":"EdDSA")") + "]}");
    ASSERT_TRUE(parsed) << parsed.error();
    ASSERT_EQ(parsed->keys.size(), 3U);
    EXPECT_EQ(parsed->keys[0].kid, "a");
    EXPECT_EQ(parsed->keys[0].algorithm, JwkAlgorithm::kRs256);
    EXPECT_EQ(parsed->keys[1].algorithm, JwkAlgorithm::kEs256);
    EXPECT_EQ(parsed->keys[2].algorithm, JwkAlgorithm::kEdDsa);
    EXPECT_TRUE(parsed->skipped.empty());
}

TEST(ParseJwks, UnusableKeysAreSkippedWithAReasonAndTheRestKept) {
    const Pkey good = p256(), small = rsa(1024), other = rsa();
    auto parsed = parse_jwks(
        R"({"keys":[)" + jwk(good.get(), "ok") + "," + jwk(small.get(), "small") + "," +
        jwk(other.get(), "liar", R"(,"alg":"HS256")") + "," + jwk(other.get(), "enc", R"(,"use":"enc")") +
        "," + jwk(other.get(), "ok") + R"(,{"kty":"oct","kid":"sym","k":"c2VjcmV0"})" +
        R"(,{"kty":"EC","kid":"bad","crv":"P-256","x":"AAAA","y":"AAAA"})" +
        R"(,{"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"})" +
        R"(,{"kty":"RSA","n":"AQAB","e":"AQAB"},7,{"kty":"RSA","kid":"priv","n":"AQAB","e":"AQAB","d":"AQAB"}]})");
    ASSERT_TRUE(parsed) << parsed.error();
    ASSERT_EQ(parsed->keys.size(), 1U);
    EXPECT_EQ(parsed->keys[0].kid, "ok");
    ASSERT_EQ(parsed->skipped.size(), 10U);
    EXPECT_NE(parsed->skipped[0].find("shorter than 2048"), std::string::npos) << parsed->skipped[0];
    EXPECT_NE(parsed->skipped[1].find("alg HS256 does not match"), std::string::npos);
    EXPECT_NE(parsed->skipped[2].find("use is enc"), std::string::npos);
    EXPECT_NE(parsed->skipped[3].find("duplicate kid"), std::string::npos);
    EXPECT_NE(parsed->skipped[4].find("unsupported kty oct"), std::string::npos);
    EXPECT_NE(parsed->skipped[9].find("private key"), std::string::npos);
}

TEST(ParseJwks, DocumentsWithoutUsableKeysAreErrors) {
    for (std::string_view bad : {"", "[]", "{}", R"({"keys":{}})", R"({"keys":[]})",
                                 R"({"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}]})", "{\"keys\":["}) {
        EXPECT_FALSE(parse_jwks(bad)) << bad;
    }
    EXPECT_FALSE(parse_jwks(std::string(kMaxJwksBytes + 1, ' ')));
}

TEST(JwksVerifier, TokensVerifyByKidWithTheKeysAlgorithmOnly) {
    const Pkey a = rsa(), b = p256(), c = ed25519();
    auto keys = std::make_shared<KeySet>();
    keys->replace(parse_jwks(R"({"keys":[)" + jwk(a.get(), "a") + "," + jwk(b.get(), "b") + "," +
                             jwk(c.get(), "c") + "]}")
                      ->keys);
    int unknown = 0;
    keys->on_unknown_kid([&unknown] { ++unknown; });
    JwtConfig config;
    config.jwks = keys;
    auto verifier = JwtVerifier::create(config);
    ASSERT_TRUE(verifier) << verifier.error();
    const auto now = std::chrono::system_clock::now();
    const std::string claims = R"({"sub":"1"})";
    for (auto [key, alg, kid] : {std::tuple{a.get(), "RS256", "a"}, std::tuple{b.get(), "ES256", "b"},
                                 std::tuple{c.get(), "EdDSA", "c"}}) {
        auto identity = verifier->verify(sign(key, alg, kid, claims), now);  // jku is ignored
        ASSERT_TRUE(identity) << kid << ": " << reason(identity.error());
        EXPECT_EQ(identity->user_id, "1");
    }
    // The key pins the algorithm; another key's signature does not verify.
    EXPECT_EQ(verifier->verify(sign(a.get(), "RS256", "b", claims), now).error(),
              AuthError::kAlgorithmNotAllowed);
    EXPECT_EQ(verifier->verify(sign(b.get(), "ES256", "c", claims), now).error(),
              AuthError::kAlgorithmNotAllowed);
    const Pkey stranger = ed25519();
    EXPECT_EQ(verifier->verify(sign(stranger.get(), "EdDSA", "c", claims), now).error(),
              AuthError::kBadSignature);
    EXPECT_EQ(unknown, 0);
    EXPECT_EQ(verifier->verify(sign(stranger.get(), "EdDSA", "z", claims), now).error(),
              AuthError::kUnknownKid);
    EXPECT_EQ(unknown, 1);
    EXPECT_EQ(reason(AuthError::kUnknownKid), "unknown_kid");
    // A rotated set: kid z now verifies, a is gone.
    keys->replace(parse_jwks(R"({"keys":[)" + jwk(stranger.get(), "z") + "]}")->keys);
    EXPECT_TRUE(verifier->verify(sign(stranger.get(), "EdDSA", "z", claims), now));
    EXPECT_EQ(verifier->verify(sign(a.get(), "RS256", "a", claims), now).error(), AuthError::kUnknownKid);
}

}  // namespace
}  // namespace nudge::auth
