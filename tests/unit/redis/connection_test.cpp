// BasicConnection over Boost.Beast's in-memory test stream: the test plays Redis, reads what the
// connection wrote and answers byte for byte; a fail_count fails the n-th read or write so every
// error path runs (Beast's doFailLoop). No sockets, no sleeping: waits are bounded loops.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis/connection_impl.hpp"
#include "resp.hpp"

namespace nudge::redis {
namespace {

using namespace std::chrono_literals;
using test::bulk;
namespace beast_test = boost::beast::test;

// The test stream, counting the writes the connection starts (to check coalescing).
class CountingStream {
public:
    using executor_type = beast_test::stream::executor_type;

    CountingStream(beast_test::stream stream, std::shared_ptr<std::size_t> writes)
        : stream_(std::move(stream)), writes_(std::move(writes)) {}

    executor_type get_executor() noexcept { return stream_.get_executor(); }

    template <class Buffers, class Handler>
    auto async_read_some(const Buffers& buffers, Handler&& handler) {
        return stream_.async_read_some(buffers, std::forward<Handler>(handler));
    }
    template <class Buffers, class Handler>
    auto async_write_some(const Buffers& buffers, Handler&& handler) {
        ++*writes_;
        return stream_.async_write_some(buffers, std::forward<Handler>(handler));
    }
    void close() { stream_.close(); }

private:
    beast_test::stream stream_;
    std::shared_ptr<std::size_t> writes_;
};

using TestConnection = BasicConnection<CountingStream>;

std::string resp_command(std::initializer_list<std::string_view> args) {
    std::string out;
    append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
    return out;
}

std::string text_of(const Reply& reply) {
    if (!reply) return "<null>";
    if (reply->type == REDIS_REPLY_INTEGER) return ":" + std::to_string(reply->integer);
    if (reply->type == REDIS_REPLY_NIL) return "<nil>";
    if (reply->type == REDIS_REPLY_ARRAY) {
        std::string out = "[";
        for (std::size_t i = 0; i < reply->elements; ++i) {
            if (i > 0) out += ",";
            out += std::string(as_view(*reply->element[i]));
        }
        return out + "]";
    }
    return std::string(reply->type == REDIS_REPLY_ERROR ? "-" : "") + std::string(as_view(*reply));
}

struct Harness {
    explicit Harness(Mode mode = Mode::kCommands,
                     Endpoint endpoint = {"redis.test", 6379, "", "", 0},
                     ConnectionOptions options = {}, std::optional<std::size_t> fail_at = {}) {
        if (fail_at) fail_count.emplace(*fail_at);
        beast_test::stream client =
            fail_count ? beast_test::stream(io, *fail_count) : beast_test::stream(io);
        client.connect(server);
        conn = std::make_shared<TestConnection>(CountingStream(std::move(client), writes),
                                                std::move(endpoint), mode, std::move(options));
        conn->set_close_handler([this](std::string reason) { close_reasons.push_back(reason); });
    }
    ~Harness() {
        conn->close();
        poll();
    }
    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    // Runs every handler that is ready (not the timers still waiting).
    void poll() {
        io.restart();
        io.poll();
    }
    // Runs the loop until `done` holds, at most 10 s (timer tests).
    template <class Pred>
    bool run_until(Pred done) {
        const auto limit = std::chrono::steady_clock::now() + 10s;
        while (!done() && std::chrono::steady_clock::now() < limit) {
            io.restart();
            io.run_one_for(50ms);
        }
        return done();
    }
    std::string take_written() {
        std::string bytes(server.str());
        server.clear();
        return bytes;
    }
    void answer(std::string_view bytes) {
        boost::asio::write(server, boost::asio::buffer(bytes.data(), bytes.size()));
        poll();
    }
    // connect() and poll; returns connect's result (nullopt: not called yet).
    std::optional<std::string> connect() {
        conn->connect([this](std::string error) { connect_result = std::move(error); });
        EXPECT_FALSE(connect_result) << "connect() must not call back from inside";
        poll();
        return connect_result;
    }
    // Sends a command whose reply lands in replies[index] as text.
    void command(std::initializer_list<std::string_view> args) {
        const std::size_t index = replies.size();
        replies.emplace_back();
        conn->command(args, [this, index](Reply reply) {
            EXPECT_FALSE(replies[index]) << "callback called twice";
            replies[index] = text_of(reply);
        });
    }

