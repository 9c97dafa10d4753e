// Tokens from `nudge token` checked with the hub's own verifier.
#include "token.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <optional>
#include <stdexcept>

#include "auth/jwt_verifier.hpp"
#include "common/base64.hpp"

namespace nudge::cli {
namespace {

using std::chrono::seconds;

TokenClaims claims(std::string subject, std::chrono::seconds ttl = seconds(3600)) {
    TokenClaims result;
    result.subject = std::move(subject);
    result.ttl = ttl;
    return result;
}

// The hub's verifier for HS256 `secret`, without clock skew unless `leeway` says otherwise.
auth::JwtVerifier verifier(std::string secret, std::optional<std::string> issuer = std::nullopt,
                           std::optional<std::string> audience = std::nullopt,
                           seconds leeway = seconds(30)) {
    auth::JwtConfig config;
    config.secret = std::move(secret);
    config.issuer = std::move(issuer);
    config.audience = std::move(audience);
    config.leeway = leeway;
    auto created = auth::JwtVerifier::create(std::move(config));
    if (!created) throw std::runtime_error(created.error());
    return std::move(*created);
}

TEST(Token, TheHubAcceptsItWithUserAndRooms) {
    const auto now = std::chrono::system_clock::now();
    TokenClaims with_rooms = claims("42");
    with_rooms.rooms = {"all", "team_7"};
    const std::string token = mint_hs256("s3cret", with_rooms, now);
    const auto identity = verifier("s3cret").verify(token, now);
    ASSERT_TRUE(identity) << auth::reason(identity.error());
    EXPECT_EQ(identity->user_id, "42");
    EXPECT_EQ(identity->rooms, (std::vector<std::string>{"all", "team_7"}));
}

TEST(Token, HeaderAndClaimsAreWhatTheHubExpects) {
    const auto now = std::chrono::system_clock::time_point(seconds(1'700'000'000));
    const std::string token = mint_hs256("s", claims("7", seconds(60)), now);
    const auto first_dot = token.find('.');
    const auto second_dot = token.find('.', first_dot + 1);
    ASSERT_NE(second_dot, std::string::npos);
    EXPECT_EQ(token.find('='), std::string::npos) << "base64url without padding";
    EXPECT_EQ(base64url_decode(token.substr(0, first_dot)), R"({"alg":"HS256","typ":"JWT"})");
    const auto payload = base64url_decode(token.substr(first_dot + 1, second_dot - first_dot - 1));
    ASSERT_TRUE(payload);
    EXPECT_EQ(boost::json::parse(*payload),
              boost::json::parse(R"({"sub":"7","iat":1700000000,"exp":1700000060})"));
}

TEST(Token, ItExpiresAfterTheTtl) {
    const auto now = std::chrono::system_clock::now();
    const std::string token = mint_hs256("s", claims("1", seconds(60)), now);
    const auto hub = verifier("s", std::nullopt, std::nullopt, seconds(0));
    EXPECT_TRUE(hub.verify(token, now + seconds(59)));
    const auto late = hub.verify(token, now + seconds(61));
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error(), auth::AuthError::kExpired);
}

TEST(Token, AnotherSecretDoesNotVerify) {
    const auto now = std::chrono::system_clock::now();
    const std::string token = mint_hs256("s", claims("1"), now);
    const auto result = verifier("t").verify(token, now);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), auth::AuthError::kBadSignature);
}

TEST(Token, IssuerAndAudienceSatisfyTheHubsChecks) {
    const auto now = std::chrono::system_clock::now();
    TokenClaims issued = claims("1");
    issued.issuer = "login";
    issued.audience = "nudge";
    const std::string token = mint_hs256("s", issued, now);
    EXPECT_TRUE(verifier("s", "login", "nudge").verify(token, now));
    const auto wrong = verifier("s", "other").verify(token, now);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error(), auth::AuthError::kBadIssuer);
}

}  // namespace
}  // namespace nudge::cli
