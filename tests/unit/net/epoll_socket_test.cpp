// EpollSocket and Poller over a real socketpair: waits complete on readiness (including
// readiness that arrived before the wait), a reader that stops early is woken again, writes
// that would block wait for room, close aborts pending waits, and a peer's close or reset
// reaches the reader.
#include "net/epoll_socket.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/poller.hpp"

namespace nudge::net {
namespace {

using boost::system::error_code;

struct Pair {
    Pair() {
        std::array<int, 2> fds{};
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()), 0);
        ours = fds[0];
        peer = fds[1];
    }
    ~Pair() {
        if (peer >= 0) ::close(peer);
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;
    void send(const std::string& bytes) const {
        ASSERT_EQ(::write(peer, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    }
    int ours = -1;  // handed to the EpollSocket, which closes it
    int peer = -1;
};

class EpollSocketTest : public ::testing::Test {
protected:
    EpollSocketTest() { poller.start(); }

    // Runs the loop until `done` holds (bounded, so a lost wake-up fails instead of hanging).
    template <class Done>
    bool run_until(Done done) {
        for (int i = 0; i < 200 && !done(); ++i) {
            io.run_for(std::chrono::milliseconds(10));
            io.restart();
        }
        return done();
    }

    boost::asio::io_context io;
    Poller poller{io};
    Pair pair;
};

// The handler shapes WsConnection uses: a lambda capturing one pointer.
struct Waits {
    int completed = 0;
    error_code last;
};

TEST_F(EpollSocketTest, ReadWaitCompletesWhenDataArrives) {
    EpollSocket socket(poller, pair.ours);
    std::array<char, 16> buffer{};
    error_code ec;
    EXPECT_EQ(socket.read_some(boost::asio::buffer(buffer), ec), 0U);
    EXPECT_EQ(ec, boost::asio::error::would_block);
    Waits waits;
    socket.async_wait(EpollSocket::wait_read, [w = &waits](error_code e) {
        ++w->completed;
        w->last = e;
    });
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
    EXPECT_EQ(waits.completed, 0) << "no data yet, the wait must stay pending";
    pair.send("hello");
    ASSERT_TRUE(run_until([&] { return waits.completed == 1; }));
    EXPECT_FALSE(waits.last);
    EXPECT_EQ(socket.read_some(boost::asio::buffer(buffer), ec), 5U);
    EXPECT_EQ(std::string(buffer.data(), 5), "hello");
}

TEST_F(EpollSocketTest, ReadinessBeforeTheWaitIsNotLost) {
    EpollSocket socket(poller, pair.ours);
    Waits waits;
    // The first wait registers the socket; readiness is unknown, so it completes at once.
    socket.async_wait(EpollSocket::wait_read, [w = &waits](error_code) { ++w->completed; });
    ASSERT_TRUE(run_until([&] { return waits.completed == 1; }));
    std::array<char, 16> buffer{};
    error_code ec;
    socket.read_some(boost::asio::buffer(buffer), ec);
    EXPECT_EQ(ec, boost::asio::error::would_block);
    // Data arrives while nobody waits: the kernel's edge is taken by the poller then.
    pair.send("x");
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
    socket.async_wait(EpollSocket::wait_read, [w = &waits](error_code) { ++w->completed; });
    ASSERT_TRUE(run_until([&] { return waits.completed == 2; }));
    EXPECT_EQ(socket.read_some(boost::asio::buffer(buffer), ec), 1U);
}

TEST_F(EpollSocketTest, AReaderThatStopsEarlyIsWokenAgain) {
    EpollSocket socket(poller, pair.ours);
    std::array<char, 4> buffer{};
    error_code ec;
    socket.read_some(boost::asio::buffer(buffer), ec);
    ASSERT_EQ(ec, boost::asio::error::would_block);
    Waits waits;
    socket.async_wait(EpollSocket::wait_read, [w = &waits](error_code) { ++w->completed; });
    pair.send("12345678");
    ASSERT_TRUE(run_until([&] { return waits.completed == 1; }));
    // Read only part of it (a bounded reader), then wait again: no new edge will come.
    EXPECT_EQ(socket.read_some(boost::asio::buffer(buffer), ec), 4U);
    socket.async_wait(EpollSocket::wait_read, [w = &waits](error_code) { ++w->completed; });
    ASSERT_TRUE(run_until([&] { return waits.completed == 2; }));
    EXPECT_EQ(socket.read_some(boost::asio::buffer(buffer), ec), 4U);
    EXPECT_EQ(std::string(buffer.data(), 4), "5678");
}

TEST_F(EpollSocketTest, AWriteThatWouldBlockWaitsForRoom) {
    EpollSocket socket(poller, pair.ours);
    const std::string chunk(64 * 1024, 'a');
    error_code ec;
    std::size_t written = 0;
    for (int i = 0; i < 1000 && !ec; ++i)
        written += socket.write_some(boost::asio::buffer(chunk), ec);
    ASSERT_EQ(ec, boost::asio::error::would_block);
    Waits waits;
    socket.async_wait(EpollSocket::wait_write, [w = &waits](error_code) { ++w->completed; });
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
    EXPECT_EQ(waits.completed, 0) << "the peer has read nothing: no room yet";
    std::vector<char> sink(written);
    std::size_t drained = 0;
    while (drained < written) {
        const ssize_t n = ::read(pair.peer, sink.data(), sink.size());
        ASSERT_GT(n, 0);
        drained += static_cast<std::size_t>(n);
    }
    ASSERT_TRUE(run_until([&] { return waits.completed == 1; }));
    // A gathered write goes out too.
    const std::array<boost::asio::const_buffer, 2> parts = {boost::asio::buffer("ab", 2),
                                                            boost::asio::buffer("cd", 2)};
    EXPECT_EQ(socket.write_some(std::span<const boost::asio::const_buffer>(parts), ec), 4U);
    std::array<char, 4> got{};
    ASSERT_EQ(::read(pair.peer, got.data(), got.size()), 4);
    EXPECT_EQ(std::string(got.data(), 4), "abcd");
}

// WsConnection gathers up to 64 frames, a header and a payload each, into one sendmsg: all
// kMaxBuffers go out in one write, and past them the write is short (never an error).
TEST_F(EpollSocketTest, AGatheredWriteTakesUpToKMaxBuffers) {
    EpollSocket socket(poller, pair.ours);
    std::string bytes(EpollSocket::kMaxBuffers + 10, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + i % 26);
    std::vector<boost::asio::const_buffer> parts;
    for (std::size_t i = 0; i < bytes.size(); ++i) parts.emplace_back(bytes.data() + i, 1);
    error_code ec;
    const std::span<const boost::asio::const_buffer> all(parts);
    EXPECT_EQ(socket.write_some(all.first(EpollSocket::kMaxBuffers), ec), EpollSocket::kMaxBuffers);
    EXPECT_FALSE(ec);
    EXPECT_EQ(socket.write_some(all, ec), EpollSocket::kMaxBuffers);
    EXPECT_FALSE(ec);
    std::string got(2 * EpollSocket::kMaxBuffers, '\0');
    std::size_t read = 0;
    while (read < got.size()) {
        const ssize_t n = ::read(pair.peer, got.data() + read, got.size() - read);
        ASSERT_GT(n, 0);
        read += static_cast<std::size_t>(n);
    }
    const std::string first = bytes.substr(0, EpollSocket::kMaxBuffers);
    EXPECT_EQ(got, first + first);
}

TEST_F(EpollSocketTest, CloseAbortsPendingWaits) {
    EpollSocket socket(poller, pair.ours);
    std::array<char, 4> buffer{};
    error_code ec;
    socket.read_some(boost::asio::buffer(buffer), ec);
    Waits waits;
    socket.async_wait(EpollSocket::wait_read, [w = &waits](error_code e) {
        ++w->completed;
        w->last = e;
    });
    socket.close(ec);
    EXPECT_FALSE(ec);
    EXPECT_FALSE(socket.is_open());
    EXPECT_EQ(waits.completed, 0) << "completions are posted, never run inside close()";
    ASSERT_TRUE(run_until([&] { return waits.completed == 1; }));
    EXPECT_EQ(waits.last, boost::asio::error::operation_aborted);
    EXPECT_EQ(socket.read_some(boost::asio::buffer(buffer), ec), 0U);
    EXPECT_EQ(ec, boost::asio::error::bad_descriptor);
    // A wait on a closed socket fails instead of hanging.
    socket.async_wait(EpollSocket::wait_write, [w = &waits](error_code e) {
        ++w->completed;
        w->last = e;
    });
    ASSERT_TRUE(run_until([&] { return waits.completed == 2; }));
    EXPECT_EQ(waits.last, boost::asio::error::bad_descriptor);
}

TEST_F(EpollSocketTest, PeerCloseWakesTheReaderWithEof) {
    EpollSocket socket(poller, pair.ours);
    std::array<char, 4> buffer{};
    error_code ec;
    socket.read_some(boost::asio::buffer(buffer), ec);
    Waits waits;
    socket.async_wait(EpollSocket::wait_read, [w = &waits](error_code) { ++w->completed; });
    ::close(pair.peer);
    pair.peer = -1;
    ASSERT_TRUE(run_until([&] { return waits.completed == 1; }));
    EXPECT_EQ(socket.read_some(boost::asio::buffer(buffer), ec), 0U);
    EXPECT_EQ(ec, boost::asio::error::eof);
    // Writing to a closed peer is an error, never SIGPIPE.
    socket.write_some(boost::asio::buffer("x", 1), ec);
    EXPECT_EQ(ec, boost::asio::error::broken_pipe);
}

TEST_F(EpollSocketTest, HalfCloseSendsEofToThePeer) {
    EpollSocket socket(poller, pair.ours);
    error_code ec;
    socket.shutdown(EpollSocket::shutdown_send, ec);
    EXPECT_FALSE(ec);
    std::array<char, 4> buffer{};
    EXPECT_EQ(::read(pair.peer, buffer.data(), buffer.size()), 0);
}

TEST_F(EpollSocketTest, ManySocketsInOneSetEachGetTheirOwnEvents) {
    // More sockets than one dispatch batch takes, all readable at once.
    constexpr int kSockets = 300;
    std::vector<std::unique_ptr<Pair>> pairs;
    std::vector<std::unique_ptr<EpollSocket>> sockets;
    std::vector<int> woken(kSockets, 0);
    for (int i = 0; i < kSockets; ++i) {
        pairs.push_back(std::make_unique<Pair>());
        sockets.push_back(std::make_unique<EpollSocket>(poller, pairs.back()->ours));
        std::array<char, 4> buffer{};
        error_code ec;
        sockets.back()->read_some(boost::asio::buffer(buffer), ec);
        sockets.back()->async_wait(EpollSocket::wait_read,
                                   [w = &woken[static_cast<std::size_t>(i)]](error_code) { ++*w; });
    }
    for (const auto& p : pairs) p->send("y");
    ASSERT_TRUE(run_until(
        [&] { return std::all_of(woken.begin(), woken.end(), [](int n) { return n == 1; }); }));
}

}  // namespace
}  // namespace nudge::net
