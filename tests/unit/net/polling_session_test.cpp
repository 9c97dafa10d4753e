// PollingSession's own paths, deterministically: a held GET whose client goes away, and the
// Engine.IO upgrade with its probe failing at every read and every write in turn (Beast's
// fail-count loop): whatever fails, the client's session is in its rooms exactly once while
// it lives, and every piece is reaped once it ends.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../ws/client_frames.hpp"
#include "harness.hpp"
#include "metrics/metrics.hpp"
#include "net/polling_session.hpp"

namespace nudge::net::test {
namespace {

using Clock = session::Protocol::Clock;
using ws::test::kFin;
using ws::test::masked_frame;
using ws::test::op;

std::string text(std::string_view payload) {
    return masked_frame(kFin | op(ws::Opcode::kText), payload);
}

struct RecordedGet final : PollRequest {
    void hold(PollingSession& /*session*/) override { held = true; }
    void answer_poll(std::string payload) override { answers.push_back(std::move(payload)); }
    void answer_error(eio::HandshakeError e) override { errors.push_back(e); }
    bool held = false;
    std::vector<std::string> answers;
    std::vector<eio::HandshakeError> errors;
};

// A polling session of user 1, connected, its CONNECT answer read.
PollingSession& connected_session(Harness& h) {
    PollingSession& session = PollingSession::open(*h.worker, 0);
    EXPECT_FALSE(session.on_post(std::string(R"(40{"token":")") +
                                 hs256(R"({"sub":"1","rooms":["all"]})") + "\"}"));
    auto get = std::make_shared<RecordedGet>();
    session.on_poll(get);
    h.poll();
    EXPECT_EQ(get->answers.size(), 1U);
    return session;
}

TEST(PollingSession, AHeldGetWhoseClientGoesAwayEndsTheSession) {
    Harness h;
    PollingSession& session = connected_session(h);
    const std::string sid(session.sid());
    auto get = std::make_shared<RecordedGet>();
    session.on_poll(get);
    ASSERT_TRUE(get->held);
    const auto before =
        metrics::registry().disconnects[session::CloseReason::kTransportError].read();
    session.on_poll_aborted();
    EXPECT_EQ(h.worker->polling_session(sid), nullptr);
    EXPECT_EQ(h.worker->rooms().member_count("user_1"), 0U);
    EXPECT_EQ(metrics::registry().disconnects[session::CloseReason::kTransportError].read(),
              before + 1);
    EXPECT_TRUE(get->answers.empty()) << "nobody is left to answer";
    h.tick(Clock::now());
    EXPECT_EQ(h.worker->reap(), 0U);
    EXPECT_EQ(h.context.polling_sessions.load(), 0U);
}

// Queues two events to user 1, the second `big_size` bytes of data; returns their packets.
std::vector<std::string> queue_two_events(Harness& h, std::size_t big_size) {
    std::string big(big_size, 'x');
    big.front() = big.back() = '"';
    h.emit("user_1", "a", "1");
    h.emit("user_1", "b", big);
    return {R"(42["a",1])", R"(42["b",)" + big + "]"};
}

// A GET answer is the queued packets as the hub encoded them, joined with 0x1E (Engine.IO v4
// payload): nothing is unwrapped, whatever a packet's length.
TEST(PollingSession, AGetAnswerJoinsTheQueuedPacketsWithTheRecordSeparator) {
    Harness h;
    PollingSession& session = connected_session(h);
    const auto packets = queue_two_events(h, 70000);
    h.emit("all", "c");
    auto get = std::make_shared<RecordedGet>();
    session.on_poll(get);
    h.poll();
    const std::string expected = packets[0] + "\x1e" + packets[1] + "\x1e" + R"(42["c"])";
    EXPECT_EQ(get->answers, std::vector<std::string>{expected});
}

// What a polling session queued goes out on the WebSocket it upgrades to, framed there.
TEST(PollingSession, ABacklogTakenOverByAnUpgradeIsFramedByTheWebSocket) {
    Harness h;
    PollingSession& session = connected_session(h);
    const auto packets = queue_two_events(h, 300);
    auto s = std::make_shared<StreamState>(h.worker->io());
    TestConnection::start(TestStream(s), *h.worker, "ACCEPT", {}, 0, &session);
    h.poll();
    s->send(text("2probe"));
    h.poll();
    s->send(text("5"));
    h.poll();
    std::string rest;
    std::vector<std::string> payloads;
    for (const auto& frame : server_frames(s->written, &rest)) payloads.push_back(frame.payload);
    EXPECT_TRUE(rest.empty());
    EXPECT_EQ(payloads, (std::vector<std::string>{"3probe", packets[0], packets[1]}));
}

// Runs one upgrade whose probe stream fails at the n-th read or write; returns true when the
// run never reached that operation. Checks the invariants whatever happened.
bool upgrade_with_failure(std::size_t n, bool fail_reads) {
    Harness h;
    PollingSession& session = connected_session(h);
    const std::string sid(session.sid());
    auto s = std::make_shared<StreamState>(h.worker->io());
    (fail_reads ? s->fail_read_at : s->fail_write_at) = n;
    TestConnection& probe = TestConnection::start(TestStream(s), *h.worker, "ACCEPT", {}, 0, &session);
    h.poll();
    s->send(text("2probe"));
    h.poll();
    s->send(text("5"));
    h.poll();
    const bool polling = h.worker->polling_session(sid) != nullptr;
    const bool upgraded = !polling && probe.is_open();
    const char* what = fail_reads ? "read " : "write ";
    // One session, in its rooms once while it lives (polling, or the WebSocket after `5`).
    EXPECT_EQ(h.worker->rooms().member_count("user_1"), polling || upgraded ? 1U : 0U) << what << n;
    h.emit("user_1", "after", "1");
    if (upgraded && probe.is_open()) {
        EXPECT_NE(s->written.find(R"(42["after",1])"), std::string::npos) << what << n;
    } else if (polling) {
        auto get = std::make_shared<RecordedGet>();
        h.worker->polling_session(sid)->on_poll(get);
        h.poll();
        EXPECT_EQ(get->answers, std::vector<std::string>{R"(42["after",1])"}) << what << n;
    }
    // Everything ends and is reaped: no pending wait, the session count back to zero.
    if (PollingSession* left = h.worker->polling_session(sid)) {
        left->close(session::CloseReason::kServerShutdown);
    }
    s->peer_closed = true;
    s->notify();
    h.poll();
    h.tick(Clock::now() + std::chrono::minutes(1));
    h.tick(Clock::now() + std::chrono::minutes(2));
    EXPECT_EQ(h.worker->connection_count(), 0U) << what << n;
    EXPECT_EQ(h.worker->reap(), 0U) << what << n;
    EXPECT_EQ(h.context.polling_sessions.load(), 0U) << what << n;
    EXPECT_EQ(h.worker->rooms().room_count(), 0U) << what << n;
    // Done when the n-th operation was never reached: every earlier one has failed once.
    return (fail_reads ? s->reads : s->writes) < n;
}

TEST(PollingSession, EveryProbeWriteFailureLeavesOneSession) {
    for (std::size_t n = 1; n < 50; ++n) {
        if (upgrade_with_failure(n, false)) {
            EXPECT_GT(n, 3U) << "the probe's writes were covered";
            return;
        }
    }
    FAIL() << "the probe kept writing";
}

TEST(PollingSession, EveryProbeReadFailureLeavesOneSession) {
    for (std::size_t n = 1; n < 50; ++n) {
        if (upgrade_with_failure(n, true)) {
            EXPECT_GT(n, 3U) << "the probe's reads were covered";
            return;
        }
    }
    FAIL() << "the probe kept reading";
}

}  // namespace
}  // namespace nudge::net::test
