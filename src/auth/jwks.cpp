#include "auth/jwks.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>

#include "common/base64.hpp"

namespace nudge::auth {

namespace {

namespace json = boost::json;

constexpr int kMinRsaBits = 2048;  // RFC 7518 §3.3
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEd25519KeyBytes = 32;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct CtxFree {
    void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};
struct BldFree {
    void operator()(OSSL_PARAM_BLD* bld) const noexcept { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* params) const noexcept { OSSL_PARAM_free(params); }
};
struct BnFree {
    void operator()(BIGNUM* bn) const noexcept { BN_free(bn); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::optional<std::string> member(const json::object& object, std::string_view name) {
    const json::value* value = object.if_contains(name);
    if (value == nullptr || !value->is_string()) return std::nullopt;
    const json::string& s = value->get_string();
    return std::string(s.data(), s.size());
}

std::optional<std::string> base64url_member(const json::object& object, std::string_view name) {
    auto text = member(object, name);
    if (!text || text->empty()) return std::nullopt;
    return base64url_decode(*text);
}

// A key from OSSL_PARAMs (OpenSSL 3's EVP_PKEY_fromdata), public part only.
PkeyPtr from_params(const char* type, OSSL_PARAM_BLD* bld) {
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
    std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* key = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return PkeyPtr(key);
}

Result<PkeyPtr, std::string> rsa_key(const json::object& jwk) {
    const auto n = base64url_member(jwk, "n");
    const auto e = base64url_member(jwk, "e");
    if (!n || !e) return fail(std::string("RSA key needs base64url n and e"));
    const auto* n_bytes = reinterpret_cast<const unsigned char*>(n->data());
    const auto* e_bytes = reinterpret_cast<const unsigned char*>(e->data());
    std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(n_bytes, static_cast<int>(n->size()), nullptr));
    std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(e_bytes, static_cast<int>(e->size()), nullptr));
    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
        return fail(std::string("RSA key parameters rejected"));
    }
    PkeyPtr key = from_params("RSA", bld.get());
    if (!key) return fail(std::string("RSA key rejected by OpenSSL"));
    if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
        return fail(std::string("RSA key shorter than 2048 bits"));
    }
    return key;
}

Result<PkeyPtr, std::string> p256_key(const json::object& jwk) {
    if (member(jwk, "crv") != std::optional<std::string>("P-256")) {
        return fail(std::string("EC key: only crv P-256 (ES256)"));
    }
    const auto x = base64url_member(jwk, "x");
    const auto y = base64url_member(jwk, "y");
    if (!x || !y || x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
        return fail(std::string("EC key needs 32-byte base64url x and y"));
    }
    // SEC 1 §2.3.3 uncompressed point: 0x04 || x || y.
    std::string point(1, '\x04');
    point += *x;
    point += *y;
    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
        return fail(std::string("EC key parameters rejected"));
    }
    PkeyPtr key = from_params("EC", bld.get());
    if (!key) return fail(std::string("EC key is not a point on P-256"));
    return key;
}

Result<PkeyPtr, std::string> ed25519_key(const json::object& jwk) {
    if (member(jwk, "crv") != std::optional<std::string>("Ed25519")) {
        return fail(std::string("OKP key: only crv Ed25519 (EdDSA)"));
    }
    const auto x = base64url_member(jwk, "x");
    if (!x || x->size() != kEd25519KeyBytes) return fail(std::string("Ed25519 key needs a 32-byte x"));
    PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                            reinterpret_cast<const unsigned char*>(x->data()),
                                            x->size()));
    if (!key) return fail(std::string("Ed25519 key rejected by OpenSSL"));
    return key;
}