    boost::asio::io_context io;
    std::optional<beast_test::fail_count> fail_count;
    beast_test::stream server{io};
    std::shared_ptr<std::size_t> writes = std::make_shared<std::size_t>(0);
    std::shared_ptr<TestConnection> conn;
    std::optional<std::string> connect_result;
    std::vector<std::optional<std::string>> replies;
    std::vector<std::string> close_reasons;
};

TEST(RedisConnection, NoHandshakeConnectsRightAway) {
    Harness h;
    EXPECT_FALSE(h.conn->connected());
    EXPECT_EQ(h.connect(), "");
    EXPECT_TRUE(h.conn->connected());
    EXPECT_EQ(h.take_written(), "");
}

TEST(RedisConnection, HandshakeIsPipelinedInOneWrite) {
    ConnectionOptions options;
    options.client_name = "nudge-hub";
    Harness h(Mode::kCommands, {"redis.test", 6379, "alice", "pw", 2}, options);
    EXPECT_EQ(h.connect(), std::nullopt);
    EXPECT_EQ(h.take_written(), resp_command({"AUTH", "alice", "pw"}) +
                                    resp_command({"SELECT", "2"}) +
                                    resp_command({"CLIENT", "SETNAME", "nudge-hub"}));
    EXPECT_EQ(*h.writes, 1U);
    h.answer("+OK\r\n+OK\r\n");
    EXPECT_EQ(h.connect_result, std::nullopt);
    EXPECT_FALSE(h.conn->connected());
    h.answer("+OK\r\n");
    EXPECT_EQ(h.connect_result, "");
    EXPECT_TRUE(h.conn->connected());
}

TEST(RedisConnection, PasswordAloneIsAuthWithOneArgument) {
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "s3cret", 0});
    h.connect();
    EXPECT_EQ(h.take_written(), resp_command({"AUTH", "s3cret"}));
    h.answer("+OK\r\n");
    EXPECT_EQ(h.connect_result, "");
}

TEST(RedisConnection, AuthErrorFailsConnectWithTheServersText) {
    Harness h(Mode::kCommands, {"redis.test", 6379, "alice", "bad", 1});
    h.connect();
    h.answer("-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n");
    EXPECT_EQ(h.connect_result,
              "AUTH: WRONGPASS invalid username-password pair or user is disabled.");
    EXPECT_FALSE(h.conn->connected());
    EXPECT_TRUE(h.close_reasons.empty());
}

TEST(RedisConnection, SelectErrorNamesTheStep) {
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "pw", 99});
    h.connect();
    h.answer("+OK\r\n-ERR DB index is out of range\r\n");
    EXPECT_EQ(h.connect_result, "SELECT 99: ERR DB index is out of range");
}

TEST(RedisConnection, CommandsIssuedDuringTheHandshakeFollowIt) {
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "pw", 0});
    h.conn->connect([&h](std::string error) { h.connect_result = std::move(error); });
    h.command({"GET", "k"});
    EXPECT_EQ(h.conn->pending(), 1U);
    h.poll();
    EXPECT_EQ(h.take_written(), resp_command({"AUTH", "pw"}) + resp_command({"GET", "k"}));
    h.answer("+OK\r\n$1\r\nv\r\n");
    EXPECT_EQ(h.connect_result, "");
    ASSERT_EQ(h.replies.size(), 1U);
    EXPECT_EQ(h.replies[0], "v");
}

