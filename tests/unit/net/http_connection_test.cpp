// HttpConnection's failure paths, deterministically: BasicHttpConnection over HttpTestStream
// with its n-th read or write failing, for n = 1, 2, ... until a run never reaches the n-th
// (Beast's fail-count loop), on the three paths the polling transport takes through it:
//   - a held GET whose client goes away;
//   - the cross-worker hand-off (a request for a session that lives on another worker moves
//     there, mid-message, with its stream);
//   - the upgrade probe (polling → WebSocket on the same stream).
// Whatever fails, each run ends with: no crash, every connection freed (its stream closed),
// the session either answered or closed and reaped, the held-GET gauge and the session count
// back where they were, and the close counted once when the client went away.
// (The Redis link lost mid-publish → 503 → resync loop is tests/unit/broker/redis_broker_fail_test.cpp.)
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../ws/client_frames.hpp"
#include "http_harness.hpp"
#include "metrics/metrics.hpp"
#include "net/polling_session.hpp"

namespace nudge::net {
template class BasicHttpConnection<test::HttpTestStream>;
}  // namespace nudge::net

namespace nudge::net::test {
namespace {

using ws::test::kFin;
using ws::test::masked_frame;
using ws::test::op;

std::int64_t transport_errors() {
    return metrics::registry().disconnects[session::CloseReason::kTransportError].read();
}

// Ends every session and checks nothing is left anywhere.
void expect_all_freed(Workers& w, const std::vector<std::shared_ptr<StreamState>>& streams,
                      std::int64_t held_before, const std::string& what) {
    w.end_all();
    for (const auto& s : streams) EXPECT_TRUE(s->closed) << what << ": a connection leaked";
    EXPECT_EQ(w.left(), 0U) << what;
    EXPECT_EQ(w.context.polling_sessions.load(), 0U) << what;
    EXPECT_EQ(metrics::registry().polling_held_gets.read(), held_before) << what;
}

// Runs `run(n, fail_reads)` for n = 1, 2, ... until it reports the n-th operation was never
// reached; checks the loop got past the first few operations.
template <class Run>
void fail_loop(Run run, bool fail_reads, std::size_t at_least) {
    for (std::size_t n = 1; n < 200; ++n) {
        if (run(n, fail_reads)) {
            EXPECT_GT(n, at_least) << (fail_reads ? "reads" : "writes") << " were covered";
            return;
        }
    }
    FAIL() << "the conversation kept going";
}

// A session opened, CONNECTed and polled on one keep-alive connection; its next GET is held,
// then the client goes away.
bool held_get_aborted(std::size_t n, bool fail_reads) {
    Workers w(1);
    const auto held_before = metrics::registry().polling_held_gets.read();
    const auto errors_before = transport_errors();
    Client c{w, std::make_shared<StreamState>(w.at(0).io())};
    (fail_reads ? c.s->fail_read_at : c.s->fail_write_at) = n;
    std::make_shared<TestHttp>(HttpTestStream(c.s), w.at(0))->start();
    const std::string what = std::string(fail_reads ? "read " : "write ") + std::to_string(n);
    const auto sid = c.open();
    bool held = false;
    if (sid) {
        const auto ok = c.ask(polling("POST", *sid, connect_packet()), 1);
        const auto connected = ok ? c.ask(polling("GET", *sid), 2) : std::nullopt;
        if (connected) {
            EXPECT_TRUE(connected->body.starts_with("40{")) << what;
            c.ask(polling("GET", *sid), 3);
            held = metrics::registry().polling_held_gets.read() == held_before + 1;
            // In its rooms while it lives (a GET that failed before it was held leaves the
            // session to its ping timeout).
            EXPECT_EQ(w.at(0).rooms().member_count("user_1"), 1U) << what;
        }
    }
    c.hang_up();
    if (held) {
        // The held GET's client went away: the session closed at once, counted once.
        EXPECT_EQ(w.at(0).polling_session(*sid), nullptr) << what;
        EXPECT_EQ(transport_errors(), errors_before + 1) << what;
    }
    expect_all_freed(w, {c.s}, held_before, what);
    return (fail_reads ? c.s->reads : c.s->writes) < n;
}

TEST(HttpConnection, EveryReadFailureAroundAHeldGetIsCleanedUp) { fail_loop(held_get_aborted, true, 4); }
TEST(HttpConnection, EveryWriteFailureAroundAHeldGetIsCleanedUp) { fail_loop(held_get_aborted, false, 3); }

// The session lives on worker 0; the client's second connection lands on worker 1, whose
// requests (a POST CONNECT, then GETs) move to worker 0 with the stream, mid-message.
bool hand_off(std::size_t n, bool fail_reads) {
    Workers w(2);
    const auto held_before = metrics::registry().polling_held_gets.read();
    Client first{w, w.connect(0)};
    const auto sid = first.open();
    EXPECT_TRUE(sid);
    if (!sid) return true;
    first.hang_up();  // the handshake's connection is done; the session lives on
    Client second{w, std::make_shared<StreamState>(w.at(1).io())};
    (fail_reads ? second.s->fail_read_at : second.s->fail_write_at) = n;
    std::make_shared<TestHttp>(HttpTestStream(second.s), w.at(1))->start();
    const std::string what = std::string(fail_reads ? "read " : "write ") + std::to_string(n);
    const auto ok = second.ask(polling("POST", *sid, connect_packet()), 0);
    PollingSession* session = w.at(0).polling_session(*sid);
    if (ok) {
        EXPECT_EQ(ok->status, 200U) << what;
        EXPECT_EQ(ok->body, "ok") << what;
        EXPECT_TRUE(session != nullptr && session->protocol().connected()) << what;
        EXPECT_EQ(second.s->io, &w.at(0).io()) << what << ": the stream moved to the session's worker";
        const auto connected = second.ask(polling("GET", *sid), 1);
        if (connected) {
            EXPECT_TRUE(connected->body.starts_with("40{")) << what;
            w.emit("user_1", "moved", "1");
            // Answered at once: the event was queued while no GET was held.
            const auto event = second.ask(polling("GET", *sid), 2);
            if (event) {
                EXPECT_EQ(event->body, R"(42["moved",1])") << what;
            }
        }
    }
    EXPECT_EQ(w.at(1).polling_session(*sid), nullptr) << what << ": the session never moves";
    second.hang_up();
    expect_all_freed(w, {first.s, second.s}, held_before, what);
    return (fail_reads ? second.s->reads : second.s->writes) < n;
}

TEST(HttpConnection, EveryReadFailureInTheCrossWorkerHandOffIsCleanedUp) { fail_loop(hand_off, true, 3); }
TEST(HttpConnection, EveryWriteFailureInTheCrossWorkerHandOffIsCleanedUp) { fail_loop(hand_off, false, 2); }

// A connected polling session with a held GET; a second connection upgrades it: the HTTP
// request, the 101, `2probe`/`3probe`, the held GET released with `6`, `5`, then an event on
// the WebSocket. The n-th operation of the upgrading connection fails.
bool upgrade_probe(std::size_t n, bool fail_reads) {
    Workers w(1);
    const auto held_before = metrics::registry().polling_held_gets.read();
    Client poll{w, w.connect(0)};
    const auto sid = poll.open();
    EXPECT_TRUE(sid);
    if (!sid) return true;
    EXPECT_TRUE(poll.ask(polling("POST", *sid, connect_packet()), 1));
    EXPECT_TRUE(poll.ask(polling("GET", *sid), 2));
    poll.ask(polling("GET", *sid), 3);  // held
    EXPECT_EQ(metrics::registry().polling_held_gets.read(), held_before + 1);

    auto s = std::make_shared<StreamState>(w.at(0).io());
    (fail_reads ? s->fail_read_at : s->fail_write_at) = n;
    std::make_shared<TestHttp>(HttpTestStream(s), w.at(0))->start();
    const std::string what = std::string(fail_reads ? "read " : "write ") + std::to_string(n);
    s->send(upgrade_request(*sid));
    w.poll();
    s->send(masked_frame(kFin | op(ws::Opcode::kText), "2probe"));
    w.poll();
    s->send(masked_frame(kFin | op(ws::Opcode::kText), "5"));
    w.poll();
    const bool polling_on = w.at(0).polling_session(*sid) != nullptr;
    const auto frames = server_frames(s->written);
    const bool upgraded = !polling_on && !s->closed && frames.size() >= 1 && frames[0].payload == "3probe";
    // One session, in its rooms once while it lives (polling, or the WebSocket after `5`).
    EXPECT_EQ(w.at(0).rooms().member_count("user_1"), polling_on || upgraded ? 1U : 0U) << what;
    if (upgraded) {
        EXPECT_EQ(answers(poll.s->written).back().body, "6") << what << ": the held GET released";
        w.emit("user_1", "after", "1");
        const auto after = server_frames(s->written);
        if (!s->closed) {
            EXPECT_EQ(after.back().payload, R"(42["after",1])") << what;
        }
    }
    poll.hang_up();
    s->peer_closed = true;
    s->notify();
    w.poll();
    expect_all_freed(w, {poll.s, s}, held_before, what);
    return (fail_reads ? s->reads : s->writes) < n;
}

TEST(HttpConnection, EveryReadFailureOfTheUpgradeProbeLeavesOneSession) { fail_loop(upgrade_probe, true, 3); }
TEST(HttpConnection, EveryWriteFailureOfTheUpgradeProbeLeavesOneSession) { fail_loop(upgrade_probe, false, 2); }

}  // namespace
}  // namespace nudge::net::test

