#include "auth/jwt_verifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <boost/json.hpp>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/base64.hpp"

// Tokens are minted here with OpenSSL and real keys (generated once per run), so every
// test exercises the same code path a real identity provider's token would.

namespace nudge::auth {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

template <auto FreeFn>
struct OpenSslDeleter {
    template <class T>
    void operator()(T* object) const noexcept {
        FreeFn(object);
    }
};
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<&BIO_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<&ECDSA_SIG_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<&EVP_MD_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<&EVP_PKEY_free>>;

constexpr std::string_view kSecret = "correct horse battery staple, thirty-two bytes+";
constexpr std::chrono::system_clock::time_point kNow{seconds(1'700'000'000)};
constexpr std::int64_t kNowSeconds = 1'700'000'000;

PkeyPtr generate_rsa(std::size_t bits) {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
    EXPECT_TRUE(key);
    return key;
}

PkeyPtr generate_ec(const char* curve) {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    EXPECT_TRUE(key);
    return key;
}

EVP_PKEY* rsa_key() {
    static const PkeyPtr key = generate_rsa(2048);
    return key.get();
}

EVP_PKEY* ec_key() {
    static const PkeyPtr key = generate_ec("P-256");
    return key.get();
}

std::string public_pem(EVP_PKEY* key) {
    const BioPtr bio(BIO_new(BIO_s_mem()));
    EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(size)};
}

std::string_view as_chars(const unsigned char* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

const unsigned char* as_bytes(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

// A signer turns the JWS signing input into the raw signature bytes.
using Signer = std::function<std::string(std::string_view)>;

Signer hs256_signer(std::string secret) {
    return [secret = std::move(secret)](std::string_view input) {
        std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
        std::size_t size = 0;
        EXPECT_NE(
            EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                      as_bytes(input), input.size(), mac.data(), mac.size(), &size),
            nullptr);
        return std::string(as_chars(mac.data(), size));
    };
}

// The DER signature EVP_DigestSign produces (PKCS#1 v1.5 for RSA, an ECDSA_SIG for EC).
std::string digest_sign(EVP_PKEY* key, std::string_view input) {
    const MdCtxPtr ctx(EVP_MD_CTX_new());
    EXPECT_EQ(EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr),
              1);
    std::size_t size = 0;
    EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &size, as_bytes(input), input.size()), 1);
    std::string signature(size, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                             as_bytes(input), input.size()),
              1);
    signature.resize(size);
    return signature;
}

Signer rs256_signer() {
    return [](std::string_view input) { return digest_sign(rsa_key(), input); };
}

// JWS ES256 wants r||s, 32 bytes each (RFC 7518 §3.4), not OpenSSL's DER.
std::string der_to_raw(std::string_view der) {
    const unsigned char* p = as_bytes(der);
    const EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    EXPECT_TRUE(sig);
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::array<unsigned char, 64> raw{};
    EXPECT_EQ(BN_bn2binpad(r, raw.data(), 32), 32);
    EXPECT_EQ(BN_bn2binpad(s, raw.data() + 32, 32), 32);
    return std::string(as_chars(raw.data(), raw.size()));
}

Signer es256_signer() {
    return [](std::string_view input) { return der_to_raw(digest_sign(ec_key(), input)); };
}

std::string mint_raw(std::string_view header_json, std::string_view payload_json,
                     const Signer& signer) {
    std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
    const std::string signature = signer(input);
    return input + "." + base64url_encode(signature);
}

std::string mint(std::string_view alg, const boost::json::object& claims, const Signer& signer) {
    const boost::json::object header{{"alg", boost::json::string_view(alg.data(), alg.size())},
                                     {"typ", "JWT"}};
    return mint_raw(boost::json::serialize(header), boost::json::serialize(claims), signer);
}

std::string hs256(const boost::json::object& claims) {
    return mint("HS256", claims, hs256_signer(std::string(kSecret)));
}

boost::json::object valid_claims() { return {{"sub", "alice"}, {"exp", kNowSeconds + 3600}}; }

JwtConfig secret_config(std::string secret = std::string(kSecret)) {
    JwtConfig config;
    config.secret = std::move(secret);
    return config;
}

JwtConfig key_config(std::string pem) {
    JwtConfig config;
    config.public_key_pem = std::move(pem);
    return config;
}