TEST(RedisConnection, HandshakeFailureGivesQueuedCommandsNull) {
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "pw", 0});
    h.conn->connect([&h](std::string error) { h.connect_result = std::move(error); });
    h.command({"GET", "k"});
    h.poll();
    h.answer("-WRONGPASS nope\r\n");
    EXPECT_EQ(h.connect_result, "AUTH: WRONGPASS nope");
    EXPECT_EQ(h.replies[0], "<null>");
}

TEST(RedisConnection, PipelinedAnswersInFifoOrderFromOneWrite) {
    Harness h;
    h.connect();
    h.command({"SET", "a", "1"});
    h.command({"GET", "a"});
    h.command({"INCR", "a"});
    h.command({"GET", "missing"});
    h.command({"LPUSH", "a", "x"});
    EXPECT_EQ(h.conn->pending(), 5U);
    h.poll();
    EXPECT_EQ(*h.writes, 1U);
    EXPECT_EQ(h.take_written(), resp_command({"SET", "a", "1"}) + resp_command({"GET", "a"}) +
                                    resp_command({"INCR", "a"}) + resp_command({"GET", "missing"}) +
                                    resp_command({"LPUSH", "a", "x"}));
    h.answer(
        "+OK\r\n$1\r\n1\r\n:2\r\n$-1\r\n"
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    ASSERT_EQ(h.replies.size(), 5U);
    EXPECT_EQ(h.replies[0], "OK");
    EXPECT_EQ(h.replies[1], "1");
    EXPECT_EQ(h.replies[2], ":2");
    EXPECT_EQ(h.replies[3], "<nil>");
    EXPECT_EQ(h.replies[4], "-WRONGTYPE Operation against a key holding the wrong kind of value");
    EXPECT_EQ(h.conn->pending(), 0U);
    EXPECT_TRUE(h.conn->connected());
}

TEST(RedisConnection, ArgumentsAreBinarySafe) {
    Harness h;
    h.connect();
    const std::string value("a\r\n\0b", 5);
    h.command({"SET", "k", value});
    h.poll();
    EXPECT_EQ(h.take_written(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n" + value + "\r\n");
}

TEST(RedisConnection, CommandsDuringAWriteGoInTheNextWrite) {
    Harness h;
    h.connect();
    h.command({"PING"});
    h.poll();
    EXPECT_EQ(*h.writes, 1U);
    h.command({"GET", "a"});
    h.command({"GET", "b"});
    h.poll();
    EXPECT_EQ(*h.writes, 2U);
    EXPECT_EQ(h.take_written(),
              resp_command({"PING"}) + resp_command({"GET", "a"}) + resp_command({"GET", "b"}));
}

TEST(RedisConnection, ReplySplitAcrossReadsAtEveryByte) {
    const std::string reply = "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n" + bulk(std::string(300, 'x'));
    Harness h;
    h.connect();
    h.command({"LRANGE", "l", "0", "-1"});
    h.command({"PING"});
    h.poll();
    for (std::size_t i = 0; i < reply.size(); ++i) {
        EXPECT_FALSE(h.replies[0]) << "complete after " << i << " bytes";
        h.answer(reply.substr(i, 1));
    }
    EXPECT_EQ(h.replies[0], "[message,room," + std::string(300, 'x') + "]");
    EXPECT_FALSE(h.replies[1]);
    h.answer("+PO");
    h.answer("NG\r");
    EXPECT_FALSE(h.replies[1]);
    h.answer("\n");
    EXPECT_EQ(h.replies[1], "PONG");
}

TEST(RedisConnection, LargeReplyInOneRead) {
    const std::string big(200 * 1024, 'z');
    Harness h;
    h.connect();
    h.command({"GET", "big"});
    h.poll();
    h.answer(bulk(big));
    EXPECT_EQ(h.replies[0], big);
}

TEST(RedisConnection, EofGivesPendingNullThenCloseHandler) {
    Harness h;
    h.connect();
    h.command({"GET", "a"});
    h.command({"GET", "b"});
    h.poll();
    // The order: pending callbacks first, then the close handler.
    h.conn->set_close_handler([&h](std::string reason) {
        EXPECT_EQ(h.replies[0], "a");
        EXPECT_EQ(h.replies[1], "<null>");
        h.close_reasons.push_back(reason);
    });
    h.answer("$1\r\na\r\n");
    h.server.close();
    h.poll();
    EXPECT_EQ(h.close_reasons, std::vector<std::string>{"connection closed by the server"});
    EXPECT_FALSE(h.conn->connected());
    EXPECT_EQ(h.conn->pending(), 0U);
}

TEST(RedisConnection, ProtocolErrorCloses) {
    Harness h;
    h.connect();
    h.command({"GET", "a"});
    h.poll();
    h.answer("!not resp\r\n");
    EXPECT_EQ(h.replies[0], "<null>");
    ASSERT_EQ(h.close_reasons.size(), 1U);
    EXPECT_EQ(h.close_reasons[0].rfind("protocol error: ", 0), 0U) << h.close_reasons[0];
}

TEST(RedisConnection, UnsolicitedReplyInCommandModeCloses) {
    Harness h;
    h.connect();
    h.answer("+OK\r\n");
    ASSERT_EQ(h.close_reasons.size(), 1U);
    EXPECT_EQ(h.close_reasons[0], "protocol error: a reply with no command waiting for it");
}

TEST(RedisConnection, CloseGivesPendingNullAndNoCloseHandler) {
    Harness h;
    h.connect();
    h.command({"GET", "a"});
    h.command({"GET", "b"});
    h.poll();
    h.conn->close();
    EXPECT_EQ(h.replies[0], "<null>");  // called from inside close()
    EXPECT_EQ(h.replies[1], "<null>");
    h.conn->close();  // idempotent
    h.poll();
    EXPECT_TRUE(h.close_reasons.empty());
    EXPECT_FALSE(h.conn->connected());
    h.command({"GET", "c"});  // after close: null, posted
    EXPECT_FALSE(h.replies[2]);
    h.poll();
    EXPECT_EQ(h.replies[2], "<null>");
}

TEST(RedisConnection, CloseFromInsideACallbackStopsDispatch) {
    Harness h;
    h.connect();
    h.conn->command({"GET", "a"}, [&h](Reply reply) {
        h.replies.emplace_back(text_of(reply));
        h.conn->close();
    });
    h.command({"GET", "b"});
    h.poll();
    h.answer("$1\r\na\r\n$1\r\nb\r\n");
    ASSERT_EQ(h.replies.size(), 2U);
    EXPECT_EQ(h.replies[0], "<null>");  // GET b, nulled by close() inside GET a's callback
    EXPECT_EQ(h.replies[1], "a");
    EXPECT_TRUE(h.close_reasons.empty());
}

TEST(RedisConnection, CloseWhileConnectingReportsToConnect) {
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "pw", 0});
    h.connect();
    h.conn->close();
    EXPECT_EQ(h.connect_result, "connection closed");
}

TEST(RedisConnection, CommandBeforeConnectIsNull) {
    Harness h;
    h.command({"PING"});
    h.poll();
    EXPECT_EQ(h.replies[0], "<null>");
    EXPECT_EQ(*h.writes, 0U);
}

TEST(RedisConnection, CommandTimeoutClosesTheConnection) {
    ConnectionOptions options;
    options.command_timeout = 50ms;
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "", 0}, options);
    h.connect();
    h.command({"GET", "a"});
    h.command({"GET", "b"});
    h.poll();
    h.answer("$1\r\na\r\n");  // the first is answered, the second never is
    ASSERT_TRUE(h.run_until([&h] { return !h.close_reasons.empty(); }));
    EXPECT_EQ(h.close_reasons[0], "no reply within 50 ms");
    EXPECT_EQ(h.replies[0], "a");
    EXPECT_EQ(h.replies[1], "<null>");
}

