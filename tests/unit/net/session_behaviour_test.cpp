// One behaviour suite, run over both transports (GoogleTest typed tests): whatever carries a
// client's bytes — a WebSocket or HTTP long-polling — the session behaves the same, because
// SessionCore is one. Each client enters through its real door, BasicHttpConnection over
// HttpTestStream (a WebSocket upgrade, or polling requests), on real Workers.
// Behaviours: CONNECT, an event delivered, the pre-CONNECT payload limit, the subscribe hook's
// per-connection slots, and the close bookkeeping.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../ws/client_frames.hpp"
#include "http_harness.hpp"
#include "metrics/metrics.hpp"

namespace nudge::net::test {
namespace {

using ws::test::kFin;
using ws::test::masked_frame;
using ws::test::op;

// A client on the WebSocket transport: one stream, upgraded on its first request.
class WebSocketClient {
public:
    explicit WebSocketClient(Workers& w) : w_(w), s_(std::make_shared<StreamState>(w.at(0).io())) {
        std::make_shared<TestHttp>(HttpTestStream(s_), w.at(0))->start();
        s_->send(upgrade_request({}));
        w_.poll();
        const auto frames = server_frames(s_->written);
        EXPECT_FALSE(frames.empty());
        if (!frames.empty()) {
            EXPECT_TRUE(frames[0].payload.starts_with("0{")) << frames[0].payload;
        }
        seen_ = frames.size();
    }
    // Sends one Engine.IO packet (text).
    void send(std::string_view packet) {
        s_->send(masked_frame(kFin | op(ws::Opcode::kText), packet));
        w_.poll();
    }
    // The text packets received since the last call.
    std::vector<std::string> received() {
        const auto frames = server_frames(s_->written);
        std::vector<std::string> out;
        for (std::size_t i = seen_; i < frames.size(); ++i) {
            if (frames[i].opcode == static_cast<std::uint8_t>(ws::Opcode::kText)) out.push_back(frames[i].payload);
        }
        seen_ = frames.size();
        return out;
    }
    // The client ends the session as socket.io-client does (Engine.IO close), then hangs up.
    void leave() {
        send("1");
        s_->peer_closed = true;
        s_->notify();
        w_.poll();
    }
    void hang_up() {
        s_->peer_closed = true;
        s_->notify();
        w_.poll();
    }

private:
    Workers& w_;
    std::shared_ptr<StreamState> s_;
    std::size_t seen_ = 0;
};

// A client on the long-polling transport: a POST connection and a GET connection (keep-alive,
// as a browser keeps them), the GET sent again once answered.
class PollingClient {
public:
    explicit PollingClient(Workers& w) : w_(w), post_{w, w.connect(0)}, get_{w, w.connect(0)} {
        sid_ = post_.open().value_or("");
        EXPECT_FALSE(sid_.empty());
        posts_ = 1;
    }
    void send(std::string_view packet) {
        post_.ask(polling("POST", sid_, packet), posts_++);
    }
    std::vector<std::string> received() {
        if (!get_pending_ && !get_.s->closed) {
            get_.s->send(polling("GET", sid_));
            get_pending_ = true;
        }
        w_.poll();
        std::vector<std::string> out;
        const auto all = answers(get_.s->written);
        for (; gets_answered_ < all.size(); ++gets_answered_) {
            get_pending_ = false;
            std::string_view body = all[gets_answered_].body;
            // Engine.IO v4 payload: packets separated by 0x1E.
            for (std::size_t at = 0; at <= body.size();) {
                const auto end = std::min(body.find('\x1e', at), body.size());
                out.emplace_back(body.substr(at, end - at));
                at = end + 1;
            }
        }
        return out;
    }
    void leave() {
        send("1");
        hang_up();
    }
    void hang_up() {
        post_.hang_up();
        get_.hang_up();
    }
    [[nodiscard]] unsigned last_post_status() const {
        const auto all = answers(post_.s->written);
        return all.empty() ? 0 : all.back().status;
    }

private:
    Workers& w_;
    Client post_;
    Client get_;
    std::string sid_;
    std::size_t posts_ = 0;
    std::size_t gets_answered_ = 0;
    bool get_pending_ = false;
};

template <class Transport>
class SessionBehaviour : public ::testing::Test {};

using Transports = ::testing::Types<WebSocketClient, PollingClient>;
TYPED_TEST_SUITE(SessionBehaviour, Transports);

bool contains_prefix(const std::vector<std::string>& packets, std::string_view prefix) {
    return std::any_of(packets.begin(), packets.end(),
                       [&](const std::string& p) { return p.starts_with(prefix); });
}

std::int64_t closes(session::CloseReason reason) {
    return metrics::registry().disconnects[reason].read();
}

TYPED_TEST(SessionBehaviour, ConnectIsAnsweredAndJoinsTheUserRoom) {
    Workers w(1);
    const auto sessions = metrics::registry().sessions.read();
    TypeParam client(w);
    client.send(connect_packet());
    const auto packets = client.received();
    EXPECT_TRUE(contains_prefix(packets, R"(40{"sid":")")) << ::testing::PrintToString(packets);
    EXPECT_EQ(metrics::registry().sessions.read(), sessions + 1);
    EXPECT_EQ(w.at(0).rooms().member_count("user_1"), 1U);
    client.hang_up();
    w.end_all();
    EXPECT_EQ(w.left(), 0U);
}

TYPED_TEST(SessionBehaviour, AnEventForTheUserIsDelivered) {
    Workers w(1);
    TypeParam client(w);
    client.send(connect_packet());
    (void)client.received();
    w.emit("user_1", "balance_updated", R"({"n":1})");
    w.emit("someone_else", "not_mine", "2");
    w.emit("all", "marker", "3");
    EXPECT_EQ(client.received(),
              (std::vector<std::string>{R"(42["balance_updated",{"n":1}])", R"(42["marker",3])"}));
    client.hang_up();
    w.end_all();
    EXPECT_EQ(w.left(), 0U);
}

// --max-unauthenticated-payload holds before CONNECT on both transports (issue 20: polling
// once took ~1 MB), and a payload under it is read.
TYPED_TEST(SessionBehaviour, APayloadOverThePreConnectLimitClosesTheSession) {
    Workers w(1, [](ServerContext& c) { c.limits.max_unauthenticated_message = 1024; });
    const auto too_large = closes(session::CloseReason::kPayloadTooLarge);
    TypeParam small(w);
    small.send(R"(40{"token":"not-a-jwt","pad":")" + std::string(800, 'x') + "\"}");
    EXPECT_TRUE(contains_prefix(small.received(), "44{")) << "read and refused as a CONNECT";
    EXPECT_EQ(closes(session::CloseReason::kPayloadTooLarge), too_large);

    TypeParam large(w);
    large.send(R"(40{"token":"x","pad":")" + std::string(2000, 'x') + "\"}");
    EXPECT_EQ(closes(session::CloseReason::kPayloadTooLarge), too_large + 1);
    EXPECT_EQ(w.at(0).rooms().member_count("user_1"), 0U);
    small.hang_up();
    large.hang_up();
    w.end_all();
    EXPECT_EQ(w.left(), 0U);
}

// A hook that accepts calls and never answers: every question stays in flight.
struct SilentHook {
    explicit SilentHook(boost::asio::io_context& io)
        : acceptor(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        accept();
    }
    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
            if (ec) return;
            held.push_back(std::move(s));
            accept();
        });
    }
    boost::asio::ip::tcp::acceptor acceptor;
    std::vector<boost::asio::ip::tcp::socket> held;
};