JwtVerifier make_verifier(JwtConfig config) {
    auto verifier = JwtVerifier::create(std::move(config));
    EXPECT_TRUE(verifier.has_value()) << verifier.error();
    return std::move(*verifier);
}

JwtVerifier hs256_verifier() { return make_verifier(secret_config()); }

JwtVerifier rs256_verifier() { return make_verifier(key_config(public_pem(rsa_key()))); }

JwtVerifier es256_verifier() { return make_verifier(key_config(public_pem(ec_key()))); }

AuthError error_of(const Result<Identity, AuthError>& result) {
    EXPECT_FALSE(result.has_value());
    return result.has_value() ? AuthError::kMissingToken : result.error();
}

std::string create_error(JwtConfig config) {
    auto verifier = JwtVerifier::create(std::move(config));
    EXPECT_FALSE(verifier.has_value());
    return verifier.has_value() ? std::string() : verifier.error();
}

// --- valid tokens -------------------------------------------------------------------------

TEST(JwtVerifierValid, Hs256) {
    const auto identity = hs256_verifier().verify(hs256(valid_claims()), kNow);
    ASSERT_TRUE(identity.has_value()) << reason(identity.error());
    EXPECT_EQ(identity->user_id, "alice");
    EXPECT_TRUE(identity->rooms.empty());
    EXPECT_EQ(identity->expires_at, kNowSeconds + 3600);
}

TEST(JwtVerifierValid, Rs256) {
    const auto identity =
        rs256_verifier().verify(mint("RS256", valid_claims(), rs256_signer()), kNow);
    ASSERT_TRUE(identity.has_value()) << reason(identity.error());
    EXPECT_EQ(identity->user_id, "alice");
    EXPECT_EQ(identity->expires_at, kNowSeconds + 3600);
}

TEST(JwtVerifierValid, Es256) {
    const auto identity =
        es256_verifier().verify(mint("ES256", valid_claims(), es256_signer()), kNow);
    ASSERT_TRUE(identity.has_value()) << reason(identity.error());
    EXPECT_EQ(identity->user_id, "alice");
    EXPECT_EQ(identity->expires_at, kNowSeconds + 3600);
}

TEST(JwtVerifierValid, TypIsOptionalAndExpIsOptional) {
    const std::string token =
        mint_raw(R"({"alg":"HS256"})", R"({"sub":"bob"})", hs256_signer(std::string(kSecret)));
    const auto identity = hs256_verifier().verify(token, kNow);
    ASSERT_TRUE(identity.has_value()) << reason(identity.error());
    EXPECT_EQ(identity->user_id, "bob");
    EXPECT_EQ(identity->expires_at, std::nullopt);
}

TEST(JwtVerifierValid, SurvivesAMove) {
    JwtVerifier first = es256_verifier();
    JwtVerifier second = std::move(first);
    const auto identity = second.verify(mint("ES256", valid_claims(), es256_signer()), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->user_id, "alice");
}

TEST(JwtVerifierValid, ConcurrentVerifiesFromManyThreads) {
    const JwtVerifier hs = hs256_verifier();
    const JwtVerifier rs = rs256_verifier();
    const JwtVerifier es = es256_verifier();
    const std::string hs_token = hs256(valid_claims());
    const std::string rs_token = mint("RS256", valid_claims(), rs256_signer());
    const std::string es_token = mint("ES256", valid_claims(), es256_signer());
    const std::string bad_token = hs_token.substr(0, hs_token.size() - 2) + "AA";
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    threads.reserve(failures.size());
    for (int& thread_failures : failures) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                if (!hs.verify(hs_token, kNow)) ++thread_failures;
                if (!rs.verify(rs_token, kNow)) ++thread_failures;
                if (!es.verify(es_token, kNow)) ++thread_failures;
                if (hs.verify(bad_token, kNow)) ++thread_failures;
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    for (const int count : failures) EXPECT_EQ(count, 0);
}

// Each thread keeps the HMAC context of the verifier it used last: two verifiers with
// different secrets, used in turn on one thread, must each keep their own key.
TEST(JwtVerifierValid, TwoHs256VerifiersInTurnOnOneThread) {
    const JwtVerifier other = make_verifier(secret_config("another secret"));
    const JwtVerifier mine = hs256_verifier();
    const std::string my_token = hs256(valid_claims());
    const std::string other_token = mint("HS256", valid_claims(), hs256_signer("another secret"));
    for (int round = 0; round < 3; ++round) {
        EXPECT_TRUE(mine.verify(my_token, kNow).has_value());
        EXPECT_EQ(error_of(other.verify(my_token, kNow)), AuthError::kBadSignature);
        EXPECT_TRUE(other.verify(other_token, kNow).has_value());
        EXPECT_EQ(error_of(mine.verify(other_token, kNow)), AuthError::kBadSignature);
    }
}

