#include "auth/jwt_verifier.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

#include "auth/jws_signature.hpp"
#include "common/base64.hpp"

namespace nudge::auth {
namespace {

using namespace jws;

// Bounds the work a hostile client can make us do before the signature is checked.
constexpr std::size_t kMaxTokenBytes = 8192;
constexpr std::size_t kMaxRoomBytes = 256;
constexpr std::size_t kMaxPemBytes = 65536;
constexpr int kMinRsaBits = 2048;             // RFC 7518 §3.3
// Header and payload trees of ordinary tokens fit here, so a verify allocates nothing for
// JSON; larger (hostile) ones spill to the heap.
constexpr std::size_t kJsonArenaBytes = 4096;

enum class KeyKind { kHs256, kRs256, kEs256 };

std::string_view algorithm_name(KeyKind kind) {
    switch (kind) {
        case KeyKind::kHs256:
            return "HS256";
        case KeyKind::kRs256:
            return "RS256";
        case KeyKind::kEs256:
            return "ES256";
    }
    return {};
}

std::string_view view_of(const boost::json::string& text) { return {text.data(), text.size()}; }

// JWS compact serialization (RFC 7515 §7.1) uses unpadded base64url (§2). Checking the
// alphabet ourselves also rejects padding, whitespace and extra '.' separators.
bool is_base64url(std::string_view part) {
    if (part.size() % 4 == 1) return false;
    for (const char c : part) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

// Decodes one base64url part and parses it as a JSON object allocated from `storage`.
std::optional<boost::json::object> decode_object(std::string_view part,
                                                 const boost::json::storage_ptr& storage) {
    const std::optional<std::string> json = base64url_decode(part);
    if (!json) return std::nullopt;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(*json, ec, storage);
    if (ec || !value.is_object()) return std::nullopt;
    return std::move(value.get_object());
}

// `exp`/`nbf` are a NumericDate (RFC 7519 §2): integer or fractional seconds.
std::optional<double> numeric_date(const boost::json::value& value) {
    if (value.is_int64()) return static_cast<double>(value.get_int64());
    if (value.is_uint64()) return static_cast<double>(value.get_uint64());
    if (value.is_double() && std::isfinite(value.get_double())) return value.get_double();
    return std::nullopt;
}

// Whole seconds, rounded down and clamped, so a fractional or absurd `exp` cannot overflow.
std::int64_t epoch_seconds(const boost::json::value& value) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    if (value.is_int64()) return value.get_int64();
    if (value.is_uint64()) {
        return value.get_uint64() > static_cast<std::uint64_t>(kMax)
                   ? kMax
                   : static_cast<std::int64_t>(value.get_uint64());
    }
    const double seconds = std::floor(value.get_double());
    constexpr double kTwoTo63 = 9223372036854775808.0;
    if (seconds >= kTwoTo63) return kMax;
    if (seconds < -kTwoTo63) return kMin;
    return static_cast<std::int64_t>(seconds);
}

}  // namespace

struct JwtVerifier::Impl {
    std::shared_ptr<KeySet> jwks;  // JWKS mode: keys by kid (then `kind` is unused)
    KeyKind kind = KeyKind::kHs256;
    std::string secret;  // kHs256 only
    // Fetched once; both are immutable after creation and safe to use from every thread.
    // Contexts that hold per-call state are per call, except HMAC's (see hmac_matches).
    MacPtr hmac;                                                         // kHs256 only
    std::uint64_t id = next_id.fetch_add(1, std::memory_order_relaxed);  // names this key
    PkeyPtr public_key;                                                  // kRs256 and kEs256 only
    std::optional<std::string> issuer;
    std::optional<std::string> audience;
    std::string user_claim;
    double leeway_seconds = 0;

    static inline std::atomic<std::uint64_t> next_id{1};

