// WsConnection over the scripted TestStream: every path the attack and failure reports of the
// connection-layer issue went through, deterministically (no sockets, no sleeping).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "../ws/client_frames.hpp"
#include "harness.hpp"

namespace nudge::net::test {
namespace {

using namespace std::chrono_literals;
using Clock = session::Protocol::Clock;
using ws::test::kFin;
using ws::test::masked_frame;
using ws::test::op;

std::string text(std::string_view payload) { return client_text(payload); }
std::string ping(std::string_view payload = {}) { return masked_frame(kFin | op(ws::Opcode::kPing), payload); }

std::uint16_t close_code(const ServerFrame& frame) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(frame.payload[0]) << 8) |
                                      static_cast<unsigned char>(frame.payload[1]));
}

// Frames written after the handshake and the open packet.
std::vector<ServerFrame> frames_of(const StreamState& s, std::string* rest = nullptr) {
    return server_frames(s.written, rest);
}

Limits small_limits() {
    Limits limits;
    limits.max_send_queue_bytes = 64 * 1024;
    limits.send_queue_high_watermark = 16 * 1024;
    limits.send_queue_low_watermark = 4 * 1024;
    limits.slow_consumer_timeout = 2s;
    limits.close_timeout = 3s;
    return limits;
}

TEST(WsConnection, HandshakeThenOpenPacketThenConnectAnswer) {
    Harness h;
    auto s = h.connect();
    EXPECT_EQ(s->written.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0U);
    s->send(connect_frame());
    h.poll();
    const auto frames = frames_of(*s);
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(frames[0].payload.rfind("0{\"sid\":", 0), 0U);
    EXPECT_EQ(frames[1].payload.rfind("40{\"sid\":", 0), 0U);
    EXPECT_EQ(h.worker->rooms().member_count("user_1"), 1U);
}

TEST(WsConnection, FanOutIsWrittenStraightFromStagedFramesInOrder) {
    Harness h;
    TestConnection* c = nullptr;
    auto s = h.connect(&c);
    s->send(connect_frame());
    h.poll();
    h.emit("user_1", "a", "1");
    h.emit("all", "b", "2");
    EXPECT_EQ(c->queued_bytes(), 0U);  // nothing was copied into a queue
    const auto frames = frames_of(*s);
    ASSERT_EQ(frames.size(), 4U);
    EXPECT_EQ(frames[2].payload, R"(42["a",1])");
    EXPECT_EQ(frames[3].payload, R"(42["b",2])");
}

TEST(WsConnection, StalledClientQueuesAndCatchesUpInOrder) {
    Harness h;
    TestConnection* c = nullptr;
    auto s = h.connect(&c);
    s->send(connect_frame());
    h.poll();
    s->set_write_capacity(5);  // part of the first event, then the kernel is full
    for (int i = 0; i < 10; ++i) h.emit("user_1", "e", std::to_string(i));
    EXPECT_GT(c->queued_bytes(), 0U);
    s->set_write_capacity(std::numeric_limits<std::size_t>::max());
    h.poll();
    EXPECT_EQ(c->queued_bytes(), 0U);
    std::string rest;
    const auto frames = frames_of(*s, &rest);
    EXPECT_TRUE(rest.empty());
    ASSERT_EQ(frames.size(), 12U);
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(frames[static_cast<std::size_t>(i) + 2].payload, "42[\"e\"," + std::to_string(i) + "]");
    }
}

