// BasicConnection: one Redis connection on an Asio io_context, pipelined, RESP2.
//
// Why not hiredis' async API: Debian 12 ships hiredis 0.14, whose async layer special-cases only
// SUBSCRIBE/PSUBSCRIBE replies, so SSUBSCRIBE confirmations and `smessage` pushes would be
// matched to the wrong callbacks. hiredis' reader (hiredis/read.h) is a plain RESP parser that
// works for any command, so this class does its own I/O on the hub's loop, encodes commands
// itself and hands every byte it reads to that reader; it never parses RESP by hand.
//
// Threading: single-threaded. Every member function must be called on the thread running the
// stream's io_context, and every callback runs there. Ownership: create it with
// std::make_shared; while it is open its pending I/O keeps it alive, so the owner ends it with
// close() (dropping the last shared_ptr alone does not close an open connection). No reconnect
// logic: once closed, a connection stays closed; the owner makes a new one (and owns backoff).
//
// Modes:
// - kCommands: command() pipelines; answers come back in FIFO order, each to its command's
//   callback. An error reply is a reply; a null Reply means the connection ended before the
//   answer. A reply with no command waiting is a protocol error (the connection closes).
// - kPubSub: every reply after the handshake (subscribe confirmations, message, smessage,
//   pmessage, pong) goes to the push handler; command()'s callback is not used (pass nullptr):
//   SUBSCRIBE, SSUBSCRIBE, UNSUBSCRIBE, PING are just sent.
//
// Timeouts: connect() fails after connect_timeout (resolve, TCP connect and handshake together).
// Once connected, a command unanswered for command_timeout while no reply at all came for
// command_timeout closes the connection: this is how a stopped (SIGSTOP) or unreachable Redis
// is noticed, while a Redis busy answering a long pipeline is not taken for dead. In kPubSub mode replies are counted instead
// of matched: each (un)subscribe command expects one confirmation per channel, anything else one
// reply; published messages (message, smessage, pmessage) answer nothing. With nothing sent, a
// subscriber connection never times out: send PING periodically to watch it.
//
// Writes are coalesced: the commands issued in one turn of the loop (and any issued while a
// write is in flight) go out in one write. The output is not bounded here: the owner bounds it
// by watching pending().
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.hpp"
#include "redis/url.hpp"

namespace nudge::redis {

enum class Mode { kCommands, kPubSub };

struct ConnectionOptions {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds command_timeout{2000};
    std::string client_name;  // CLIENT SETNAME during the handshake when not empty
};

// Appends the RESP encoding of one command (an array of bulk strings) to `out`.
void append_command(std::string& out, std::span<const std::string_view> args);

// "host:port", with [brackets] around an IPv6 host: for error messages.
[[nodiscard]] std::string authority(const Endpoint& endpoint);

struct ReaderDeleter {
    void operator()(redisReader* reader) const noexcept { redisReaderFree(reader); }
};

template <class Stream>
class BasicConnection : public std::enable_shared_from_this<BasicConnection<Stream>> {
public:
    using Callback = std::function<void(Reply)>;

    // `stream` is not connected yet: for tcp::socket, connect() resolves and connects it; any
    // other Stream (the tests' in-memory stream) is taken as already connected.
    BasicConnection(Stream stream, Endpoint endpoint, Mode mode, ConnectionOptions options = {});
    ~BasicConnection();
    BasicConnection(const BasicConnection&) = delete;
    BasicConnection& operator=(const BasicConnection&) = delete;

    // TCP connect (tcp::socket only, with TCP_NODELAY), then, pipelined: AUTH (user and password,
    // or password alone) if the endpoint has a password, SELECT if db != 0, CLIENT SETNAME if
    // options.client_name is set. `done` is called once, never from inside connect(): with ""
    // when the connection is ready, else with what failed ("connect 127.0.0.1:6379: Connection
    // refused", "AUTH: WRONGPASS invalid username-password pair ...", "connect ...: timed out
    // after 2000 ms"); then the connection is closed and the close handler is not called.
    // Commands may be issued as soon as connect() has been called: they are pipelined behind the
    // handshake commands. Call connect() once.
    void connect(std::function<void(std::string error)> done);