// --- signatures and algorithm pinning ------------------------------------------------------

TEST(JwtVerifierSignature, WrongSecret) {
    const std::string token = mint("HS256", valid_claims(), hs256_signer("another secret"));
    EXPECT_EQ(error_of(hs256_verifier().verify(token, kNow)), AuthError::kBadSignature);
}

// Swaps in a different payload while keeping the original header and signature.
std::string with_payload(const std::string& token, const boost::json::object& claims) {
    const std::size_t first = token.find('.');
    const std::size_t second = token.find('.', first + 1);
    return token.substr(0, first) + "." + base64url_encode(boost::json::serialize(claims)) +
           token.substr(second);
}

TEST(JwtVerifierSignature, TamperedPayload) {
    boost::json::object forged = valid_claims();
    forged["sub"] = "admin";
    EXPECT_EQ(error_of(hs256_verifier().verify(with_payload(hs256(valid_claims()), forged), kNow)),
              AuthError::kBadSignature);
    EXPECT_EQ(error_of(rs256_verifier().verify(
                  with_payload(mint("RS256", valid_claims(), rs256_signer()), forged), kNow)),
              AuthError::kBadSignature);
    EXPECT_EQ(error_of(es256_verifier().verify(
                  with_payload(mint("ES256", valid_claims(), es256_signer()), forged), kNow)),
              AuthError::kBadSignature);
}

TEST(JwtVerifierSignature, FlippedSignatureByte) {
    const auto flip_last_signature_byte = [](std::string_view alg, const Signer& signer) {
        return mint(alg, valid_claims(), [&signer](std::string_view input) {
            std::string signature = signer(input);
            signature.back() = static_cast<char>(signature.back() ^ 0x01);
            return signature;
        });
    };
    EXPECT_EQ(error_of(hs256_verifier().verify(
                  flip_last_signature_byte("HS256", hs256_signer(std::string(kSecret))), kNow)),
              AuthError::kBadSignature);
    EXPECT_EQ(
        error_of(rs256_verifier().verify(flip_last_signature_byte("RS256", rs256_signer()), kNow)),
        AuthError::kBadSignature);
    EXPECT_EQ(
        error_of(es256_verifier().verify(flip_last_signature_byte("ES256", es256_signer()), kNow)),
        AuthError::kBadSignature);
}

TEST(JwtVerifierSignature, WrongSignatureLength) {
    const auto truncated = [](std::string_view input) {
        return hs256_signer(std::string(kSecret))(input).substr(0, 31);
    };
    EXPECT_EQ(error_of(hs256_verifier().verify(mint("HS256", valid_claims(), truncated), kNow)),
              AuthError::kBadSignature);
    // An ES256 signature must be raw r||s; OpenSSL's DER form is refused.
    const auto der = [](std::string_view input) { return digest_sign(ec_key(), input); };
    EXPECT_EQ(error_of(es256_verifier().verify(mint("ES256", valid_claims(), der), kNow)),
              AuthError::kBadSignature);
    const auto empty = [](std::string_view) { return std::string(); };
    EXPECT_EQ(error_of(rs256_verifier().verify(mint("RS256", valid_claims(), empty), kNow)),
              AuthError::kBadSignature);
}

TEST(JwtVerifierSignature, EcSignatureWithZeroScalarsIsRejected) {
    const auto zeros = [](std::string_view) { return std::string(64, '\0'); };
    EXPECT_EQ(error_of(es256_verifier().verify(mint("ES256", valid_claims(), zeros), kNow)),
              AuthError::kBadSignature);
}

TEST(JwtVerifierSignature, AlgNoneWithEmptySignature) {
    const std::string token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                              base64url_encode(R"({"sub":"alice"})") + ".";
    EXPECT_EQ(error_of(hs256_verifier().verify(token, kNow)), AuthError::kAlgorithmNotAllowed);
    EXPECT_EQ(error_of(rs256_verifier().verify(token, kNow)), AuthError::kAlgorithmNotAllowed);
    EXPECT_EQ(error_of(es256_verifier().verify(token, kNow)), AuthError::kAlgorithmNotAllowed);
}