    [[nodiscard]] bool signature_matches(std::string_view signing_input,
                                         std::string_view signature) const;
    [[nodiscard]] bool hmac_matches(std::string_view signing_input,
                                    std::string_view signature) const;
    [[nodiscard]] bool digest_signature_matches(std::string_view signing_input,
                                                const unsigned char* signature,
                                                std::size_t signature_size) const;
    [[nodiscard]] Result<Identity, AuthError> check_claims(const boost::json::object& claims,
                                                           double now_seconds) const;
};

bool JwtVerifier::Impl::signature_matches(std::string_view signing_input,
                                          std::string_view signature) const {
    bool ok = false;
    switch (kind) {
        case KeyKind::kHs256:
            ok = hmac_matches(signing_input, signature);
            break;
        case KeyKind::kRs256:
            ok = digest_signature_matches(signing_input, bytes_of(signature), signature.size());
            break;
        case KeyKind::kEs256:
            if (const auto der = p256_signature_to_der(signature)) {
                ok = digest_signature_matches(signing_input, der->bytes.data(), der->size);
            }
            break;
    }
    // A failed verification leaves entries in this thread's OpenSSL error queue; clear them
    // so they are not mistaken for errors of a later, unrelated call (e.g. SSL_get_error)
    // on the same worker thread.
    if (!ok) ERR_clear_error();
    return ok;
}

bool JwtVerifier::Impl::hmac_matches(std::string_view signing_input,
                                     std::string_view signature) const {
    return jws::hmac_sha256_matches(*hmac, id, secret, signing_input, signature);
}

bool JwtVerifier::Impl::digest_signature_matches(std::string_view signing_input,
                                                 const unsigned char* signature,
                                                 std::size_t signature_size) const {
    return jws::sha256_signature_matches(*public_key, signing_input, signature, signature_size);
}

Result<Identity, AuthError> JwtVerifier::Impl::check_claims(const boost::json::object& claims,
                                                            double now_seconds) const {
    Identity identity;

    if (const boost::json::value* exp = claims.if_contains("exp")) {
        const std::optional<double> seconds = numeric_date(*exp);
        if (!seconds) return fail(AuthError::kMalformedToken);
        if (now_seconds > *seconds + leeway_seconds) return fail(AuthError::kExpired);
        identity.expires_at = epoch_seconds(*exp);
    }
    if (const boost::json::value* nbf = claims.if_contains("nbf")) {
        const std::optional<double> seconds = numeric_date(*nbf);
        if (!seconds) return fail(AuthError::kMalformedToken);
        if (now_seconds < *seconds - leeway_seconds) return fail(AuthError::kNotYetValid);
    }

    if (issuer) {
        const boost::json::value* iss = claims.if_contains("iss");
        const boost::json::string* text = iss != nullptr ? iss->if_string() : nullptr;
        if (text == nullptr || view_of(*text) != *issuer) return fail(AuthError::kBadIssuer);
    }

    if (audience) {
        // RFC 7519 §4.1.3: a single string or an array of strings.
        const boost::json::value* aud = claims.if_contains("aud");
        bool found = false;
        if (aud != nullptr) {
            if (const boost::json::string* text = aud->if_string()) {
                found = view_of(*text) == *audience;
            } else if (const boost::json::array* list = aud->if_array()) {
                for (const boost::json::value& entry : *list) {
                    const boost::json::string* item = entry.if_string();
                    if (item != nullptr && view_of(*item) == *audience) {
                        found = true;
                        break;
                    }
                }
            }
        }
        if (!found) return fail(AuthError::kBadAudience);
    }

    const boost::json::value* user = claims.if_contains(user_claim);
    if (user == nullptr) return fail(AuthError::kMissingUserClaim);
    if (const boost::json::string* text = user->if_string(); text != nullptr && !text->empty()) {
        identity.user_id.assign(text->data(), text->size());
    } else if (user->is_int64()) {
        identity.user_id = std::to_string(user->get_int64());
    } else if (user->is_uint64()) {
        identity.user_id = std::to_string(user->get_uint64());
    } else {
        return fail(AuthError::kMissingUserClaim);
    }

    if (const boost::json::value* rooms = claims.if_contains("rooms")) {
        const boost::json::array* list = rooms->if_array();
        if (list == nullptr) return fail(AuthError::kBadRoomsClaim);
        identity.rooms.reserve(list->size());
        for (const boost::json::value& entry : *list) {
            const boost::json::string* room = entry.if_string();
            if (room == nullptr || room->empty() || room->size() > kMaxRoomBytes) {
                return fail(AuthError::kBadRoomsClaim);
            }
            identity.rooms.emplace_back(room->data(), room->size());
        }
    }
    if (const boost::json::value* room = claims.if_contains("room")) {
        const boost::json::string* text = room->if_string();
        if (text != nullptr && !text->empty() && text->size() <= kMaxRoomBytes) {
            identity.room.emplace(text->data(), text->size());
        }
    }

    return identity;
}

std::string_view reason(AuthError error) noexcept {
    switch (error) {
        case AuthError::kMissingToken:
            return "missing_token";
        case AuthError::kMalformedToken:
            return "malformed_token";
        case AuthError::kAlgorithmNotAllowed:
            return "algorithm_not_allowed";
        case AuthError::kBadSignature:
            return "bad_signature";
        case AuthError::kExpired:
            return "token_expired";
        case AuthError::kNotYetValid:
            return "token_not_yet_valid";
        case AuthError::kBadIssuer:
            return "bad_issuer";
        case AuthError::kBadAudience:
            return "bad_audience";
        case AuthError::kMissingUserClaim:
            return "missing_user_claim";
        case AuthError::kBadRoomsClaim:
            return "bad_rooms_claim";
        case AuthError::kUnknownKid:
            return "unknown_kid";
        case AuthError::kCount:
            break;
    }
    return "unknown";
}

std::chrono::seconds JwtVerifier::leeway() const noexcept {
    return std::chrono::seconds(static_cast<std::int64_t>(impl_->leeway_seconds));
}

Result<JwtVerifier, std::string> JwtVerifier::create(JwtConfig config) {
    // An empty secret is indistinguishable from an unset one, so it lands here too.
    const int sources = static_cast<int>(!config.secret.empty()) +
                        static_cast<int>(!config.public_key_pem.empty()) +
                        static_cast<int>(config.jwks != nullptr);
    if (sources != 1) {
        return fail(std::string("set exactly one of --jwt-secret or --jwt-public-key or --jwt-jwks"));
    }
    if (config.user_claim.empty()) return fail(std::string("the JWT user claim name is empty"));
    if (config.leeway.count() < 0) return fail(std::string("the JWT leeway is negative"));
    if (config.issuer && config.issuer->empty()) {
        return fail(std::string("the JWT issuer is set but empty"));
    }
    if (config.audience && config.audience->empty()) {
        return fail(std::string("the JWT audience is set but empty"));
    }

    auto impl = std::make_unique<Impl>();
    if (config.jwks) {
        impl->jwks = std::move(config.jwks);
    } else if (!config.secret.empty()) {
        impl->kind = KeyKind::kHs256;
        impl->hmac.reset(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
        if (!impl->hmac) {
            ERR_clear_error();
            return fail(std::string("HMAC is not available from OpenSSL"));
        }
        impl->secret = std::move(config.secret);
    } else {
        const std::string& pem = config.public_key_pem;
        if (pem.size() > kMaxPemBytes) return fail(std::string("cannot parse public key PEM"));
        const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
        PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
        ERR_clear_error();
        if (!key) {
            return fail(
                std::string("cannot parse public key PEM (expected -----BEGIN PUBLIC KEY-----)"));
        }
        if (EVP_PKEY_is_a(key.get(), "RSA") == 1) {
            if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
                return fail(std::string(
                    "RSA public key is shorter than 2048 bits (RFC 7518 §3.3 requires 2048)"));
            }
            impl->kind = KeyKind::kRs256;
        } else if (EVP_PKEY_is_a(key.get(), "EC") == 1) {
            std::array<char, 64> group{};
            std::size_t group_size = 0;
            const bool named =
                EVP_PKEY_get_group_name(key.get(), group.data(), group.size(), &group_size) == 1;
            ERR_clear_error();
            const std::string_view curve =
                named ? std::string_view(group.data(), group_size) : "explicit parameters";
            if (!named || OBJ_sn2nid(group.data()) != NID_X9_62_prime256v1) {
                return fail("unsupported key type: only RSA and EC P-256 public keys (EC curve " +
                            std::string(curve) + ")");
            }
            impl->kind = KeyKind::kEs256;
        } else {
            return fail(std::string("unsupported key type: only RSA and EC P-256 public keys"));
        }
        impl->public_key = std::move(key);
    }
    impl->issuer = std::move(config.issuer);
    impl->audience = std::move(config.audience);
    impl->user_claim = std::move(config.user_claim);
    impl->leeway_seconds = static_cast<double>(config.leeway.count());
    return JwtVerifier(std::move(impl));
}

Result<Identity, AuthError> JwtVerifier::verify(std::string_view token,
                                                std::chrono::system_clock::time_point now) const {
    if (token.empty()) return fail(AuthError::kMissingToken);
    if (token.size() > kMaxTokenBytes) return fail(AuthError::kMalformedToken);

    // header.payload.signature (RFC 7515 §7.1); is_base64url rejects a fourth '.'.
    const std::size_t first_dot = token.find('.');
    if (first_dot == std::string_view::npos) return fail(AuthError::kMalformedToken);
    const std::size_t second_dot = token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos) return fail(AuthError::kMalformedToken);
    const std::string_view header_part = token.substr(0, first_dot);
    const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
    const std::string_view signature_part = token.substr(second_dot + 1);
    if (header_part.empty() || payload_part.empty() || !is_base64url(header_part) ||
        !is_base64url(payload_part) || !is_base64url(signature_part)) {
        return fail(AuthError::kMalformedToken);
    }