TEST(RedisConnection, AnsweredCommandsDoNotTimeOut) {
    ConnectionOptions options;
    options.command_timeout = 30ms;
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "", 0}, options);
    h.connect();
    // Several rounds, each answered, spanning more than the timeout in total: the timer must
    // only ever judge the oldest unanswered command.
    for (int round = 0; round < 4; ++round) {
        h.command({"PING"});
        h.poll();
        h.answer("+PONG\r\n");
        const auto until = std::chrono::steady_clock::now() + 20ms;
        h.run_until([until] { return std::chrono::steady_clock::now() >= until; });
    }
    // Idle with nothing pending: still open after the timer had reason to fire.
    const auto until = std::chrono::steady_clock::now() + 100ms;
    h.run_until([until] { return std::chrono::steady_clock::now() >= until; });
    EXPECT_TRUE(h.close_reasons.empty());
    EXPECT_TRUE(h.conn->connected());
}

TEST(RedisConnection, ConnectTimeoutNamesTheUnansweredStep) {
    ConnectionOptions options;
    options.connect_timeout = 50ms;
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "pw", 3}, options);
    h.connect();
    h.answer("+OK\r\n");  // AUTH answered, SELECT never
    ASSERT_TRUE(h.run_until([&h] { return h.connect_result.has_value(); }));
    EXPECT_EQ(h.connect_result,
              "connect redis.test:6379: timed out after 50 ms waiting for the answer to SELECT 3");
    EXPECT_TRUE(h.close_reasons.empty());
}