TEST(JwtVerifierSignature, Hs256SignedWithRsaPublicKeyPemIsRejectedByRs256Verifier) {
    // The classic confusion attack: the public key is public, so an attacker can HMAC with it.
    const std::string token = mint("HS256", valid_claims(), hs256_signer(public_pem(rsa_key())));
    EXPECT_EQ(error_of(rs256_verifier().verify(token, kNow)), AuthError::kAlgorithmNotAllowed);
}

TEST(JwtVerifierSignature, Rs256TokenToEs256Verifier) {
    const std::string token = mint("RS256", valid_claims(), rs256_signer());
    EXPECT_EQ(error_of(es256_verifier().verify(token, kNow)), AuthError::kAlgorithmNotAllowed);
}

TEST(JwtVerifierSignature, Es256TokenToHs256Verifier) {
    const std::string token = mint("ES256", valid_claims(), es256_signer());
    EXPECT_EQ(error_of(hs256_verifier().verify(token, kNow)), AuthError::kAlgorithmNotAllowed);
}

TEST(JwtVerifierSignature, AlgIsCaseSensitiveAndOtherAlgorithmsAreRefused) {
    const Signer signer = hs256_signer(std::string(kSecret));
    EXPECT_EQ(error_of(hs256_verifier().verify(mint("hs256", valid_claims(), signer), kNow)),
              AuthError::kAlgorithmNotAllowed);
    EXPECT_EQ(error_of(hs256_verifier().verify(mint("HS512", valid_claims(), signer), kNow)),
              AuthError::kAlgorithmNotAllowed);
    EXPECT_EQ(error_of(rs256_verifier().verify(mint("PS256", valid_claims(), signer), kNow)),
              AuthError::kAlgorithmNotAllowed);
}

TEST(JwtVerifierSignature, MissingOrNonStringAlgIsMalformed) {
    const Signer signer = hs256_signer(std::string(kSecret));
    EXPECT_EQ(error_of(hs256_verifier().verify(
                  mint_raw(R"({"typ":"JWT"})", R"({"sub":"a"})", signer), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(error_of(hs256_verifier().verify(mint_raw(R"({"alg":256})", R"({"sub":"a"})", signer),
                                               kNow)),
              AuthError::kMalformedToken);
}

TEST(JwtVerifierSignature, CriticalHeaderExtensionsAreRefused) {
    const std::string token = mint_raw(R"({"alg":"HS256","crit":["b64"],"b64":false})",
                                       R"({"sub":"a"})", hs256_signer(std::string(kSecret)));
    EXPECT_EQ(error_of(hs256_verifier().verify(token, kNow)), AuthError::kMalformedToken);
}

// --- exp and nbf ---------------------------------------------------------------------------

boost::json::object sub_with(std::string_view claim, boost::json::value value) {
    boost::json::object claims{{"sub", "alice"}};
    claims[claim] = std::move(value);
    return claims;
}

TEST(JwtVerifierTime, ExpiredBeyondLeeway) {
    JwtConfig config = secret_config();
    config.leeway = seconds(30);
    const JwtVerifier verifier = make_verifier(std::move(config));
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("exp", kNowSeconds - 31)), kNow)),
              AuthError::kExpired);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("exp", kNowSeconds - 30.5)), kNow)),
              AuthError::kExpired);
}

TEST(JwtVerifierTime, ExpiredWithinLeeway) {
    JwtConfig config = secret_config();
    config.leeway = seconds(30);
    const JwtVerifier verifier = make_verifier(std::move(config));
    const auto at_edge = verifier.verify(hs256(sub_with("exp", kNowSeconds - 30)), kNow);
    ASSERT_TRUE(at_edge.has_value());
    EXPECT_EQ(at_edge->expires_at, kNowSeconds - 30);
    EXPECT_TRUE(verifier.verify(hs256(sub_with("exp", kNowSeconds - 1)), kNow).has_value());
}

