#include "ws/handshake.hpp"

#include <gtest/gtest.h>

#include <set>

namespace nudge::ws {
namespace {

constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
// The value printed in RFC 6455 §1.3 (also what Python's hashlib/base64 compute).
constexpr std::string_view kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

UpgradeRequest valid_request() {
    return UpgradeRequest{"GET", "websocket", "Upgrade", kRfcKey, "13"};
}

TEST(AcceptKey, RfcExample) {
    // RFC 6455 §1.3 / §4.2.2.
    EXPECT_EQ(accept_key(kRfcKey), kRfcAccept);
}

TEST(AcceptKey, DependsOnTheKey) {
    EXPECT_EQ(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(CheckUpgrade, AcceptsAValidRequest) {
    const auto result = check_upgrade(valid_request());
    ASSERT_TRUE(result.has_value()) << message(result.error());
    EXPECT_EQ(*result, kRfcAccept);
}

TEST(CheckUpgrade, HeaderTokensAreCaseInsensitiveLists) {
    UpgradeRequest request = valid_request();
    request.upgrade = "WebSocket";
    request.connection = "keep-alive, Upgrade";
    EXPECT_TRUE(check_upgrade(request).has_value());
    request.upgrade = "foo/2, WEBSOCKET";
    request.connection = "UPGRADE,keep-alive";
    EXPECT_TRUE(check_upgrade(request).has_value());
    request.connection = "keep-alive ,\tupgrade\t";
    EXPECT_TRUE(check_upgrade(request).has_value());
}

TEST(CheckUpgrade, NotGet) {
    for (std::string_view method : {"POST", "get", "", "HEAD"}) {
        UpgradeRequest request = valid_request();
        request.method = method;
        const auto result = check_upgrade(request);
        ASSERT_FALSE(result.has_value()) << method;
        EXPECT_EQ(result.error(), HandshakeError::kNotGet);
    }
}

TEST(CheckUpgrade, NotUpgrade) {
    for (std::string_view upgrade : {"", "h2c", "websockets", "web socket"}) {
        UpgradeRequest request = valid_request();
        request.upgrade = upgrade;
        const auto result = check_upgrade(request);
        ASSERT_FALSE(result.has_value()) << upgrade;
        EXPECT_EQ(result.error(), HandshakeError::kNotUpgrade);
    }
    for (std::string_view connection : {"", "keep-alive", "upgrades", "close, upgrade-ish"}) {
        UpgradeRequest request = valid_request();
        request.connection = connection;
        const auto result = check_upgrade(request);
        ASSERT_FALSE(result.has_value()) << connection;
        EXPECT_EQ(result.error(), HandshakeError::kNotUpgrade);
    }
}

TEST(CheckUpgrade, BadKey) {
    for (std::string_view key : {
             "",
             "dGhlIHNhbXBsZSBub25jZQ",     // 16 bytes but unpadded
             "dGhlIHNhbXBsZSBub25jZQ=",    // bad padding
             "dGhlIHNhbXBsZSBub25jZ===",   // padding too early
             "dGhlIHNhbXBsZSBub25j",       // 15 bytes
             "dGhlIHNhbXBsZSBub25jZQA=",   // 17 bytes
             "dGhlIHNhbXBsZSBub25jZQ==A",  // trailing garbage
             "dGhlIHNhbXBsZSBub25-ZQ==",   // base64url alphabet
             "dGhlIHNhbXBsZSBub25 ZQ==",   // space
         }) {
        UpgradeRequest request = valid_request();
        request.key = key;
        const auto result = check_upgrade(request);
        ASSERT_FALSE(result.has_value()) << key;
        EXPECT_EQ(result.error(), HandshakeError::kBadKey) << key;
    }
}

TEST(CheckUpgrade, KeyWithEveryAlphabetCharacterIsAccepted) {
    UpgradeRequest request = valid_request();
    for (std::string_view key :
         {"ABCDEFGHIJKLMNOPQRSTUV==", "WXYZabcdefghijklmnopqr==", "stuvwxyz0123456789+/AA=="}) {
        request.key = key;
        EXPECT_TRUE(check_upgrade(request).has_value()) << key;
    }
}

TEST(CheckUpgrade, BadVersion) {
    for (std::string_view version : {"", "8", "12", "14", "13 ", "013"}) {
        UpgradeRequest request = valid_request();
        request.version = version;
        const auto result = check_upgrade(request);
        ASSERT_FALSE(result.has_value()) << version;
        EXPECT_EQ(result.error(), HandshakeError::kBadVersion);
    }
}

TEST(HandshakeErrorMessage, EveryErrorHasItsOwnMessage) {
    std::set<std::string_view> seen;
    for (HandshakeError error : {HandshakeError::kNotGet, HandshakeError::kNotUpgrade,
                                 HandshakeError::kBadKey, HandshakeError::kBadVersion}) {
        EXPECT_FALSE(message(error).empty());
        seen.insert(message(error));
    }
    EXPECT_EQ(seen.size(), 4u);
}

}  // namespace
}  // namespace nudge::ws