// The first defect of the issue: pings from a client that never reads made the hub queue
// pongs without bound (10 MiB → 2.4 GiB). Now reading stops at the high watermark, the
// queue stays under the hard limit, and the client is dropped after --slow-consumer-timeout.
void expect_flood_is_bounded(const std::string& one_message, bool authenticate) {
    Limits limits;
    limits.max_send_queue_bytes = 1024 * 1024;
    limits.send_queue_high_watermark = 64 * 1024;
    limits.send_queue_low_watermark = 16 * 1024;
    limits.slow_consumer_timeout = 2s;
    limits.close_timeout = 10s;
    Harness h(limits);
    TestConnection* c = nullptr;
    auto s = h.connect(&c);
    if (authenticate) {
        s->send(connect_frame());
        h.poll();
    }
    s->set_write_capacity(0);  // never reads
    std::string flood;
    while (flood.size() < 4 * 1024 * 1024) flood += one_message;
    s->send(flood);
    h.poll();
    h.poll();
    EXPECT_TRUE(c->is_open());
    EXPECT_TRUE(c->reading_paused());
    EXPECT_GT(c->queued_bytes(), limits.send_queue_high_watermark);
    EXPECT_LE(c->queued_bytes(), limits.max_send_queue_bytes);
    EXPECT_GT(s->inbound.size(), flood.size() - 128 * 1024);  // it stopped reading
    const std::size_t written_before = s->written.size();

    h.tick(Clock::now() + 1s);
    EXPECT_TRUE(c->is_open());  // above the mark, but not for long enough yet
    h.tick(Clock::now() + limits.slow_consumer_timeout + 1s);
    EXPECT_FALSE(c->is_open());
    s->set_write_capacity(std::numeric_limits<std::size_t>::max());
    h.poll();
    // The backlog was dropped; the close frame is all that follows.
    std::string rest;
    const auto frames = server_frames(std::string_view(s->written).substr(written_before), &rest);
    EXPECT_TRUE(rest.empty());
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].opcode, 0x8);
    EXPECT_EQ(close_code(frames[0]), 1008);
    EXPECT_TRUE(s->shut_down);
    s->peer_closed = true;
    s->notify();
    h.poll();
    EXPECT_TRUE(s->closed);
    h.tick(Clock::now());
    EXPECT_EQ(h.worker->reap(), 0U);  // freed
}

TEST(WsConnection, WebSocketPingFloodFromANonReaderIsBounded) {
    expect_flood_is_bounded(ping("0123456789"), false);
}

TEST(WsConnection, EngineIoPingFloodFromANonReaderIsBounded) { expect_flood_is_bounded(text("2"), false); }

TEST(WsConnection, AckFloodFromANonReaderIsBounded) {
    expect_flood_is_bounded(text(R"(421["x"])"), true);
}

// With a hard limit smaller than one read's replies, the flood is cut at once instead.
TEST(WsConnection, FloodPastTheHardLimitIsDroppedAtOnce) {
    Limits limits = small_limits();
    Harness h(limits);
    TestConnection* c = nullptr;
    auto s = h.connect(&c);
    s->set_write_capacity(0);
    std::string flood;
    while (flood.size() < 1024 * 1024) flood += ping("0123456789");
    s->send(flood);
    h.poll();
    EXPECT_FALSE(c->is_open());
    EXPECT_LE(c->queued_bytes(), 200U);  // only the close frame is left to write
}

TEST(WsConnection, SlowConsumerGetsTheFrameInProgressThenACompleteClose1008) {
    Limits limits = small_limits();
    Harness h(limits);
    TestConnection* c = nullptr;
    auto s = h.connect(&c);
    s->send(connect_frame());
    h.poll();
    const std::string big(20000, 'x');
    s->set_write_capacity(1000);  // the first event goes out in part, then the kernel is full
    h.emit("user_1", "big", "\"" + big + "\"");
    for (int i = 0; i < 5; ++i) h.emit("user_1", "big", "\"" + big + "\"");  // past 64 KiB
    EXPECT_FALSE(c->is_open());
    s->set_write_capacity(std::numeric_limits<std::size_t>::max());
    h.poll();
    std::string rest;
    const auto frames = frames_of(*s, &rest);
    EXPECT_TRUE(rest.empty()) << "a frame was cut: " << rest.size() << " bytes left over";
    ASSERT_EQ(frames.size(), 4U);  // open, CONNECT answer, the event in progress, the close
    EXPECT_EQ(frames[2].payload, R"(42["big",")" + big + "\"]");
    EXPECT_EQ(frames[3].opcode, 0x8);
    EXPECT_EQ(close_code(frames[3]), 1008);
    EXPECT_EQ(frames[3].payload.substr(2), "slow consumer");
    EXPECT_EQ(h.worker->rooms().member_count("user_1"), 0U);
}