TEST(JwtVerifierTime, ZeroLeeway) {
    JwtConfig config = secret_config();
    config.leeway = seconds(0);
    const JwtVerifier verifier = make_verifier(std::move(config));
    EXPECT_TRUE(verifier.verify(hs256(sub_with("exp", kNowSeconds)), kNow).has_value());
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("exp", kNowSeconds - 1)), kNow)),
              AuthError::kExpired);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("nbf", kNowSeconds + 1)), kNow)),
              AuthError::kNotYetValid);
}

TEST(JwtVerifierTime, FractionalExpIsRoundedDown) {
    const auto identity =
        hs256_verifier().verify(hs256(sub_with("exp", kNowSeconds + 10.75)), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->expires_at, kNowSeconds + 10);
}

TEST(JwtVerifierTime, HugeExpIsClamped) {
    const auto identity = hs256_verifier().verify(hs256(sub_with("exp", 1e300)), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->expires_at, std::numeric_limits<std::int64_t>::max());
    const auto unsigned_exp = hs256_verifier().verify(
        hs256(sub_with("exp", std::numeric_limits<std::uint64_t>::max())), kNow);
    ASSERT_TRUE(unsigned_exp.has_value());
    EXPECT_EQ(unsigned_exp->expires_at, std::numeric_limits<std::int64_t>::max());
}

TEST(JwtVerifierTime, NotYetValidBeyondLeeway) {
    EXPECT_EQ(error_of(hs256_verifier().verify(hs256(sub_with("nbf", kNowSeconds + 31)), kNow)),
              AuthError::kNotYetValid);
}

TEST(JwtVerifierTime, NotYetValidWithinLeeway) {
    EXPECT_TRUE(
        hs256_verifier().verify(hs256(sub_with("nbf", kNowSeconds + 30)), kNow).has_value());
    EXPECT_TRUE(
        hs256_verifier().verify(hs256(sub_with("nbf", kNowSeconds - 1000)), kNow).has_value());
}

TEST(JwtVerifierTime, NonNumericExpOrNbfIsMalformed) {
    const JwtVerifier verifier = hs256_verifier();
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("exp", "1700003600")), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("exp", nullptr)), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("exp", true)), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("nbf", "0")), kNow)),
              AuthError::kMalformedToken);
}

// --- iss and aud ---------------------------------------------------------------------------

TEST(JwtVerifierIssuer, MatchMismatchMissing) {
    JwtConfig config = secret_config();
    config.issuer = "https://id.example";
    const JwtVerifier verifier = make_verifier(std::move(config));
    EXPECT_TRUE(verifier.verify(hs256(sub_with("iss", "https://id.example")), kNow).has_value());
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("iss", "https://id.example/")), kNow)),
              AuthError::kBadIssuer);
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", "alice"}}), kNow)), AuthError::kBadIssuer);
    EXPECT_EQ(error_of(verifier.verify(
                  hs256(sub_with("iss", boost::json::array{"https://id.example"})), kNow)),
              AuthError::kBadIssuer);
}

TEST(JwtVerifierIssuer, IgnoredWhenNotConfigured) {
    EXPECT_TRUE(hs256_verifier().verify(hs256(sub_with("iss", "anyone")), kNow).has_value());
}

TEST(JwtVerifierAudience, StringMatchAndMismatch) {
    JwtConfig config = secret_config();
    config.audience = "hub";
    const JwtVerifier verifier = make_verifier(std::move(config));
    EXPECT_TRUE(verifier.verify(hs256(sub_with("aud", "hub")), kNow).has_value());
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("aud", "hubs")), kNow)),
              AuthError::kBadAudience);
}

TEST(JwtVerifierAudience, ArrayMatchAndMismatch) {
    JwtConfig config = secret_config();
    config.audience = "hub";
    const JwtVerifier verifier = make_verifier(std::move(config));
    EXPECT_TRUE(verifier.verify(hs256(sub_with("aud", boost::json::array{"api", 7, "hub"})), kNow)
                    .has_value());
    EXPECT_EQ(
        error_of(verifier.verify(hs256(sub_with("aud", boost::json::array{"api", "web"})), kNow)),
        AuthError::kBadAudience);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("aud", boost::json::array{})), kNow)),
              AuthError::kBadAudience);
}

TEST(JwtVerifierAudience, MissingOrWrongType) {
    JwtConfig config = secret_config();
    config.audience = "hub";
    const JwtVerifier verifier = make_verifier(std::move(config));
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", "alice"}}), kNow)), AuthError::kBadAudience);
    EXPECT_EQ(
        error_of(verifier.verify(hs256(sub_with("aud", boost::json::object{{"hub", true}})), kNow)),
        AuthError::kBadAudience);
}

