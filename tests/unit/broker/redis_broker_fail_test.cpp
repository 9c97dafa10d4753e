// RedisBroker over in-memory links (redis::LinkFactory → BasicConnection<beast::test::stream>):
// the test plays Redis on the other end of every link, and a budget shared by all links fails
// the n-th read or write (once: the reconnect that follows must succeed), raised in a loop until
// an iteration runs clean (Beast's doFailLoop, with fail_count's "every operation from the n-th
// on" narrowed to one). Whatever operation fails — the handshake, CLUSTER SLOTS, a SUBSCRIBE, the
// publish script's write or its reply — the publish is answered exactly once, a publish on a
// lost link answers kUnavailable (the API's 503 broker_unavailable), and once the links are
// back the session in the room gets nudge:resync.
#include <gtest/gtest.h>
#include <hiredis/read.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/_experimental/test/error.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <map>
#include <algorithm>
#include <cctype>
#include <array>
#include <cstdlib>
#include <chrono>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/redis_broker.hpp"
#include "redis/connection_impl.hpp"

namespace nudge::broker {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast_test = boost::beast::test;
using TestStream = beast_test::stream;

std::string bulk(std::string_view s) {
    std::string out = "$" + std::to_string(s.size());
    out.append("\r\n").append(s).append("\r\n");
    return out;
}

// Operations of every link, counted; the n-th fails.
struct FailAt {
    std::size_t n;
    std::size_t seen = 0;
    bool now() { return ++seen == n; }
};

// Beast's test stream, whose n-th operation (across every link sharing `fail`) completes with
// test_failure instead of moving bytes.
class FailingStream {
public:
    using executor_type = TestStream::executor_type;
    FailingStream(TestStream stream, FailAt& fail) : stream_(std::move(stream)), fail_(&fail) {}

    executor_type get_executor() noexcept { return stream_.get_executor(); }
    template <class Buffers, class Handler>
    void async_read_some(const Buffers& buffers, Handler&& handler) {
        if (fail_->now()) return failed(std::forward<Handler>(handler));
        stream_.async_read_some(buffers, std::forward<Handler>(handler));
    }
    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler) {
        if (fail_->now()) return failed(std::forward<Handler>(handler));
        stream_.async_write_some(buffers, std::forward<Handler>(handler));
    }
    void close() { stream_.close(); }

private:
    template <class Handler>
    void failed(Handler&& handler) {
        asio::post(stream_.get_executor(), [h = std::forward<Handler>(handler)]() mutable {
            h(boost::system::error_code(boost::beast::test::error::test_failure), std::size_t{0});
        });
    }
    TestStream stream_;
    FailAt* fail_;
};

// What survives a reconnect: the data of the Redis every link talks to, and the test's script.
struct RedisState {
    bool cluster = false;               // a one-node cluster (sharded pub/sub, SPUBLISH by the hub)
    std::size_t refuse_subscribes = 0;  // (S)SUBSCRIBEs refused as a cluster coming back refuses them
    std::uint64_t seq = 0;
    std::map<std::string, std::uint64_t> ids;  // idempotency id → its event's position
    std::vector<std::string> spublished;       // every SPUBLISH message Redis read
};

// One link's Redis: reads commands (RESP arrays, parsed by hiredis' reader) and answers them.
class FakeRedis : public std::enable_shared_from_this<FakeRedis> {
public:
    FakeRedis(asio::io_context& io, RedisState& state) : stream_(io), reader_(redisReaderCreate()), state_(&state) {}
    ~FakeRedis() { redisReaderFree(reader_); }
    FakeRedis(const FakeRedis&) = delete;
    FakeRedis& operator=(const FakeRedis&) = delete;

    TestStream& stream() { return stream_; }
    void start() {
        stream_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                   std::size_t n) {
            if (ec) return;
            redisReaderFeed(self->reader_, self->buffer_.data(), n);
            void* raw = nullptr;
            while (redisReaderGetReply(self->reader_, &raw) == REDIS_OK && raw != nullptr) {
                const auto* command = static_cast<redisReply*>(raw);
                std::vector<std::string> args;
                for (std::size_t i = 0; i < command->elements; ++i) {
                    args.emplace_back(command->element[i]->str, command->element[i]->len);
                }
                freeReplyObject(raw);
                raw = nullptr;
                boost::system::error_code ignored;
                asio::write(self->stream_, asio::buffer(self->answer(args)), ignored);
            }
            self->start();
        });
    }