TEST(RedisConnection, PubSubRepliesGoToThePushHandler) {
    Harness h(Mode::kPubSub, {"redis.test", 6379, "", "pw", 0});
    std::vector<std::string> pushes;
    h.conn->set_push_handler([&pushes](Reply reply) { pushes.push_back(text_of(reply)); });
    h.connect();
    h.answer("+OK\r\n");  // AUTH's answer is the handshake's, not a push
    EXPECT_EQ(h.connect_result, "");
    const std::string_view subscribe[] = {"SSUBSCRIBE", "room:1"};
    h.conn->command(subscribe, nullptr);
    h.conn->command({"PING"}, nullptr);
    EXPECT_EQ(h.conn->pending(), 2U);
    h.take_written();
    h.poll();
    EXPECT_EQ(h.take_written(), resp_command({"SSUBSCRIBE", "room:1"}) + resp_command({"PING"}));
    h.answer("*3\r\n$10\r\nssubscribe\r\n$6\r\nroom:1\r\n:1\r\n");
    EXPECT_EQ(h.conn->pending(), 1U);
    h.answer("*3\r\n$8\r\nsmessage\r\n$6\r\nroom:1\r\n$2\r\nhi\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    EXPECT_EQ(pushes, (std::vector<std::string>{"[ssubscribe,room:1,]", "[smessage,room:1,hi]",
                                                "[pong,]"}));
    EXPECT_EQ(h.conn->pending(), 0U);
    // Unsolicited pushes are the point of this mode: no protocol error.
    h.answer("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
    EXPECT_EQ(pushes.size(), 4U);
    EXPECT_TRUE(h.close_reasons.empty());
}

TEST(RedisConnection, PubSubUnansweredCommandTimesOut) {
    ConnectionOptions options;
    options.command_timeout = 50ms;
    Harness h(Mode::kPubSub, {"redis.test", 6379, "", "", 0}, options);
    h.connect();
    h.conn->command({"PING"}, nullptr);
    ASSERT_TRUE(h.run_until([&h] { return !h.close_reasons.empty(); }));
    EXPECT_EQ(h.close_reasons[0], "no reply within 50 ms");
}