TEST(JwtVerifierAudience, IgnoredWhenNotConfigured) {
    EXPECT_TRUE(hs256_verifier().verify(hs256(sub_with("aud", "elsewhere")), kNow).has_value());
}

// --- user claim ----------------------------------------------------------------------------

TEST(JwtVerifierUser, StringSub) {
    const auto identity = hs256_verifier().verify(hs256({{"sub", "user-42"}}), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->user_id, "user-42");
}

TEST(JwtVerifierUser, IntegerSubIsRenderedInDecimal) {
    const JwtVerifier verifier = hs256_verifier();
    const auto positive = verifier.verify(hs256({{"sub", 1234567890123}}), kNow);
    ASSERT_TRUE(positive.has_value());
    EXPECT_EQ(positive->user_id, "1234567890123");
    const auto negative = verifier.verify(hs256({{"sub", -7}}), kNow);
    ASSERT_TRUE(negative.has_value());
    EXPECT_EQ(negative->user_id, "-7");
    const auto large =
        verifier.verify(hs256({{"sub", std::numeric_limits<std::uint64_t>::max()}}), kNow);
    ASSERT_TRUE(large.has_value());
    EXPECT_EQ(large->user_id, "18446744073709551615");
}

TEST(JwtVerifierUser, MissingEmptyOrWrongType) {
    const JwtVerifier verifier = hs256_verifier();
    EXPECT_EQ(error_of(verifier.verify(hs256({{"exp", kNowSeconds + 60}}), kNow)),
              AuthError::kMissingUserClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", ""}}), kNow)), AuthError::kMissingUserClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", boost::json::object{{"id", 1}}}}), kNow)),
              AuthError::kMissingUserClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", 1.5}}), kNow)), AuthError::kMissingUserClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", true}}), kNow)),
              AuthError::kMissingUserClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", nullptr}}), kNow)),
              AuthError::kMissingUserClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", boost::json::array{"a"}}}), kNow)),
              AuthError::kMissingUserClaim);
}

TEST(JwtVerifierUser, CustomClaim) {
    JwtConfig config = secret_config();
    config.user_claim = "uid";
    const JwtVerifier verifier = make_verifier(std::move(config));
    const auto identity = verifier.verify(hs256({{"sub", "ignored"}, {"uid", "carol"}}), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->user_id, "carol");
    EXPECT_EQ(error_of(verifier.verify(hs256({{"sub", "alice"}}), kNow)),
              AuthError::kMissingUserClaim);
}

// --- rooms ---------------------------------------------------------------------------------

TEST(JwtVerifierRooms, ValidInTokenOrder) {
    const std::string longest(256, 'r');
    const auto identity = hs256_verifier().verify(
        hs256(sub_with("rooms", boost::json::array{"team:7", "doc:1", longest})), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->rooms, (std::vector<std::string>{"team:7", "doc:1", longest}));
}

TEST(JwtVerifierRooms, EmptyArrayGivesNoRooms) {
    const auto identity =
        hs256_verifier().verify(hs256(sub_with("rooms", boost::json::array{})), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_TRUE(identity->rooms.empty());
}

TEST(JwtVerifierRooms, Invalid) {
    const JwtVerifier verifier = hs256_verifier();
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("rooms", "team:7")), kNow)),
              AuthError::kBadRoomsClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("rooms", nullptr)), kNow)),
              AuthError::kBadRoomsClaim);
    EXPECT_EQ(
        error_of(verifier.verify(hs256(sub_with("rooms", boost::json::array{"a", ""})), kNow)),
        AuthError::kBadRoomsClaim);
    EXPECT_EQ(error_of(verifier.verify(hs256(sub_with("rooms", boost::json::array{"a", 1})), kNow)),
              AuthError::kBadRoomsClaim);
    EXPECT_EQ(error_of(verifier.verify(
                  hs256(sub_with("rooms", boost::json::array{std::string(257, 'r')})), kNow)),
              AuthError::kBadRoomsClaim);
    // Written as text: `array{array{"a"}}` is a copy, not nesting, for some compilers.
    EXPECT_EQ(error_of(verifier.verify(
                  mint_raw(R"({"alg":"HS256"})", R"({"sub":"alice","rooms":[["a"]]})",
                           hs256_signer(std::string(kSecret))),
                  kNow)),
              AuthError::kBadRoomsClaim);
}

