// The session's behaviour over both transports (one typed suite): SessionCore is one class, so
// WebSocket and HTTP long-polling must behave alike — connect, auth refusal, event delivery,
// the send budget (slow consumer), held events, and close. The WebSocket client runs over the
// scripted TestStream, the polling client over recorded PollRequests (no sockets, no sleep).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../ws/client_frames.hpp"
#include "harness.hpp"
#include "metrics/metrics.hpp"
#include "net/polling_session.hpp"

namespace nudge::net::test {
namespace {

using ws::test::kFin;
using ws::test::masked_frame;
using ws::test::op;

std::string token_for(std::string_view sub) {
    return hs256(std::string(R"({"sub":")") + std::string(sub) + R"(","rooms":["all"]})");
}

// A WebSocket client: packets go out as masked text frames, packets in are the frames written
// after the Engine.IO open packet.
class WsClient {
public:
    explicit WsClient(Harness& h) : h_(h) { state_ = h.connect(&connection_); }
    void send(std::string_view packet) {
        state_->send(masked_frame(kFin | op(ws::Opcode::kText), packet));
        h_.poll();
    }
    std::vector<std::string> received() {
        std::vector<std::string> packets;
        for (const auto& frame : server_frames(state_->written)) {
            if (frame.opcode == static_cast<std::uint8_t>(ws::Opcode::kText)) packets.push_back(frame.payload);
        }
        if (!packets.empty()) packets.erase(packets.begin());  // the open packet
        return packets;
    }
    void stop_reading() { state_->set_write_capacity(0); }
    void hold_get() {}  // a WebSocket client is always reachable
    [[nodiscard]] bool open() const { return connection_->is_open(); }
    SessionCore& core() { return *connection_; }

private:
    Harness& h_;
    std::shared_ptr<StreamState> state_;
    TestConnection* connection_ = nullptr;
};

// A GET as the session sees it: held, or answered with a payload or an error.
struct RecordedGet final : PollRequest {
    void hold(PollingSession& /*session*/) override { held = true; }
    void answer_poll(std::string payload) override { answers.push_back(std::move(payload)); }
    void answer_error(eio::HandshakeError e) override { error = e; }
    bool held = false;
    std::vector<std::string> answers;
    std::optional<eio::HandshakeError> error;
};

// A long-polling client: packets go out in POSTs, packets in come from GETs.
class PollingClient {
public:
    explicit PollingClient(Harness& h) : h_(h) {
        PollingSession& session = PollingSession::open(*h.worker, 0);
        sid_ = std::string(session.sid());
        session_ = &session;
    }
    void send(std::string_view packet) {
        if (PollingSession* s = live()) (void)s->on_post(packet);
        h_.poll();
    }
    // What a GET brings (the session answers it at once, or holds it until something is
    // queued: a held GET is kept and read again next time).
    std::vector<std::string> received() {
        hold_get();
        if (held_ && !held_->answers.empty()) {
            for (const auto& payload : held_->answers) {
                std::size_t at = 0;
                while (at <= payload.size()) {
                    const std::size_t end = std::min(payload.find('\x1e', at), payload.size());
                    packets_.push_back(payload.substr(at, end - at));
                    at = end + 1;
                }
            }
            held_.reset();
        }
        return packets_;
    }
    // A GET is pending (as a polling client always has one).
    void hold_get() {
        PollingSession* s = live();
        if (s == nullptr || held_) return;
        held_ = std::make_shared<RecordedGet>();
        s->on_poll(held_);
        h_.poll();
    }
    void stop_reading() {}  // a polling client that stops polling: nothing takes the queue
    [[nodiscard]] bool open() const { return h_.worker->polling_session(sid_) != nullptr; }
    SessionCore& core() { return *session_; }

private:
    // The session while the worker holds it (a closed one may be reaped by a tick).
    PollingSession* live() { return open() ? session_ : nullptr; }

    Harness& h_;
    std::string sid_;
    PollingSession* session_ = nullptr;
    std::vector<std::string> packets_;
    std::shared_ptr<RecordedGet> held_;
};

Limits small_limits() {
    Limits limits;
    limits.max_send_queue_bytes = 64 * 1024;
    limits.send_queue_high_watermark = 16 * 1024;
    limits.send_queue_low_watermark = 4 * 1024;
    return limits;
}

template <class Client>
class Session : public ::testing::Test {};

using Transports = ::testing::Types<WsClient, PollingClient>;
TYPED_TEST_SUITE(Session, Transports);

bool has_prefix(const std::vector<std::string>& packets, std::string_view prefix) {
    for (const auto& p : packets) {
        if (p.starts_with(prefix)) return true;
    }
    return false;
}

TYPED_TEST(Session, ConnectIsAnsweredAndJoinsTheTokensRooms) {
    Harness h;
    TypeParam client(h);
    client.send("40{\"token\":\"" + token_for("7") + "\"}");
    EXPECT_TRUE(has_prefix(client.received(), "40{\"sid\":"));
    EXPECT_EQ(h.worker->rooms().member_count("user_7"), 1U);
    EXPECT_EQ(h.worker->rooms().member_count("all"), 1U);
    EXPECT_TRUE(client.core().protocol().connected());
}

TYPED_TEST(Session, ABadTokenIsRefusedWithAReasonAndThreeRefusalsClose) {
    Harness h;
    TypeParam client(h);
    client.send(R"(40{"token":"not-a-jwt"})");
    const auto first = client.received();
    ASSERT_TRUE(has_prefix(first, "44{\"message\":\"unauthorized\""));
    EXPECT_TRUE(client.open());
    client.send(R"(40{"token":"not-a-jwt"})");
    client.send(R"(40{"token":"not-a-jwt"})");
    EXPECT_FALSE(client.open());
    EXPECT_EQ(h.worker->rooms().member_count("all"), 0U);
}

TYPED_TEST(Session, PublishedEventsArriveInOrder) {
    Harness h;
    TypeParam client(h);
    client.send("40{\"token\":\"" + token_for("8") + "\"}");
    h.emit("user_8", "a", "1");
    h.emit("all", "b", "2");
    const auto packets = client.received();
    ASSERT_GE(packets.size(), 3U);
    EXPECT_EQ(packets[packets.size() - 2], R"(42["a",1])");
    EXPECT_EQ(packets.back(), R"(42["b",2])");
}

TYPED_TEST(Session, AClientThatTakesNothingIsDroppedAtTheSendBudget) {
    Harness h(small_limits());
    TypeParam client(h);
    client.send("40{\"token\":\"" + token_for("9") + "\"}");
    (void)client.received();
    client.stop_reading();
    const auto before = metrics::registry().slow_consumer_drops.read();
    const std::string data = "\"" + std::string(1000, 'x') + "\"";
    for (int i = 0; i < 100 && client.open(); ++i) h.emit("user_9", "e", data);
    EXPECT_FALSE(client.open());
    EXPECT_EQ(metrics::registry().slow_consumer_drops.read(), before + 1);
    EXPECT_EQ(h.worker->rooms().member_count("user_9"), 0U);
}

TYPED_TEST(Session, HeldEventsAreChargedToTheSendBudget) {
    Harness h(small_limits());
    TypeParam client(h);
    client.send("40{\"token\":\"" + token_for("10") + "\"}");
    (void)client.received();
    client.core().deliver_from = hub::Subscriber::kHold;  // a broker answering the CONNECT
    const std::string data = "\"" + std::string(1000, 'x') + "\"";
    h.emit("user_10", "e", data);
    EXPECT_GT(client.core().queued_bytes(), 1000U);
    for (int i = 0; i < 100 && client.open(); ++i) h.emit("user_10", "e", data);
    EXPECT_FALSE(client.open());
}

TYPED_TEST(Session, AnEngineIoCloseEndsTheSessionAndLeavesItsRooms) {
    Harness h;
    TypeParam client(h);
    client.send("40{\"token\":\"" + token_for("11") + "\"}");
    ASSERT_EQ(h.worker->rooms().member_count("user_11"), 1U);
    const auto before =
        metrics::registry().disconnects[session::CloseReason::kClientClose].read();
    client.send("1");
    EXPECT_FALSE(client.open());
    EXPECT_EQ(h.worker->rooms().member_count("user_11"), 0U);
    EXPECT_EQ(metrics::registry().disconnects[session::CloseReason::kClientClose].read(), before + 1);
}

TYPED_TEST(Session, ServerDisconnectSendsASocketIoDisconnectThenCloses) {
    Harness h;
    TypeParam client(h);
    client.send("40{\"token\":\"" + token_for("12") + "\"}");
    (void)client.received();
    client.hold_get();
    client.core().disconnect();
    h.poll();
    const auto packets = client.received();
    EXPECT_TRUE(std::find(packets.begin(), packets.end(), "41") != packets.end());
    EXPECT_FALSE(client.open());
    EXPECT_EQ(h.worker->rooms().member_count("user_12"), 0U);
}

}  // namespace
}  // namespace nudge::net::test
