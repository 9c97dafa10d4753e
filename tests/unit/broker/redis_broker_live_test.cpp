// RedisBroker against a real redis-server started per test (tests/unit/redis/redis_server.hpp):
// the bounds of issue 20 (the delivery backlog while the hub's workers are stalled, Redis
// commands in flight) and the resubscribe after the links are lost (many channels per
// command, one nudge:resync per session). The hub's workers are task queues this test drains
// by hand, so "stalled" is exact, not a timing.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../redis/redis_server.hpp"
#include "broker/redis_broker.hpp"
#include "broker/redis_message.hpp"
#include "metrics/metrics.hpp"

namespace nudge::broker {
namespace {

using namespace std::chrono_literals;
using redis::test::RedisServer;

struct Recorder final : hub::Subscriber {
    void deliver(const hub::Packet& packet) override { packets.push_back(packet); }
    void disconnect() override {}
    [[nodiscard]] std::size_t count(std::string_view event) const {
        std::size_t n = 0;
        for (const auto& packet : packets) n += packet->find(event) != std::string::npos ? 1 : 0;
        return n;
    }
    std::vector<hub::Packet> packets;
};

// A synchronous hiredis connection for the test's own commands (PUBLISH, CLIENT KILL, INFO).
class Cli {
public:
    explicit Cli(const RedisServer& server)
        : c_(redisConnect("127.0.0.1", server.port()), &redisFree) {}
    std::string run(const std::vector<std::string>& args) {
        append(args);
        return reply();
    }
    // Pipelining: append() many, then reply() as many times.
    void append(const std::vector<std::string>& args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        redisAppendCommandArgv(c_.get(), static_cast<int>(args.size()), argv.data(), lens.data());
    }
    std::string reply() {
        void* raw = nullptr;
        if (redisGetReply(c_.get(), &raw) != REDIS_OK) return "<error>";
        auto* reply = static_cast<redisReply*>(raw);
        std::string out = reply != nullptr && reply->str != nullptr ? std::string(reply->str, reply->len) : "";
        if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER) out = std::to_string(reply->integer);
        freeReplyObject(reply);
        return out;
    }

private:
    std::unique_ptr<redisContext, decltype(&redisFree)> c_;
};

// One shard whose worker is a queue of tasks: it runs only when the test drains it.
struct World {
    explicit World(RedisBrokerConfig config, std::size_t max_pending = 4)
        : hub({hub::Hub::ShardHooks{[this](hub::Hub::Task t) { tasks.push_back(std::move(t)); }, nullptr}},
              max_pending),
          broker(hub, io, std::move(config)) {
        hub.set_presence_listener([this](std::string_view room, bool present) { broker.on_presence(room, present); });
    }
    ~World() { broker.stop(); }

    template <class Pred>
    bool run_until(Pred done, bool drain, std::chrono::seconds limit = 20s) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < end) {
            io.restart();
            io.run_one_for(10ms);
            while (drain && !tasks.empty()) {
                auto task = std::move(tasks.front());
                tasks.pop_front();
                task();
            }
        }
        return done();
    }
    // Waits until the broker answers a CONNECT in `rooms`: their subscriptions are confirmed.
    bool subscribed(std::vector<std::string> rooms) {
        bool answered = false;
        RecoveryRequest request;
        request.rooms = std::move(rooms);
        broker.recover(std::move(request), [&answered](Recovery) { answered = true; });
        return run_until([&] { return answered; }, true);
    }

    boost::asio::io_context io;
    std::deque<hub::Hub::Task> tasks;
    hub::Hub hub;
    RedisBroker broker;
};

RedisBrokerConfig config_for(const RedisServer& server) {
    RedisBrokerConfig config;
    config.endpoint = *redis::parse_url(server.url());
    config.emitter_prefix.clear();
    return config;
}

std::string event_message(std::uint64_t seq, std::string_view room, const std::string& data) {
    hub::Emit emit;
    emit.rooms = {std::string(room)};
    emit.event = "changed";
    emit.data_json = data;
    std::string message = "ep0ch ";
    message.append(std::to_string(seq)).append(" 1700000000000 ").append(encode_event_body(emit));
    return message;
}

// Regression (issue 20): the backlog of events from Redis grew without bound while the hub's
// workers were behind (the pub/sub link kept being read). Now it stops reading at the bound;
// Redis' output-buffer limit cuts the link off; once the workers catch up the link comes back
// and the sessions get nudge:resync.
TEST(RedisBrokerLive, BacklogStaysUnderItsBoundWhileWorkersStallThenSessionsResync) {
    RedisServer server({"--client-output-buffer-limit", "pubsub 256kb 64kb 1"});
    RedisBrokerConfig config = config_for(server);
    config.max_backlog = 200;
    World world(std::move(config), 1);
    Recorder client;
    world.hub.rooms(0).join("r", &client);
    world.broker.start();
    ASSERT_TRUE(world.subscribed({"r"}));
    // In a room before the first connect: resynced once the room is subscribed.
    ASSERT_TRUE(world.run_until([&] { return client.count("nudge:resync") == 1; }, true));
    client.packets.clear();

    Cli cli(server);
    const std::string data = "\"" + std::string(1000, 'x') + "\"";
    const auto paused_before = metrics::registry().broker_reading_paused.read();
    std::size_t most = 0;
    // 30 MB: past Redis' hard limit for this client and the sockets' buffers many times over.
    for (std::uint64_t seq = 1; seq <= 30000; seq += 500) {
        for (std::uint64_t i = seq; i < seq + 500; ++i) cli.append({"PUBLISH", "nudge:r:r", event_message(i, "r", data)});
        for (int i = 0; i < 500; ++i) cli.reply();
        world.io.restart();
        world.io.poll();
        most = std::max(most, world.broker.backlog());
    }
    // Workers stalled: run until the hub stopped reading and Redis has cut the subscriber off.
    ASSERT_TRUE(world.run_until(
        [&] {
            most = std::max(most, world.broker.backlog());
            return metrics::registry().broker_reading_paused.read() == paused_before + 1 &&
                   cli.run({"INFO", "stats"}).find("client_output_buffer_limit_disconnections:0") ==
                       std::string::npos;
        },
        false));
    // The bound, plus what the read that passed it and one read in flight (16 KiB each) hold.
    EXPECT_LE(most, 200U + 2 * (16384 / 1000 + 1));
    EXPECT_EQ(client.count("nudge:resync"), 0U);

    // The workers catch up: the link is found closed, re-established, and the session resyncs.
    ASSERT_TRUE(world.run_until([&] { return client.count("nudge:resync") > 0; }, true));
    EXPECT_EQ(client.count("nudge:resync"), 1U);
    EXPECT_EQ(world.broker.backlog(), 0U);
}

