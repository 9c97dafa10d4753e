#include <gtest/gtest.h>

#include "eio/packet.hpp"

namespace nudge::eio {
namespace {

TEST(EioHandshake, AcceptsWebSocketOnV4) {
    auto info = check_request("EIO=4&transport=websocket", "GET", true);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->transport, Transport::kWebSocket);
    EXPECT_TRUE(info->sid.empty());
    EXPECT_TRUE(check_request("transport=websocket&EIO=4&t=abc", "GET", true));
}

TEST(EioHandshake, WebSocketWithSidIsAnUpgrade) {
    auto info = check_request("EIO=4&transport=websocket&sid=abc", "GET", true);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->sid, "abc");
}

TEST(EioHandshake, RejectsOtherVersions) {
    EXPECT_EQ(check_request("EIO=3&transport=websocket", "GET", true).error(),
              HandshakeError::kUnsupportedProtocolVersion);
    EXPECT_EQ(check_request("transport=polling", "GET", false).error(),
              HandshakeError::kUnsupportedProtocolVersion);
    EXPECT_EQ(check_request("EIO=abc&transport=polling", "GET", false).error(),
              HandshakeError::kUnsupportedProtocolVersion);
    EXPECT_EQ(check_request("EIO=44&transport=websocket", "GET", true).error(),
              HandshakeError::kUnsupportedProtocolVersion);
}

TEST(EioHandshake, RejectsUnknownTransports) {
    EXPECT_EQ(check_request("EIO=4", "GET", true).error(), HandshakeError::kUnknownTransport);
    EXPECT_EQ(check_request("EIO=4&transport=abc", "GET", false).error(),
              HandshakeError::kUnknownTransport);
    EXPECT_EQ(check_request("EIO=4&transport=webtransport", "GET", false).error(),
              HandshakeError::kUnknownTransport);
}

TEST(EioHandshake, PollingHandshakeIsAGet) {
    auto info = check_request("EIO=4&transport=polling&t=x", "GET", false);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->transport, Transport::kPolling);
    EXPECT_TRUE(info->sid.empty());
    EXPECT_EQ(check_request("EIO=4&transport=polling", "POST", false).error(),
              HandshakeError::kBadHandshakeMethod);
    EXPECT_EQ(check_request("EIO=4&transport=polling", "PUT", false).error(),
              HandshakeError::kBadHandshakeMethod);
}

TEST(EioHandshake, PollingSessionTakesGetAndPost) {
    EXPECT_EQ(check_request("EIO=4&transport=polling&sid=s1", "GET", false)->sid, "s1");
    EXPECT_EQ(check_request("EIO=4&transport=polling&sid=s1", "POST", false)->sid, "s1");
    EXPECT_EQ(check_request("EIO=4&transport=polling&sid=s1", "DELETE", false).error(),
              HandshakeError::kBadRequest);
}

TEST(EioHandshake, WebSocketTransportNeedsAnUpgrade) {
    EXPECT_EQ(check_request("EIO=4&transport=websocket", "GET", false).error(),
              HandshakeError::kBadRequest);
}

TEST(EioHandshake, QueryParam) {
    EXPECT_EQ(query_param("a=1&b=2", "b"), "2");
    EXPECT_EQ(query_param("a&b=2", "a"), "");
    EXPECT_FALSE(query_param("ab=1", "a"));
    EXPECT_FALSE(query_param("", "a"));
}

}  // namespace
}  // namespace nudge::eio