// --- malformed input -----------------------------------------------------------------------

TEST(JwtVerifierMalformed, EmptyTokenIsMissing) {
    EXPECT_EQ(error_of(hs256_verifier().verify("", kNow)), AuthError::kMissingToken);
}

TEST(JwtVerifierMalformed, WrongNumberOfParts) {
    const JwtVerifier verifier = hs256_verifier();
    const std::string token = hs256(valid_claims());
    EXPECT_EQ(error_of(verifier.verify(token.substr(0, token.rfind('.')), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(token + ".e30", kNow)), AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify("abc", kNow)), AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify("..", kNow)), AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(token.substr(token.find('.')), kNow)),
              AuthError::kMalformedToken);
}

TEST(JwtVerifierMalformed, BadBase64) {
    const JwtVerifier verifier = hs256_verifier();
    const std::string token = hs256(valid_claims());
    const std::size_t first = token.find('.');
    std::string bad_header = token;
    bad_header[1] = '*';
    EXPECT_EQ(error_of(verifier.verify(bad_header, kNow)), AuthError::kMalformedToken);
    std::string bad_payload = token;
    bad_payload[first + 1] = '+';  // the standard alphabet is not base64url
    EXPECT_EQ(error_of(verifier.verify(bad_payload, kNow)), AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(token + "=", kNow)), AuthError::kMalformedToken);
    // A part whose length is 1 mod 4 cannot be base64.
    EXPECT_EQ(error_of(verifier.verify(token.substr(0, first) + ".e30AA.AAAA", kNow)),
              AuthError::kMalformedToken);
}