// Regression (issue 20): after the links were lost, every room was re-subscribed with its own
// SUBSCRIBE and got its own nudge:resync (a client in 1,000 rooms received 1,000 events).
TEST(RedisBrokerLive, ResubscribeSendsManyChannelsPerCommandAndOneResyncPerSession) {
    RedisServer server;
    RedisBrokerConfig config = config_for(server);
    config.channels_per_command = 100;
    config.subscribe_window = 300;  // three commands in flight at most
    World world(std::move(config), 1024);
    Recorder many, one;
    std::vector<std::string> rooms;
    for (int i = 0; i < 1000; ++i) {
        rooms.push_back("room_" + std::to_string(i));
        world.hub.rooms(0).join(rooms.back(), &many);
    }
    world.hub.rooms(0).join("room_7", &one);
    world.broker.start();
    ASSERT_TRUE(world.subscribed(rooms));
    // In their rooms before the first connect: resynced once, when every room is subscribed.
    ASSERT_TRUE(world.run_until([&] { return many.count("nudge:resync") == 1 && one.count("nudge:resync") == 1; }, true));
    many.packets.clear();
    one.packets.clear();

    Cli cli(server);
    EXPECT_NE(cli.run({"CLIENT", "KILL", "TYPE", "pubsub"}), "0");
    ASSERT_TRUE(world.run_until([&] { return many.count("nudge:resync") > 0 && one.count("nudge:resync") > 0; }, true));
    // A marker published after the resync reaches both: nothing else can still be on its way.
    cli.run({"PUBLISH", "nudge:r:room_7", event_message(1, "room_7", "\"marker\"")});
    ASSERT_TRUE(world.run_until([&] { return many.count("marker") > 0 && one.count("marker") > 0; }, true));
    EXPECT_EQ(many.count("nudge:resync"), 1U);
    EXPECT_EQ(one.count("nudge:resync"), 1U);
    EXPECT_NE(one.packets.front()->find(R"({"rooms":["room_7"]})"), std::string::npos);
    // 1,000 channels in ~10 SUBSCRIBE commands per connect (twice: start and reconnect), not 1,000.
    const std::string after = cli.run({"INFO", "commandstats"});
    const auto calls = [](const std::string& stats) -> long {
        const auto at = stats.find("cmdstat_subscribe:calls=");
        return at == std::string::npos ? 0 : std::stol(stats.substr(at + 24));
    };
    EXPECT_LE(calls(after), 2 * (1000 / 100 + 2));
}

// Redis commands in flight are bounded: past the bound the publish API is told kOverloaded
// (HTTP 503 overloaded, Retry-After), not queued behind a Redis that does not answer.
TEST(RedisBrokerLive, CommandsInFlightPastTheBoundAnswerOverloaded) {
    RedisServer server;
    RedisBrokerConfig config = config_for(server);
    config.max_commands_in_flight = 1;
    config.timeout = 60s;  // the stopped Redis must not be declared lost during the test
    World world(std::move(config));
    world.broker.start();
    ASSERT_TRUE(world.run_until([&] { return world.broker.health().connected; }, true));
    server.stop();  // SIGSTOP: the first publish stays in flight
    std::optional<PublishResult> first, second;
    const auto batch = [] {
        hub::Emit emit;
        emit.rooms = {"r"};
        emit.event = "e";
        return hub::EmitBatch{emit};
    };
    world.broker.publish(batch(), [&](PublishOutcome o) { first = o.result; });
    world.io.restart();
    world.io.poll();
    const auto overloaded_before = metrics::registry().broker_overloaded.read();
    world.broker.publish(batch(), [&](PublishOutcome o) { second = o.result; });
    ASSERT_TRUE(world.run_until([&] { return second.has_value(); }, true));
    EXPECT_EQ(*second, PublishResult::kOverloaded);
    EXPECT_FALSE(first.has_value());
    EXPECT_EQ(metrics::registry().broker_overloaded.read(), overloaded_before + 1);
    server.resume();
    ASSERT_TRUE(world.run_until([&] { return first.has_value(); }, true));
    EXPECT_EQ(*first, PublishResult::kAccepted);
}

}  // namespace
}  // namespace nudge::broker