    unsigned char arena[kJsonArenaBytes];
    boost::json::monotonic_resource resource(arena);
    const boost::json::storage_ptr storage(&resource);

    const std::optional<boost::json::object> header = decode_object(header_part, storage);
    if (!header) return fail(AuthError::kMalformedToken);
    const boost::json::value* alg = header->if_contains("alg");
    if (alg == nullptr || !alg->is_string()) return fail(AuthError::kMalformedToken);
    // JWKS: the kid picks the key, and the key (never the token) fixes the algorithm. jku,
    // x5u, jwk and x5c are not read: keys come only from the configured source.
    std::shared_ptr<const Jwk> jwk;
    if (impl_->jwks) {
        const boost::json::value* kid = header->if_contains("kid");
        if (kid == nullptr || !kid->is_string()) return fail(AuthError::kUnknownKid);
        jwk = impl_->jwks->find(view_of(kid->get_string()));
        if (!jwk) {
            impl_->jwks->unknown_kid_seen();
            return fail(AuthError::kUnknownKid);
        }
        if (view_of(alg->get_string()) != jws_name(jwk->algorithm)) {
            return fail(AuthError::kAlgorithmNotAllowed);
        }
    } else if (view_of(alg->get_string()) != algorithm_name(impl_->kind)) {
        // Pinned to the configured key: the token never chooses its algorithm (RFC 8725 §3.1).
        return fail(AuthError::kAlgorithmNotAllowed);
    }
    // We implement no JWS extensions, so any critical one must be refused (RFC 7515 §4.1.11).
    if (header->contains("crit")) return fail(AuthError::kMalformedToken);

    const std::optional<std::string> signature = base64url_decode(signature_part);
    if (!signature) return fail(AuthError::kMalformedToken);
    // The JWS signing input is the encoded header, '.', and the encoded payload (§5.1).
    const std::string_view signing_input = token.substr(0, second_dot);
    if (jwk ? !jwk_signature_matches(*jwk, signing_input, *signature)
            : !impl_->signature_matches(signing_input, *signature)) {
        return fail(AuthError::kBadSignature);
    }

    // Only now is the payload authentic and worth parsing.
    const std::optional<boost::json::object> claims = decode_object(payload_part, storage);
    if (!claims) return fail(AuthError::kMalformedToken);
    const double now_seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
    return impl_->check_claims(*claims, now_seconds);
}

JwtVerifier::JwtVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JwtVerifier::JwtVerifier(JwtVerifier&&) noexcept = default;
JwtVerifier& JwtVerifier::operator=(JwtVerifier&&) noexcept = default;
JwtVerifier::~JwtVerifier() = default;

}  // namespace nudge::auth
