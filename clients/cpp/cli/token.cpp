#include "token.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "common/base64.hpp"

namespace nudge::cli {

std::string mint_hs256(std::string_view secret, const TokenClaims& claims,
                       std::chrono::system_clock::time_point now) {
    namespace json = boost::json;
    const std::int64_t issued =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    json::object payload;
    payload["sub"] = claims.subject;
    payload["iat"] = issued;
    payload["exp"] = issued + claims.ttl.count();
    if (!claims.rooms.empty()) {
        json::array rooms;
        for (const std::string& room : claims.rooms) rooms.emplace_back(room);
        payload["rooms"] = std::move(rooms);
    }
    if (claims.issuer) payload["iss"] = *claims.issuer;
    if (claims.audience) payload["aud"] = *claims.audience;

    const std::string input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                              base64url_encode(json::serialize(payload));
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int size = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
             &size) == nullptr) {
        throw std::runtime_error("OpenSSL HMAC-SHA256 failed");  // out of memory; cannot go on
    }
    return input + "." +
           base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), size));
}

}  // namespace nudge::cli