namespace nudge::net::test {
namespace {

// A member of a room that notes, when an event reaches it, how many HTTP answers its
// publisher's stream had already written.
// A publish through the API with `body`, in one string.
std::string emit_request(const std::string& body) {
    return "POST /api/v1/emit HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer api-key-for-tests\r\n"
           "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

class AnswerWatcher final : public hub::Subscriber {
public:
    explicit AnswerWatcher(const StreamState& publisher) : publisher_(publisher) {}
    void deliver(const hub::Packet& /*packet*/) override {
        answers_before.push_back(answers(publisher_.written).size());
    }
    void disconnect() override {}
    std::vector<std::size_t> answers_before;

private:
    const StreamState& publisher_;
};

// Regression (CI run of 2026-12-07: two events published one after the other, each after the
// other's 202, reached a socket in the opposite order). The delivery a publish posts to its own
// worker waits in asio's thread-private queue until the handler returns; a 202 written inline
// let the client publish again through another worker, whose delivery went first. The answer
// is now posted behind that work: when the event reaches the socket, no 202 is out yet.
TEST(HttpConnection, APublishIsDeliveredOnItsOwnWorkerBeforeItsAnswerIsWritten) {
    Workers w(1);
    auto publisher = std::make_shared<StreamState>(w.at(0).io());
    AnswerWatcher member(*publisher);
    w.at(0).rooms().join("user_1", &member);
    std::make_shared<TestHttp>(HttpTestStream(publisher), w.at(0))->start();
    const std::string body = R"({"room":"user_1","event":"balance_updated"})";
    publisher->send(emit_request(body));
    w.poll();
    const auto written = answers(publisher->written);
    ASSERT_EQ(written.size(), 1U);
    EXPECT_EQ(written[0].status, 202U) << written[0].body;
    ASSERT_EQ(member.answers_before.size(), 1U);
    EXPECT_EQ(member.answers_before[0], 0U) << "the 202 was written before the event reached its room";
    w.at(0).rooms().leave_all(&member);
    publisher->peer_closed = true;
    publisher->notify();
    w.poll();
}

}  // namespace
}  // namespace nudge::net::test

namespace nudge::net::test {
namespace {

// How many handlers worker 0 runs, from the request's bytes to its answer, when the event's one
// recipient is on worker `member_worker`.
std::size_t handlers_to_answer(std::size_t member_worker) {
    Workers w(2);
    auto publisher = std::make_shared<StreamState>(w.at(0).io());
    AnswerWatcher member(*publisher);
    w.at(member_worker).rooms().join("user_1", &member);
    std::make_shared<TestHttp>(HttpTestStream(publisher), w.at(0))->start();
    w.poll();
    const std::string body = R"({"room":"user_1","event":"balance_updated"})";
    publisher->send(emit_request(body));
    std::size_t handlers = 0;
    w.at(0).io().restart();
    while (answers(publisher->written).empty() && w.at(0).io().poll_one() == 1) ++handlers;
    EXPECT_EQ(answers(publisher->written).size(), 1U);
    w.poll();
    EXPECT_EQ(member.answers_before.size(), 1U);
    w.at(member_worker).rooms().leave_all(&member);
    publisher->peer_closed = true;
    publisher->notify();
    w.poll();
    return handlers;
}

// A publish whose recipients are all on other workers left nothing behind on its own worker:
// its answer is written in the handler that read it, not posted (one turn of the loop less,
// and no second handler), while one with a recipient here still waits for that delivery (the
// test above).
TEST(HttpConnection, APublishWithNoRecipientOnItsWorkerIsAnsweredInline) {
    const std::size_t here = handlers_to_answer(0);
    const std::size_t elsewhere = handlers_to_answer(1);
    // Here: the delivery's handler and the answer's. Elsewhere: neither.
    EXPECT_EQ(elsewhere + 2, here);
}

// How many handlers a worker runs from a request's bytes to its answer, all sent at once.
std::size_t handlers_for(const std::string& request) {
    Workers w(1);
    auto client = std::make_shared<StreamState>(w.at(0).io());
    std::make_shared<TestHttp>(HttpTestStream(client), w.at(0))->start();
    w.poll();
    client->send(request);
    std::size_t handlers = 0;
    w.at(0).io().restart();
    while (answers(client->written).empty() && w.at(0).io().poll_one() == 1) ++handlers;
    EXPECT_EQ(answers(client->written).size(), 1U) << request;
    client->peer_closed = true;
    client->notify();
    w.poll();
    return handlers;
}

// A body that came in the same read as its header is parsed from the buffer at once: the
// request costs no more turns of the loop than one refused on its header alone (conflicting
// framing, answered before any body is read). http::async_read would post its completion.
TEST(HttpConnection, ABodyThatCameWithItsHeaderIsParsedWithoutAnotherTurn) {
    const std::string body = R"({"room":"nobody_here","event":"balance_updated"})";
    const std::size_t publish = handlers_for(emit_request(body));
    const std::size_t refused = handlers_for(
        "POST /api/v1/emit HTTP/1.1\r\nHost: hub\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_EQ(publish, refused);
    // A body that comes later is still read.
    Workers w(1);
    auto client = std::make_shared<StreamState>(w.at(0).io());
    std::make_shared<TestHttp>(HttpTestStream(client), w.at(0))->start();
    const std::string request = emit_request(body);
    const std::size_t split = request.size() - body.size() + 10;
    client->send(request.substr(0, split));
    w.poll();
    EXPECT_TRUE(answers(client->written).empty());
    client->send(request.substr(split));
    w.poll();
    const auto written = answers(client->written);
    ASSERT_EQ(written.size(), 1U);
    EXPECT_EQ(written[0].status, 202U) << written[0].body;
    client->peer_closed = true;
    client->notify();
    w.poll();
}

}  // namespace
}  // namespace nudge::net::test
