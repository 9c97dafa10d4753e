#include <gtest/gtest.h>

#include "eio/packet.hpp"

namespace nudge::eio {
namespace {

TEST(EioHandshake, AcceptsWebSocketOnV4) {
    EXPECT_TRUE(check_handshake("EIO=4&transport=websocket", true));
    EXPECT_TRUE(check_handshake("transport=websocket&EIO=4&t=abc", true));
}

TEST(EioHandshake, RejectsOtherVersions) {
    EXPECT_EQ(check_handshake("EIO=3&transport=websocket", true).error(),
              HandshakeError::kUnsupportedProtocolVersion);
    EXPECT_EQ(check_handshake("transport=websocket", true).error(),
              HandshakeError::kUnsupportedProtocolVersion);
    EXPECT_EQ(check_handshake("EIO=44&transport=websocket", true).error(),
              HandshakeError::kUnsupportedProtocolVersion);
}

TEST(EioHandshake, RejectsPollingUnknownTransportAndSid) {
    EXPECT_EQ(check_handshake("EIO=4&transport=polling", false).error(),
              HandshakeError::kUnknownTransport);
    EXPECT_EQ(check_handshake("EIO=4", true).error(), HandshakeError::kUnknownTransport);
    EXPECT_EQ(check_handshake("EIO=4&transport=websocket&sid=abc", true).error(),
              HandshakeError::kUnknownSid);
}

TEST(EioHandshake, WebSocketTransportNeedsAnUpgrade) {
    EXPECT_EQ(check_handshake("EIO=4&transport=websocket", false).error(),
              HandshakeError::kBadRequest);
}

}  // namespace
}  // namespace nudge::eio
