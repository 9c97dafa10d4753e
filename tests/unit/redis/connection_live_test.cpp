// Connection (the production tcp::socket instantiation) against a real redis-server started by
// each test on a free port: pipelining, AUTH and ACL users, SELECT, CLIENT SETNAME, classic and
// sharded pub/sub, a killed or stopped server, and the cluster helpers checked against Redis.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis/cluster.hpp"
#include "redis/connection.hpp"
#include "redis/url.hpp"
#include "redis_server.hpp"

namespace nudge::redis {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;

std::string text_of(const Reply& reply) {
    if (!reply) return "<null>";
    switch (reply->type) {
        case REDIS_REPLY_INTEGER:
            return ":" + std::to_string(reply->integer);
        case REDIS_REPLY_NIL:
            return "<nil>";
        case REDIS_REPLY_ERROR:
            return "-" + std::string(as_view(*reply));
        case REDIS_REPLY_ARRAY: {
            std::string out = "[";
            for (std::size_t i = 0; i < reply->elements; ++i) {
                if (i > 0) out += ",";
                const redisReply& e = *reply->element[i];
                out += e.type == REDIS_REPLY_INTEGER ? ":" + std::to_string(e.integer)
                                                     : std::string(as_view(e));
            }
            return out + "]";
        }
        default:
            return std::string(as_view(*reply));
    }
}

// prefix + i, by appending: GCC 12 warns falsely (-Wrestrict) on numbered("k", i).
std::string numbered(std::string_view prefix, int i) {
    std::string out(prefix);
    return out.append(std::to_string(i));
}

class Live {
public:
    // Runs the loop until `done` holds, at most 10 s.
    template <class Pred>
    bool run_until(Pred done) {
        const auto limit = std::chrono::steady_clock::now() + 10s;
        while (!done() && std::chrono::steady_clock::now() < limit) {
            io.restart();
            io.run_one_for(50ms);
        }
        return done();
    }

    std::shared_ptr<Connection> make(const std::string& url, Mode mode = Mode::kCommands,
                                     ConnectionOptions options = {}) {
        auto endpoint = parse_url(url);
        EXPECT_TRUE(endpoint) << endpoint.error();
        auto conn = std::make_shared<Connection>(boost::asio::ip::tcp::socket(io), *endpoint, mode,
                                                 std::move(options));
        connections.push_back(conn);
        return conn;
    }
    // connect() and wait for its result.
    std::string connect(const std::shared_ptr<Connection>& conn) {
        std::optional<std::string> result;
        conn->connect([&result](std::string error) { result = std::move(error); });
        EXPECT_TRUE(run_until([&result] { return result.has_value(); }));
        return result.value_or("<no answer>");
    }
    // One command, waiting for its reply.
    std::string call(const std::shared_ptr<Connection>& conn,
                     std::initializer_list<std::string_view> args) {
        std::optional<std::string> result;
        conn->command(args, [&result](Reply reply) { result = text_of(reply); });
        EXPECT_TRUE(run_until([&result] { return result.has_value(); }));
        return result.value_or("<no answer>");
    }

    ~Live() {
        for (auto& conn : connections) conn->close();
        io.restart();
        io.poll();
    }