// Beast's doFailLoop: fail the 1st, 2nd, ... stream operation (reads and writes alike) until a
// run succeeds. Each failing run must end with every callback called exactly once (null for the
// unanswered) and exactly one report: connect's callback before the connection was ready, the
// close handler after.
TEST(RedisConnection, FailTheNthOperation) {
    bool succeeded = false;
    for (std::size_t n = 1; n < 50 && !succeeded; ++n) {
        Harness h(Mode::kCommands, {"redis.test", 6379, "", "pw", 0}, {}, n);
        h.conn->connect([&h](std::string error) { h.connect_result = std::move(error); });
        h.poll();
        if (!h.connect_result) h.answer("+OK\r\n");
        ASSERT_TRUE(h.connect_result) << "n=" << n;
        if (!h.connect_result->empty()) {
            EXPECT_TRUE(h.connect_result->starts_with("connect redis.test:6379: read: ") ||
                        h.connect_result->starts_with("connect redis.test:6379: write: "))
                << *h.connect_result;
            EXPECT_TRUE(h.close_reasons.empty()) << "n=" << n;
            continue;
        }
        h.command({"SET", "k", "v"});
        h.command({"GET", "k"});
        h.poll();
        h.command({"INCR", "n"});
        h.poll();
        if (h.conn->connected()) h.answer("+OK\r\n$1\r\nv\r\n");
        if (h.conn->connected()) h.answer(":1\r\n");
        for (std::size_t i = 0; i < h.replies.size(); ++i) {
            ASSERT_TRUE(h.replies[i]) << "n=" << n << " reply " << i << " never came";
        }
        if (h.conn->connected()) {
            EXPECT_EQ(h.replies[0], "OK");
            EXPECT_EQ(h.replies[1], "v");
            EXPECT_EQ(h.replies[2], ":1");
            EXPECT_TRUE(h.close_reasons.empty());
            succeeded = true;
        } else {
            ASSERT_EQ(h.close_reasons.size(), 1U) << "n=" << n;
            EXPECT_TRUE(h.close_reasons[0].starts_with("read: ") ||
                        h.close_reasons[0].starts_with("write: "))
                << h.close_reasons[0];
            // Answers in order, then nulls for the unanswered (a failure after the last answer
            // leaves none).
            const std::vector<std::string> expected = {"OK", "v", ":1"};
            bool lost = false;
            for (std::size_t i = 0; i < h.replies.size(); ++i) {
                lost = lost || h.replies[i] == "<null>";
                EXPECT_EQ(*h.replies[i], lost ? "<null>" : expected[i]) << "n=" << n;
            }
        }
    }
    EXPECT_TRUE(succeeded);
}

TEST(RedisConnection, FailedWriteClosesWithTheWriteError) {
    // Operations: 1 read started, 2 the AUTH write, 3 the next read, 4 the GET's write.
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "pw", 0}, {}, 4);
    h.connect();
    h.answer("+OK\r\n");
    ASSERT_EQ(h.connect_result, "");
    h.command({"GET", "k"});
    h.poll();
    ASSERT_EQ(h.close_reasons.size(), 1U);
    EXPECT_EQ(h.close_reasons[0].rfind("write: ", 0), 0U) << h.close_reasons[0];
    EXPECT_EQ(h.replies[0], "<null>");
}

TEST(RedisConnection, FailedReadClosesWithTheReadError) {
    // Operations: 1 the first read, 2 the write of both GETs, 3 the read after the first answer.
    Harness h(Mode::kCommands, {"redis.test", 6379, "", "", 0}, {}, 3);
    h.connect();
    ASSERT_EQ(h.connect_result, "");
    h.command({"GET", "a"});
    h.command({"GET", "b"});
    h.poll();
    h.answer("$1\r\na\r\n");
    EXPECT_EQ(h.replies[0], "a");
    EXPECT_EQ(h.replies[1], "<null>");
    ASSERT_EQ(h.close_reasons.size(), 1U);
    EXPECT_EQ(h.close_reasons[0].rfind("read: ", 0), 0U) << h.close_reasons[0];
}

}  // namespace
}  // namespace nudge::redis