TEST(WsConnection, ACloseTheClientNeverTakesIsCutAtTheCloseTimeout) {
    Limits limits = small_limits();
    Harness h(limits);
    auto s = h.connect();
    s->set_write_capacity(0);
    s->send(text("1"));  // Engine.IO close: answered with a WebSocket close that cannot go out
    h.poll();
    EXPECT_FALSE(s->closed);
    h.tick(Clock::now() + 1s);
    EXPECT_FALSE(s->closed);
    h.tick(Clock::now() + limits.close_timeout + 1s);
    EXPECT_TRUE(s->closed);
}

TEST(WsConnection, EngineIoCloseIsAnsweredWithAWebSocketClose1000) {
    Harness h;
    auto s = h.connect();
    s->send(text("1"));
    h.poll();
    const auto frames = frames_of(*s);
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(frames[1].opcode, 0x8);
    EXPECT_EQ(close_code(frames[1]), 1000);
    EXPECT_TRUE(s->shut_down);
}

TEST(WsConnection, ServerShutdownSendsOnlyAWebSocketClose1001) {
    Harness h;
    TestConnection* c = nullptr;
    auto s = h.connect(&c);
    s->send(connect_frame());
    h.poll();
    c->close(session::CloseReason::kServerShutdown);
    h.poll();
    const auto frames = frames_of(*s);
    ASSERT_EQ(frames.size(), 3U);  // open, CONNECT answer, close: no Engine.IO "1" before it
    EXPECT_EQ(frames[2].opcode, 0x8);
    EXPECT_EQ(close_code(frames[2]), 1001);
}

TEST(WsConnection, MessagesBeforeAuthenticationAreSmall) {
    Harness h;  // 16 KiB before CONNECT, --max-payload after
    auto s = h.connect();
    s->send(text("42[\"x\",\"" + std::string(20000, 'a') + "\"]"));
    h.poll();
    auto frames = frames_of(*s);
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(close_code(frames[1]), 1009);

    Harness h2;
    auto s2 = h2.connect();
    s2->send(connect_frame());
    s2->send(text("421[\"x\",\"" + std::string(20000, 'a') + "\"]"));
    h2.poll();
    frames = frames_of(*s2);
    ASSERT_EQ(frames.size(), 3U);
    EXPECT_EQ(frames[2].payload.rfind("431[", 0), 0U);  // acknowledged, still open
}

TEST(WsConnection, PartialMessageBudgetClosesTheNewestOffender) {
    Limits limits;
    limits.max_partial_bytes = 64 * 1024;
    limits.max_unauthenticated_message = 1024 * 1024;
    Harness h(limits);
    auto a = h.connect();
    auto b = h.connect();
    // Each sends 40 KiB of a fragmented message and never finishes it.
    const std::string fragment = masked_frame(op(ws::Opcode::kText), std::string(8000, 'a'));
    std::string partial;
    for (int i = 0; i < 5; ++i) partial += (i == 0 ? fragment : masked_frame(0x00, std::string(8000, 'a')));
    a->send(partial);
    h.poll();
    EXPECT_GE(h.context.partial_bytes.load(), 40000U);
    b->send(partial);
    h.poll();
    const auto fb = frames_of(*b);
    ASSERT_EQ(fb.size(), 2U);
    EXPECT_EQ(close_code(fb[1]), 1008);
    EXPECT_EQ(frames_of(*a).size(), 1U);  // a keeps its message
    EXPECT_LT(h.context.partial_bytes.load(), 64U * 1024);
    a->peer_closed = true;
    a->notify();
    h.poll();
    EXPECT_EQ(h.context.partial_bytes.load(), 0U);  // everything given back
}