// One JWK → a usable key, or why not.
Result<Jwk, std::string> parse_key(const json::object& jwk) {
    auto kid = member(jwk, "kid");
    if (!kid || kid->empty()) return fail(std::string("no kid"));
    if (auto use = member(jwk, "use"); use && *use != "sig") return fail("use is " + *use);
    // A private key in a public document is a publisher's mistake: refuse to use it.
    if (jwk.contains("d") || jwk.contains("p")) return fail(std::string("contains private key material"));
    const auto kty = member(jwk, "kty");
    Jwk out;
    out.kid = std::move(*kid);
    Result<PkeyPtr, std::string> key = fail(std::string("unsupported kty"));
    if (kty == std::optional<std::string>("RSA")) {
        out.algorithm = JwkAlgorithm::kRs256;
        key = rsa_key(jwk);
    } else if (kty == std::optional<std::string>("EC")) {
        out.algorithm = JwkAlgorithm::kEs256;
        key = p256_key(jwk);
    } else if (kty == std::optional<std::string>("OKP")) {
        out.algorithm = JwkAlgorithm::kEdDsa;
        key = ed25519_key(jwk);
    } else {
        return fail("unsupported kty " + kty.value_or("(none)"));
    }
    if (!key) return fail(std::move(key.error()));
    // The key's own alg, when given, must be the one its type implies (RFC 7517 §4.4).
    if (auto alg = member(jwk, "alg"); alg && *alg != jws_name(out.algorithm)) {
        return fail("alg " + *alg + " does not match kty " + kty.value_or(""));
    }
    EVP_PKEY* raw = key->release();
    out.key = std::shared_ptr<evp_pkey_st>(raw, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
    return out;
}

}  // namespace

std::string_view jws_name(JwkAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case JwkAlgorithm::kRs256: return "RS256";
        case JwkAlgorithm::kEs256: return "ES256";
        case JwkAlgorithm::kEdDsa: return "EdDSA";
    }
    return {};
}

Result<JwksDocument, std::string> parse_jwks(std::string_view document) {
    if (document.size() > kMaxJwksBytes) return fail(std::string("JWKS document larger than 1 MiB"));
    std::error_code ec;
    const json::value root = json::parse(json::string_view(document.data(), document.size()), ec);
    if (ec) return fail("JWKS is not JSON: " + ec.message());
    const json::object* object = root.if_object();
    const json::value* keys = object != nullptr ? object->if_contains("keys") : nullptr;
    if (keys == nullptr || !keys->is_array()) return fail(std::string("JWKS has no \"keys\" array"));
    const json::array& list = keys->get_array();
    if (list.size() > kMaxJwksKeys) return fail(std::string("JWKS has more than 100 keys"));
    JwksDocument out;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json::object* jwk = list[i].if_object();
        if (jwk == nullptr) {
            out.skipped.push_back("keys[" + std::to_string(i) + "]: not an object");
            continue;
        }
        auto key = parse_key(*jwk);
        if (!key) {
            out.skipped.push_back("keys[" + std::to_string(i) + "] kid " +
                                  member(*jwk, "kid").value_or("(none)") + ": " + key.error());
            continue;
        }
        const bool duplicate = std::any_of(out.keys.begin(), out.keys.end(),
                                           [&](const Jwk& k) { return k.kid == key->kid; });
        if (duplicate) {
            out.skipped.push_back("keys[" + std::to_string(i) + "] kid " + key->kid + ": duplicate kid");
            continue;
        }
        out.keys.push_back(std::move(*key));
    }
    ERR_clear_error();  // rejected keys leave entries in this thread's OpenSSL error queue
    if (out.keys.empty()) return fail(std::string("JWKS has no usable signing key"));
    return out;
}

void KeySet::replace(Keys keys) {
    auto fresh = std::make_shared<const Keys>(std::move(keys));
    const std::lock_guard lock(mutex_);
    keys_ = std::move(fresh);
}

std::shared_ptr<const Jwk> KeySet::find(std::string_view kid) const {
    std::shared_ptr<const Keys> keys;
    {
        const std::lock_guard lock(mutex_);
        keys = keys_;
    }
    for (const Jwk& jwk : *keys) {
        // Aliasing constructor: the key stays alive with the set it came from.
        if (jwk.kid == kid) return {keys, &jwk};
    }
    return nullptr;
}

std::size_t KeySet::size() const {
    const std::lock_guard lock(mutex_);
    return keys_->size();
}

void KeySet::on_unknown_kid(std::function<void()> listener) {
    const std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
}

void KeySet::unknown_kid_seen() const {
    std::function<void()> listener;
    {
        const std::lock_guard lock(mutex_);
        listener = listener_;
    }
    if (listener) listener();
}

}  // namespace nudge::auth