    // Sends one command (see the modes above). The arguments are encoded (copied) before it
    // returns, so they may be temporaries. On a closed connection, before connect(), or with no
    // arguments, `done` gets a null Reply, posted (never called from inside command()).
    void command(std::span<const std::string_view> args, Callback done);
    void command(std::initializer_list<std::string_view> args, Callback done) {
        command(std::span<const std::string_view>(args.begin(), args.size()), std::move(done));
    }

    // kPubSub: receives every reply after the handshake.
    void set_push_handler(Callback handler) { push_handler_ = std::move(handler); }

    // Called once, with the reason, when the connection ends after a successful connect: I/O
    // error, EOF ("connection closed by the server"), protocol error, command timeout. Every
    // pending callback gets a null Reply first. Not called after close().
    void set_close_handler(std::function<void(std::string reason)> handler) {
        close_handler_ = std::move(handler);
    }

    // Flow control (the owner's delivery backlog is full): stops reading after the replies
    // already read are dispatched, so Redis' client-output-buffer limit bounds what waits;
    // resume_reading() reads on. While paused no command times out. Idempotent.
    void pause_reading();
    void resume_reading();
    [[nodiscard]] bool reading_paused() const noexcept { return paused_; }

    // Idempotent. Pending callbacks get a null Reply (called from inside close()); a connect()
    // still in progress gets "connection closed"; the close handler is not called.
    void close();

    // True between a successful connect and the end of the connection.
    [[nodiscard]] bool connected() const noexcept { return state_ == State::kOpen; }
    // Commands sent (or queued to be sent) and not answered yet; handshake commands excluded.
    // kPubSub: replies expected and not received yet (SUBSCRIBE a b expects two).
    [[nodiscard]] std::size_t pending() const noexcept;
    [[nodiscard]] const Endpoint& endpoint() const noexcept { return endpoint_; }
    [[nodiscard]] Mode mode() const noexcept { return mode_; }

private:
    using Clock = std::chrono::steady_clock;
    enum class State { kIdle, kConnecting, kHandshake, kOpen, kClosed };

    struct Pending {
        Callback done;
        Clock::time_point deadline;
    };

    void start_handshake();
    void queue_handshake(std::span<const std::string_view> args, std::string step);
    void on_handshake_reply(const Reply& reply);
    void finish_connect();
    void start_read();
    void on_read(const boost::system::error_code& ec, std::size_t bytes);
    void dispatch(Reply reply);
    void schedule_flush();
    void flush();
    void arm_command_timer();
    void on_command_timer();
    // Ends the connection: every pending callback gets a null Reply, then connect()'s callback
    // (before the connection was ready) or the close handler (after) gets `reason`.
    void fail(std::string reason);
    // `what` went wrong; before the connection is ready, prefixed "connect host:port: ".
    [[nodiscard]] std::string during(std::string what) const;
    // Closes the stream, cancels the timers; returns the callbacks to call, in order.
    std::deque<Pending> shut_down();

    Stream stream_;
    Endpoint endpoint_;
    Mode mode_;
    ConnectionOptions options_;
    State state_ = State::kIdle;
    std::unique_ptr<redisReader, ReaderDeleter> reader_;
    std::unique_ptr<boost::asio::ip::tcp::resolver> resolver_;  // tcp::socket only
    boost::asio::steady_timer connect_timer_;
    boost::asio::steady_timer command_timer_;
    bool command_timer_armed_ = false;
    bool read_in_flight_ = false;
    bool paused_ = false;
    Clock::time_point last_reply_{};  // of any reply: the link is judged by the time since it

    std::string out_;      // encoded commands not written yet
    std::string writing_;  // the bytes of the write in flight
    bool write_in_flight_ = false;
    bool flush_posted_ = false;
    std::vector<char> read_buffer_;

    // kCommands, and the handshake in both modes: one entry per command, FIFO. The first
    // handshake_steps_.size() entries are the handshake's.
    std::deque<Pending> pending_;
    std::deque<std::string> handshake_steps_;  // "AUTH", "SELECT 2", ...: unanswered, in order
    // kPubSub: one deadline per reply expected and not received yet.
    std::deque<Clock::time_point> unanswered_;

    std::function<void(std::string)> connect_done_;
    Callback push_handler_;
    std::function<void(std::string)> close_handler_;
};

using Connection = BasicConnection<boost::asio::ip::tcp::socket>;
extern template class BasicConnection<boost::asio::ip::tcp::socket>;

}  // namespace nudge::redis