TEST(JwtVerifierMalformed, HeaderNotJsonObject) {
    const Signer signer = hs256_signer(std::string(kSecret));
    const JwtVerifier verifier = hs256_verifier();
    EXPECT_EQ(error_of(verifier.verify(mint_raw("alg: HS256", R"({"sub":"a"})", signer), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(mint_raw(R"(["HS256"])", R"({"sub":"a"})", signer), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(
        error_of(verifier.verify(mint_raw(R"({"alg":"HS256"} x)", R"({"sub":"a"})", signer), kNow)),
        AuthError::kMalformedToken);
}

TEST(JwtVerifierMalformed, PayloadNotJsonObject) {
    const Signer signer = hs256_signer(std::string(kSecret));
    const JwtVerifier verifier = hs256_verifier();
    EXPECT_EQ(
        error_of(verifier.verify(mint_raw(R"({"alg":"HS256"})", R"(["sub","a"])", signer), kNow)),
        AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(mint_raw(R"({"alg":"HS256"})", R"({"sub":)", signer), kNow)),
              AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(mint_raw(R"({"alg":"HS256"})", "\"alice\"", signer), kNow)),
              AuthError::kMalformedToken);
    // Invalid UTF-8 inside a string is not JSON (RFC 8259 §8.1).
    EXPECT_EQ(error_of(verifier.verify(mint_raw(R"({"alg":"HS256"})", "{\"sub\":\"\xff\"}", signer),
                                       kNow)),
              AuthError::kMalformedToken);
}

TEST(JwtVerifierMalformed, OversizeToken) {
    const JwtVerifier verifier = hs256_verifier();
    // A validly signed token just under the limit passes; one just over it does not.
    const auto token_with_padding_claim = [](std::size_t padding) {
        boost::json::object claims = valid_claims();
        claims["pad"] = std::string(padding, 'p');
        return hs256(claims);
    };
    constexpr std::size_t kLimit = 8192;  // the verifier's cap
    // Each padding byte adds 4/3 of a character; start just below the limit and step up.
    std::size_t padding = (kLimit - token_with_padding_claim(0).size()) * 3 / 4 - 8;
    while (token_with_padding_claim(padding + 1).size() <= kLimit) ++padding;
    const std::string fits = token_with_padding_claim(padding);
    ASSERT_LE(fits.size(), kLimit);
    EXPECT_TRUE(verifier.verify(fits, kNow).has_value());
    const std::string oversize = token_with_padding_claim(padding + 1);
    ASSERT_GT(oversize.size(), kLimit);
    EXPECT_EQ(error_of(verifier.verify(oversize, kNow)), AuthError::kMalformedToken);
    EXPECT_EQ(error_of(verifier.verify(std::string(1 << 20, 'A'), kNow)),
              AuthError::kMalformedToken);
}

// --- create() ------------------------------------------------------------------------------

TEST(JwtVerifierCreate, NeitherSecretNorKey) {
    EXPECT_EQ(create_error({}), "set exactly one of --jwt-secret or --jwt-public-key or --jwt-jwks");
}

TEST(JwtVerifierCreate, BothSecretAndKey) {
    JwtConfig both = secret_config("s");
    both.public_key_pem = public_pem(rsa_key());
    EXPECT_EQ(create_error(std::move(both)), "set exactly one of --jwt-secret or --jwt-public-key or --jwt-jwks");
}

TEST(JwtVerifierCreate, GarbagePem) {
    EXPECT_THAT(create_error(key_config("-----BEGIN PUBLIC KEY-----\nnope\n")),
                HasSubstr("cannot parse public key PEM"));
    EXPECT_THAT(create_error(key_config("not a pem at all")),
                HasSubstr("cannot parse public key PEM"));
}

TEST(JwtVerifierCreate, EcP384KeyIsUnsupported) {
    const PkeyPtr p384 = generate_ec("P-384");
    EXPECT_THAT(create_error(key_config(public_pem(p384.get()))),
                HasSubstr("unsupported key type: only RSA and EC P-256 public keys"));
}

TEST(JwtVerifierCreate, Ed25519KeyIsUnsupported) {
    const PkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    ASSERT_TRUE(ed25519);
    EXPECT_EQ(create_error(key_config(public_pem(ed25519.get()))),
              "unsupported key type: only RSA and EC P-256 public keys");
}

TEST(JwtVerifierCreate, ShortRsaKeyIsRefused) {
    const PkeyPtr rsa1024 = generate_rsa(1024);
    EXPECT_THAT(create_error(key_config(public_pem(rsa1024.get()))), HasSubstr("2048 bits"));
}

TEST(JwtVerifierCreate, BadSettings) {
    JwtConfig no_user_claim = secret_config("s");
    no_user_claim.user_claim = "";
    EXPECT_THAT(create_error(std::move(no_user_claim)), HasSubstr("user claim"));
    JwtConfig negative_leeway = secret_config("s");
    negative_leeway.leeway = seconds(-1);
    EXPECT_THAT(create_error(std::move(negative_leeway)), HasSubstr("leeway"));
    JwtConfig empty_issuer = secret_config("s");
    empty_issuer.issuer = "";
    EXPECT_THAT(create_error(std::move(empty_issuer)), HasSubstr("issuer"));
    JwtConfig empty_audience = secret_config("s");
    empty_audience.audience = "";
    EXPECT_THAT(create_error(std::move(empty_audience)), HasSubstr("audience"));
}

TEST(JwtVerifierCreate, ShortSecretIsAccepted) {
    const JwtVerifier verifier = make_verifier(secret_config("x"));
    const auto identity = verifier.verify(mint("HS256", valid_claims(), hs256_signer("x")), kNow);
    ASSERT_TRUE(identity.has_value());
    EXPECT_EQ(identity->user_id, "alice");
}

// --- reason() ------------------------------------------------------------------------------

TEST(JwtVerifierReason, StableStrings) {
    EXPECT_EQ(reason(AuthError::kMissingToken), "missing_token");
    EXPECT_EQ(reason(AuthError::kMalformedToken), "malformed_token");
    EXPECT_EQ(reason(AuthError::kAlgorithmNotAllowed), "algorithm_not_allowed");
    EXPECT_EQ(reason(AuthError::kBadSignature), "bad_signature");
    EXPECT_EQ(reason(AuthError::kExpired), "token_expired");
    EXPECT_EQ(reason(AuthError::kNotYetValid), "token_not_yet_valid");
    EXPECT_EQ(reason(AuthError::kBadIssuer), "bad_issuer");
    EXPECT_EQ(reason(AuthError::kBadAudience), "bad_audience");
    EXPECT_EQ(reason(AuthError::kMissingUserClaim), "missing_user_claim");
    EXPECT_EQ(reason(AuthError::kBadRoomsClaim), "bad_rooms_claim");
}

}  // namespace
}  // namespace nudge::auth