// Both transports get the same subscribe-hook slots per connection (issue 20: polling once
// counted a pending recovery as one, and got one fewer).
TYPED_TEST(SessionBehaviour, SubscribeHookSlotsPerConnection) {
    boost::asio::io_context hook_io;
    SilentHook hook(hook_io);
    session::Config config;
    config.subscribe_hook = true;
    Workers w(1, [&](ServerContext& c) {
        c.subscribe_hook.url = "http://127.0.0.1/hook";
        c.subscribe_hook_target = HookTarget{"127.0.0.1", "/hook", {hook.acceptor.local_endpoint()}};
    }, config);
    auto& subscriptions = metrics::registry().subscriptions;
    const auto busy = subscriptions[session::SubscribeOutcome::kBusy].read();
    TypeParam client(w);
    client.send(connect_packet());
    (void)client.received();
    const std::size_t slots = config.max_pending_subscribes;
    for (std::size_t i = 0; i < slots + 2; ++i) {
        client.send("42" + std::to_string(10 + i) + R"(["nudge:subscribe",{"room":"team_)" +
                    std::to_string(i) + "\"}]");
    }
    // The two past the slots are answered busy at once; the others wait for the hook.
    EXPECT_EQ(subscriptions[session::SubscribeOutcome::kBusy].read(), busy + 2);
    const auto acks = client.received();
    EXPECT_EQ(acks.size(), 2U) << ::testing::PrintToString(acks);
    for (const auto& ack : acks) EXPECT_NE(ack.find("busy"), std::string::npos) << ack;
    client.hang_up();
    hook_io.poll();     // accepts the calls still in the backlog
    EXPECT_EQ(hook.held.size(), slots) << "one call per slot reached the hook";
    hook.held.clear();  // the hook's connections end: the waiting questions are answered
    w.end_all();
    EXPECT_EQ(w.left(), 0U) << "every question in flight ended with the hook's connections";
}

TYPED_TEST(SessionBehaviour, TheClientsCloseIsCountedOnceAndEverythingIsFreed) {
    Workers w(1);
    const auto sessions = metrics::registry().sessions.read();
    const auto client_closes = closes(session::CloseReason::kClientClose);
    const auto errors = closes(session::CloseReason::kTransportError);
    TypeParam client(w);
    client.send(connect_packet());
    (void)client.received();
    client.leave();
    EXPECT_EQ(closes(session::CloseReason::kClientClose), client_closes + 1);
    EXPECT_EQ(closes(session::CloseReason::kTransportError), errors) << "counted once";
    EXPECT_EQ(metrics::registry().sessions.read(), sessions);
    EXPECT_EQ(w.at(0).rooms().member_count("user_1"), 0U);
    w.end_all();
    EXPECT_EQ(w.left(), 0U);
    EXPECT_EQ(w.context.polling_sessions.load(), 0U);
}

}  // namespace
}  // namespace nudge::net::test