private:
    std::string answer(const std::vector<std::string>& args) {
        const std::string& name = args.front();
        if (name == "CLUSTER") {
            if (!state_->cluster) return "-ERR This instance has cluster support disabled\r\n";
            return "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n" + bulk("redis.test") + ":6379\r\n";
        }
        if (name == "SPUBLISH") {
            state_->spublished.push_back(args[2]);
            return ":1\r\n";
        }
        if (name == "CLIENT") return "+OK\r\n";
        if (name == "PING") return "*2\r\n$4\r\npong\r\n$0\r\n\r\n";
        if (name == "PUBLISH") return ":0\r\n";
        if ((name == "SUBSCRIBE" || name == "SSUBSCRIBE") && state_->refuse_subscribes > 0) {
            --state_->refuse_subscribes;
            return "-CLUSTERDOWN The cluster is down\r\n";
        }
        if (name == "SUBSCRIBE" || name == "UNSUBSCRIBE" || name == "SSUBSCRIBE") {
            std::string out;
            std::string kind = name;
            std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
            for (std::size_t i = 1; i < args.size(); ++i) out += "*3\r\n" + bulk(kind) + bulk(args[i]) + ":1\r\n";
            return out;
        }
        if (name == "EVALSHA") {
            // The publish script: EVALSHA sha 1 key epoch ... <batch size> (id body n rooms...)*
            // answered with the epoch, the clock and a position per event.
            const std::size_t events = std::stoul(args[10]);
            std::string out = "*" + std::to_string(2 + 2 * events) + "\r\n" + bulk("ep0ch") + ":1700000000000\r\n";
            std::size_t at = 11;
            for (std::size_t i = 0; i < events; ++i) {
                const std::string& id = args[at];
                at += 3 + std::stoul(args[at + 2]);
                const auto earlier = id.empty() ? state_->ids.end() : state_->ids.find(id);
                if (earlier != state_->ids.end()) {
                    out += ":" + std::to_string(earlier->second) + "\r\n:1\r\n";
                    continue;
                }
                ++state_->seq;
                if (!id.empty()) state_->ids.emplace(id, state_->seq);
                out += ":" + std::to_string(state_->seq) + "\r\n:0\r\n";
            }
            return out;
        }
        return "-ERR unknown command\r\n";
    }

    TestStream stream_;
    redisReader* reader_;
    std::array<char, 4096> buffer_{};
    RedisState* state_;
};

struct Recorder final : hub::Subscriber {
    void deliver(const hub::Packet& packet) override { packets.push_back(packet); }
    void disconnect() override {}
    [[nodiscard]] std::size_t resyncs() const {
        std::size_t n = 0;
        for (const auto& packet : packets) n += packet->find("nudge:resync") != std::string::npos ? 1 : 0;
        return n;
    }
    std::vector<hub::Packet> packets;
};

struct Outcome {
    std::optional<PublishResult> publish;
    std::size_t answers = 0;
    std::size_t resyncs_after = 0;
    std::size_t links = 0;  // 3 when nothing failed: the seed, the command and the pub/sub link
    std::uint64_t seq = 0;  // the accepted event's position
};

// One iteration: connect, subscribe room r, publish once; the n-th I/O operation fails. With
// `retry`, a publish answered 503 is sent again with the same id once the links are back, as the
// emitters do, until it is accepted.
Outcome run_with_failure_at(std::size_t n, RedisState& redis, bool retry = false) {
    asio::io_context io;
    FailAt fail{n};
    std::vector<std::shared_ptr<FakeRedis>> servers;
    redis::LinkFactory links = [&](const redis::Endpoint& endpoint, redis::Mode mode,
                                   const redis::ConnectionOptions& options) {
        auto server = std::make_shared<FakeRedis>(io, redis);
        TestStream client(io);
        client.connect(server->stream());
        server->start();
        servers.push_back(server);
        return std::make_shared<redis::LinkOver<FailingStream>>(std::make_shared<redis::BasicConnection<FailingStream>>(
            FailingStream(std::move(client), fail), endpoint, mode, options));
    };
    std::deque<hub::Hub::Task> tasks;
    hub::Hub hub({hub::Hub::ShardHooks{[&tasks](hub::Hub::Task t) { tasks.push_back(std::move(t)); }, nullptr}});
    RedisBrokerConfig config;
    config.endpoint = redis::Endpoint{"redis.test", 6379, "", "", 0};
    config.emitter_prefix.clear();
    RedisBroker broker(hub, io, config, links);
    hub.set_presence_listener([&broker](std::string_view room, bool present) { broker.on_presence(room, present); });
    Recorder client;
    hub.rooms(0).join("r", &client);

    const auto run_until = [&](auto done) {
        const auto end = std::chrono::steady_clock::now() + 20s;
        while (!done() && std::chrono::steady_clock::now() < end) {
            io.restart();
            io.run_one_for(5ms);
            while (!tasks.empty()) {
                auto task = std::move(tasks.front());
                tasks.pop_front();
                task();
            }
        }
        return done();
    };
    Outcome outcome;
    broker.start();
    // Up, room subscribed, and its first resync delivered (the room predates the links).
    EXPECT_TRUE(run_until([&] { return broker.health().connected && broker.resubscribing() == 0 && client.resyncs() > 0; }));
    client.packets.clear();
    hub::Emit emit;
    emit.rooms = {"r"};
    emit.event = "changed";
    emit.id = "e1";
    for (int attempt = 0; attempt < 10; ++attempt) {
        outcome.publish.reset();
        outcome.answers = 0;
        broker.publish(hub::EmitBatch{emit}, [&](PublishOutcome o) {
            outcome.publish = o.result;
            if (!o.events.empty()) outcome.seq = o.events.front().seq;
            ++outcome.answers;
        });
        EXPECT_TRUE(run_until([&] { return outcome.publish.has_value(); }));
        if (!retry || outcome.publish != PublishResult::kUnavailable) break;
        EXPECT_TRUE(run_until([&] { return broker.health().connected && broker.resubscribing() == 0; }));
    }
    if (outcome.publish == PublishResult::kUnavailable) {
        // The link was lost mid-publish: once it is back, the session resyncs.
        EXPECT_TRUE(run_until([&] { return client.resyncs() > 0; }));
    }
    outcome.resyncs_after = client.resyncs();
    outcome.links = servers.size();
    broker.stop();
    io.restart();
    io.poll();
    return outcome;
}