// Beast's doFailLoop: fail the 1st, 2nd, ... read or write of a whole session until a run
// completes without reaching the failure. Every run must end closed and freed (ASan checks
// the memory) with the budgets given back.
void run_session(Harness& h, const std::shared_ptr<StreamState>& s) {
    s->send(connect_frame());
    s->send(ping("p"));
    s->send(text("2"));
    s->send(text(R"(421["x"])"));
    h.poll();
    for (int i = 0; i < 3; ++i) h.emit("user_1", "e", std::to_string(i));
    s->set_write_capacity(3);
    h.emit("all", "stalled", "1");
    s->set_write_capacity(std::numeric_limits<std::size_t>::max());
    h.poll();
    s->send(text("1"));
    h.poll();
    s->peer_closed = true;
    s->notify();
    h.poll();
}

TEST(WsConnection, EveryWriteFailureClosesCleanly) {
    for (std::size_t n = 1; n < 100; ++n) {
        Harness h;
        auto s = std::make_shared<StreamState>(h.worker->io());
        s->fail_write_at = n;
        TestConnection::start(TestStream(s), *h.worker, "ACCEPT", {});
        h.poll();
        run_session(h, s);
        h.tick(Clock::now());
        EXPECT_TRUE(s->closed) << "write " << n;
        EXPECT_EQ(h.worker->connection_count(), 0U) << "write " << n;
        EXPECT_EQ(h.worker->reap(), 0U) << "write " << n;
        EXPECT_EQ(h.worker->rooms().room_count(), 0U) << "write " << n;
        if (s->writes < n) return;  // the session never reached the n-th write: all covered
    }
    FAIL() << "the session kept writing";
}

TEST(WsConnection, EveryReadFailureClosesCleanly) {
    for (std::size_t n = 1; n < 100; ++n) {
        Harness h;
        auto s = std::make_shared<StreamState>(h.worker->io());
        s->fail_read_at = n;
        TestConnection::start(TestStream(s), *h.worker, "ACCEPT", {});
        h.poll();
        run_session(h, s);
        h.tick(Clock::now());
        EXPECT_TRUE(s->closed) << "read " << n;
        EXPECT_EQ(h.worker->connection_count(), 0U) << "read " << n;
        EXPECT_EQ(h.worker->reap(), 0U) << "read " << n;
        EXPECT_EQ(h.context.partial_bytes.load(), 0U) << "read " << n;
        if (s->reads < n) return;
    }
    FAIL() << "the session kept reading";
}

TEST(WsConnection, PerAddressSlotIsGivenBackWhenTheConnectionEnds) {
    Limits limits;
    limits.admission.max_connections_per_ip = 1;
    Harness h(limits);
    const auto address = boost::asio::ip::make_address("127.0.0.9");
    std::uint32_t key = 0;
    ASSERT_EQ(h.context.admission.admit(address, key), Admission::Verdict::kAdmitted);
    auto s = std::make_shared<StreamState>(h.worker->io());
    TestConnection::start(TestStream(s), *h.worker, "ACCEPT", {}, key);
    h.poll();
    EXPECT_EQ(h.context.admission.open_from(address), 1U);
    s->peer_closed = true;
    s->notify();
    h.poll();
    EXPECT_EQ(h.context.admission.open_from(address), 0U);
}

// Live events held while the broker answers a CONNECT are bytes for the client like queued
// ones: charged to the send budget, and a client whose held events pass it is dropped.
TEST(WsConnection, HeldEventsAreChargedToTheSendBudget) {
    Harness h(small_limits());
    TestConnection* c = nullptr;
    auto s = h.connect(&c);
    s->send(connect_frame());
    h.poll();
    c->deliver_from = hub::Subscriber::kHold;  // as while a Redis broker answers the CONNECT
    const std::string data = "\"" + std::string(1000, 'x') + "\"";
    h.emit("user_1", "e", data);
    EXPECT_GT(c->queued_bytes(), 1000U);
    EXPECT_TRUE(c->is_open());
    for (int i = 0; i < 80 && c->is_open(); ++i) h.emit("user_1", "e", data);
    EXPECT_FALSE(c->is_open());
    EXPECT_LE(c->queued_bytes(), small_limits().max_send_queue_bytes);
}

}  // namespace
}  // namespace nudge::net::test