    boost::asio::io_context io;
    std::vector<std::shared_ptr<Connection>> connections;
};

TEST(RedisLive, ThousandPipelinedSetsAndGetsAnswerInOrder) {
    RedisServer server;
    Live live;
    auto conn = live.make(server.url());
    ASSERT_EQ(live.connect(conn), "");
    constexpr int kCount = 1000;
    std::vector<std::string> answers;
    std::vector<int> order;
    for (int i = 0; i < kCount; ++i) {
        const std::string key = numbered("k", i);
        const std::string value = numbered("v", i);
        conn->command({"SET", key, value}, [&order, &answers, i](Reply reply) {
            order.push_back(i);
            answers.push_back(text_of(reply));
        });
    }
    for (int i = 0; i < kCount; ++i) {
        const std::string key = numbered("k", i);
        conn->command({"GET", key}, [&order, &answers, i](Reply reply) {
            order.push_back(kCount + i);
            answers.push_back(text_of(reply));
        });
    }
    EXPECT_EQ(conn->pending(), 2U * kCount);
    ASSERT_TRUE(live.run_until([&order] { return order.size() == 2 * kCount; }));
    for (int i = 0; i < 2 * kCount; ++i) {
        ASSERT_EQ(order[static_cast<std::size_t>(i)], i);
        const std::string expected = i < kCount ? "OK" : numbered("v", i - kCount);
        ASSERT_EQ(answers[static_cast<std::size_t>(i)], expected);
    }
    EXPECT_EQ(conn->pending(), 0U);
}

TEST(RedisLive, RequirePassAuthAndWrongPassword) {
    RedisServer server({"--requirepass", "s3cret"}, "s3cret");
    Live live;
    auto good = live.make(server.url(":s3cret"));
    // Issued while the TCP connect is still in progress: sent behind AUTH, answered after it.
    std::optional<std::string> early;
    std::optional<std::string> connected;
    good->connect([&](std::string error) {
        EXPECT_FALSE(early) << "a command was answered before the handshake";
        connected = std::move(error);
    });
    good->command({"ECHO", "early"}, [&early](Reply reply) { early = text_of(reply); });
    ASSERT_TRUE(live.run_until([&] { return connected && early; }));
    EXPECT_EQ(connected, "");
    EXPECT_EQ(early, "early");
    EXPECT_EQ(live.call(good, {"PING"}), "PONG");

    auto bad = live.make(server.url(":wrong"));
    const std::string error = live.connect(bad);
    EXPECT_EQ(error.rfind("AUTH: WRONGPASS", 0), 0U) << error;
    EXPECT_FALSE(bad->connected());

    auto none = live.make(server.url());
    ASSERT_EQ(live.connect(none), "");  // nothing to check until a command
    EXPECT_EQ(live.call(none, {"GET", "x"}).rfind("-NOAUTH", 0), 0U);
}

TEST(RedisLive, AclUserSelectAndClientName) {
    RedisServer server;
    Live live;
    auto admin = live.make(server.url());
    ASSERT_EQ(live.connect(admin), "");
    ASSERT_EQ(live.call(admin, {"ACL", "SETUSER", "alice", "on", ">p@ss", "~*", "&*", "+@all"}),
              "OK");
    ConnectionOptions options;
    options.client_name = "nudge-test";
    auto alice = live.make(server.url("alice:p%40ss") + "/3", Mode::kCommands, options);
    ASSERT_EQ(live.connect(alice), "");
    const std::string info = live.call(alice, {"CLIENT", "INFO"});
    EXPECT_NE(info.find(" db=3 "), std::string::npos) << info;
    EXPECT_NE(info.find(" name=nudge-test "), std::string::npos) << info;
    EXPECT_NE(info.find(" user=alice "), std::string::npos) << info;

    auto wrong_user = live.make(server.url("bob:p%40ss"));
    EXPECT_EQ(live.connect(wrong_user).rfind("AUTH: WRONGPASS", 0), 0U);
}

TEST(RedisLive, SelectOutOfRangeFailsConnect) {
    RedisServer server;
    Live live;
    auto conn = live.make(server.url() + "/99");
    EXPECT_EQ(live.connect(conn), "SELECT 99: ERR DB index is out of range");
}

TEST(RedisLive, SubscribeThenPublishArrivesAtThePushHandler) {
    RedisServer server;
    Live live;
    auto sub = live.make(server.url(), Mode::kPubSub);
    std::vector<std::string> pushes;
    sub->set_push_handler([&pushes](Reply reply) { pushes.push_back(text_of(reply)); });
    ASSERT_EQ(live.connect(sub), "");
    sub->command({"SUBSCRIBE", "room:a", "room:b"}, nullptr);
    ASSERT_TRUE(live.run_until([&pushes] { return pushes.size() == 2; }));
    EXPECT_EQ(pushes[0], "[subscribe,room:a,:1]");
    EXPECT_EQ(pushes[1], "[subscribe,room:b,:2]");

    auto pub = live.make(server.url());
    ASSERT_EQ(live.connect(pub), "");
    EXPECT_EQ(live.call(pub, {"PUBLISH", "room:b", "hello"}), ":1");
    ASSERT_TRUE(live.run_until([&pushes] { return pushes.size() == 3; }));
    EXPECT_EQ(pushes[2], "[message,room:b,hello]");

    sub->command({"PING"}, nullptr);
    ASSERT_TRUE(live.run_until([&pushes] { return pushes.size() == 4; }));
    EXPECT_EQ(pushes[3], "[pong,]");
    EXPECT_TRUE(sub->connected());
}

TEST(RedisLive, ShardedSubscribeThenSpublishArrives) {
    RedisServer server;
    Live live;
    auto sub = live.make(server.url(), Mode::kPubSub);
    std::vector<std::string> pushes;
    sub->set_push_handler([&pushes](Reply reply) { pushes.push_back(text_of(reply)); });
    ASSERT_EQ(live.connect(sub), "");
    sub->command({"SSUBSCRIBE", "{user_1}"}, nullptr);
    ASSERT_TRUE(live.run_until([&pushes] { return pushes.size() == 1; }));
    EXPECT_EQ(pushes[0], "[ssubscribe,{user_1},:1]");

    auto pub = live.make(server.url());
    ASSERT_EQ(live.connect(pub), "");
    EXPECT_EQ(live.call(pub, {"SPUBLISH", "{user_1}", "balance"}), ":1");
    EXPECT_EQ(live.call(pub, {"PUBLISH", "{user_1}", "not sharded"}), ":0");
    ASSERT_TRUE(live.run_until([&pushes] { return pushes.size() == 2; }));
    EXPECT_EQ(pushes[1], "[smessage,{user_1},balance]");

    sub->command({"SUNSUBSCRIBE", "{user_1}"}, nullptr);
    ASSERT_TRUE(live.run_until([&pushes] { return pushes.size() == 3; }));
    EXPECT_EQ(pushes[2], "[sunsubscribe,{user_1},:0]");
}

TEST(RedisLive, KilledServerGivesPendingNullThenCloseHandler) {
    RedisServer server;
    Live live;
    auto conn = live.make(server.url());
    std::vector<std::string> events;
    conn->set_close_handler(
        [&events](std::string reason) { events.push_back("closed: " + reason); });
    ASSERT_EQ(live.connect(conn), "");
    // Blocks forever on the server, so it is pending when the server dies.
    conn->command({"BLPOP", "never", "0"},
                  [&events](Reply reply) { events.push_back("BLPOP " + text_of(reply)); });
    auto observer = live.make(server.url());
    ASSERT_EQ(live.connect(observer), "");
    ASSERT_TRUE(live.run_until([&] {
        return live.call(observer, {"INFO", "clients"}).find("blocked_clients:1\r\n") !=
               std::string::npos;
    }));
    server.kill_now();
    ASSERT_TRUE(live.run_until([&events] { return events.size() == 2; }));
    EXPECT_EQ(events[0], "BLPOP <null>");
    EXPECT_TRUE(events[1] == "closed: connection closed by the server" ||
                events[1] == "closed: read: Connection reset by peer")
        << events[1];
    EXPECT_FALSE(conn->connected());
}

TEST(RedisLive, StoppedServerIsNoticedByTheCommandTimeout) {
    RedisServer server;
    Live live;
    ConnectionOptions options;
    options.command_timeout = 200ms;
    auto conn = live.make(server.url(), Mode::kCommands, options);
    std::optional<std::string> reason;
    conn->set_close_handler([&reason](std::string r) { reason = std::move(r); });
    ASSERT_EQ(live.connect(conn), "");
    EXPECT_EQ(live.call(conn, {"PING"}), "PONG");
    server.stop();
    std::optional<std::string> answer;
    conn->command({"PING"}, [&answer](Reply reply) { answer = text_of(reply); });
    ASSERT_TRUE(live.run_until([&reason] { return reason.has_value(); }));
    EXPECT_EQ(reason, "no reply within 200 ms");
    EXPECT_EQ(answer, "<null>");
    server.resume();
}

TEST(RedisLive, StoppedServerFailsTheHandshakeByTheConnectTimeout) {
    RedisServer server({"--requirepass", "pw"}, "pw");
    server.stop();  // the kernel still accepts the TCP connection; AUTH is never answered
    Live live;
    ConnectionOptions options;
    options.connect_timeout = 200ms;
    auto conn = live.make(server.url(":pw"), Mode::kCommands, options);
    EXPECT_EQ(live.connect(conn), "connect 127.0.0.1:" + std::to_string(server.port()) +
                                      ": timed out after 200 ms waiting for the answer to AUTH");
    server.resume();
}

TEST(RedisLive, RefusedConnectionSaysSo) {
    std::uint16_t port = 0;
    {
        RedisServer server;
        port = server.port();
    }  // killed: nothing listens there now
    Live live;
    auto conn = live.make("redis://127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(live.connect(conn),
              "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(RedisLive, UnknownHostSaysSo) {
    Live live;
    auto conn = live.make("redis://no-such-host.invalid:6379");
    const std::string error = live.connect(conn);
    EXPECT_EQ(error.rfind("connect no-such-host.invalid:6379: ", 0), 0U) << error;
}

// key_slot against Redis' own CLUSTER KEYSLOT, and parse_cluster_slots on a real reply.
TEST(RedisLive, ClusterKeySlotAndSlotsMatchRedis) {
    RedisServer server({"--cluster-enabled", "yes"});
    Live live;
    auto conn = live.make(server.url());
    ASSERT_EQ(live.connect(conn), "");
    std::vector<std::string> keys = {"foo",
                                     "{user1000}.following",
                                     "foo{}{bar}",
                                     "foo{{bar}}zap",
                                     "socket.io#/#user_1#",
                                     "",
                                     "{}",
                                     "}{",
                                     "{a}{b}"};
    for (int i = 0; i < 300; ++i) keys.push_back("room:" + std::to_string(i * 7919));
    for (const auto& key : keys) {
        ASSERT_EQ(live.call(conn, {"CLUSTER", "KEYSLOT", key}), ":" + std::to_string(key_slot(key)))
            << key;
    }

    ASSERT_EQ(live.call(conn, {"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}), "OK");
    std::optional<std::vector<SlotRange>> ranges;
    ASSERT_TRUE(live.run_until([&] {
        std::optional<bool> answered;
        conn->command({"CLUSTER", "SLOTS"}, [&](Reply reply) {
            if (reply) ranges = parse_cluster_slots(*reply);
            answered = true;
        });
        live.run_until([&answered] { return answered.has_value(); });
        return ranges && !ranges->empty();
    }));
    ASSERT_EQ(ranges->size(), 1U);
    EXPECT_EQ((*ranges)[0].first, 0);
    EXPECT_EQ((*ranges)[0].last, 16383);
    EXPECT_EQ((*ranges)[0].port, server.port());
    EXPECT_TRUE((*ranges)[0].host == "127.0.0.1" || (*ranges)[0].host.empty()) << (*ranges)[0].host;
}

// Two masters sharing the slots: a key of the other node's half gets MOVED to it.
TEST(RedisLive, MovedRedirectFromATwoNodeCluster) {
    RedisServer a({"--cluster-enabled", "yes"});
    RedisServer b({"--cluster-enabled", "yes"});
    Live live;
    auto ca = live.make(a.url());
    auto cb = live.make(b.url());
    ASSERT_EQ(live.connect(ca), "");
    ASSERT_EQ(live.connect(cb), "");
    ASSERT_EQ(live.call(ca, {"CLUSTER", "ADDSLOTSRANGE", "0", "8191"}), "OK");
    ASSERT_EQ(live.call(cb, {"CLUSTER", "ADDSLOTSRANGE", "8192", "16383"}), "OK");
    ASSERT_EQ(live.call(ca, {"CLUSTER", "MEET", "127.0.0.1", std::to_string(b.port())}), "OK");
    // "foo" is slot 12182: node b's. Wait until a has learnt that through the cluster bus.
    std::string answer;
    ASSERT_TRUE(live.run_until([&] {
        answer = live.call(ca, {"GET", "foo"});
        return answer.starts_with("-MOVED");
    })) << answer;
    const auto moved = parse_redirect(answer.substr(1));
    ASSERT_TRUE(moved) << answer;
    EXPECT_FALSE(moved->ask);
    EXPECT_EQ(moved->slot, key_slot("foo"));
    EXPECT_EQ(moved->port, b.port());
    EXPECT_EQ(moved->host, "127.0.0.1");
}

}  // namespace
}  // namespace nudge::redis