TEST(RedisBrokerFailLoop, ALinkLostAtAnyOperationAnswersThePublishOnceThenResyncs) {
    std::size_t unavailable = 0;
    // NUDGE_FAIL_FROM=<n> starts the loop at n (to rerun one failing iteration with its logs).
    std::size_t n = std::getenv("NUDGE_FAIL_FROM") != nullptr ? std::stoul(std::getenv("NUDGE_FAIL_FROM")) : 1;
    for (; n < 200; ++n) {
        RedisState redis;
        const Outcome outcome = run_with_failure_at(n, redis);
        ASSERT_TRUE(outcome.publish.has_value()) << "n=" << n;
        EXPECT_EQ(outcome.answers, 1U) << "n=" << n;
        if (*outcome.publish == PublishResult::kUnavailable) {
            ++unavailable;
            EXPECT_EQ(outcome.resyncs_after, 1U) << "n=" << n;
        } else {
            EXPECT_EQ(*outcome.publish, PublishResult::kAccepted) << "n=" << n;
        }
        if (outcome.links == 3 && *outcome.publish == PublishResult::kAccepted) break;  // never failed
    }
    EXPECT_LT(n, 200U) << "the loop never ran clean";
    EXPECT_GE(unavailable, 1U) << "no iteration lost a link mid-publish";
}

// A cluster whose nodes were all stopped marks them failed and refuses SSUBSCRIBE with
// -CLUSTERDOWN for a while after they are back. A refused subscription must not leave the room
// unsubscribed on links that look healthy (its clients would miss every event while /health
// says connected): the broker starts over until the subscription holds, then resyncs.
TEST(RedisBrokerFailLoop, ASubscriptionRefusedByRedisStartsOverUntilItHolds) {
    RedisState redis;
    redis.refuse_subscribes = 2;
    const Outcome outcome = run_with_failure_at(std::numeric_limits<std::size_t>::max(), redis);
    ASSERT_TRUE(outcome.publish.has_value());
    EXPECT_EQ(*outcome.publish, PublishResult::kAccepted);
    EXPECT_EQ(outcome.answers, 1U);
    EXPECT_EQ(outcome.links, 9U) << "two refusals: the links were opened three times";
}

// A cluster: the script numbers the event on the ordering node and the hub SPUBLISHes it on
// each room's slot owner. Whatever operation fails, an event the publisher finally sees accepted
// reached Redis' pub/sub: a 202 waits for the SPUBLISH, and a retry that the script answers as a
// duplicate (it ran, but its reply was lost with the link, so no SPUBLISH went out) is published
// again under its first position.
TEST(RedisBrokerFailLoop, InAClusterAnAcceptedEventWasPublishedWhateverOperationFailed) {
    std::size_t n = std::getenv("NUDGE_FAIL_FROM") != nullptr ? std::stoul(std::getenv("NUDGE_FAIL_FROM")) : 1;
    std::size_t duplicates = 0;
    for (; n < 200; ++n) {
        RedisState redis;
        redis.cluster = true;
        const Outcome outcome = run_with_failure_at(n, redis, true);
        ASSERT_EQ(outcome.publish, PublishResult::kAccepted) << "n=" << n;
        EXPECT_EQ(outcome.answers, 1U) << "n=" << n;
        const std::string prefix = "ep0ch " + std::to_string(outcome.seq) + " ";
        EXPECT_TRUE(std::any_of(redis.spublished.begin(), redis.spublished.end(),
                                [&](const std::string& m) { return m.starts_with(prefix); }))
            << "n=" << n << ": event " << outcome.seq << " accepted but never SPUBLISHed";
        duplicates += redis.spublished.size() > 1 ? 1 : 0;
        if (outcome.links == 3) break;  // never failed
    }
    EXPECT_LT(n, 200U) << "the loop never ran clean";
    EXPECT_GE(duplicates, 1U) << "no iteration lost the script's reply (the duplicate case)";
}

}  // namespace
}  // namespace nudge::broker
