// BasicConnection's member definitions. connection.cpp instantiates them for tcp::socket; tests
// include this file to instantiate them for their in-memory stream.
#pragma once

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <type_traits>
#include <utility>

#include "redis/connection.hpp"

namespace nudge::redis {

namespace connection_detail {

inline constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// A write buffer grown past this by a burst is given back once the burst is written.
inline constexpr std::size_t kKeepWriteCapacity = std::size_t{1024} * 1024;

template <class Stream>
inline constexpr bool kIsTcp = std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

// How many replies a command sent on a subscriber connection gets: one per channel for the
// (un)subscribe family with channels (one confirmation each), else one (PING, or UNSUBSCRIBE
// without arguments, which gets at least one). Undercounting is the safe side: an extra reply
// only retires a later command's deadline early.
inline std::size_t expected_push_replies(std::span<const std::string_view> args) {
    if (args.size() < 2) return 1;
    static constexpr std::string_view kFamily[] = {"SUBSCRIBE",   "SSUBSCRIBE",   "PSUBSCRIBE",
                                                   "UNSUBSCRIBE", "SUNSUBSCRIBE", "PUNSUBSCRIBE"};
    const std::string_view name = args.front();
    for (const std::string_view command : kFamily) {
        if (name.size() == command.size() &&
            std::equal(name.begin(), name.end(), command.begin(), [](char a, char b) {
                return std::toupper(static_cast<unsigned char>(a)) == b;
            })) {
            return args.size() - 1;
        }
    }
    return 1;
}

// A published message (not the answer to anything we sent): message, smessage, pmessage.
inline bool is_published_message(const redisReply& reply) {
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0) return false;
    const std::string_view kind = as_view(*reply.element[0]);
    return kind == "message" || kind == "smessage" || kind == "pmessage";
}

template <class Stream>
void close_stream(Stream& stream) {
    if constexpr (requires(boost::system::error_code & ec) { stream.close(ec); }) {
        boost::system::error_code ignored;
        stream.close(ignored);
    } else {
        stream.close();
    }
}

}  // namespace connection_detail

template <class Stream>
BasicConnection<Stream>::BasicConnection(Stream stream, Endpoint endpoint, Mode mode,
                                         ConnectionOptions options)
    : stream_(std::move(stream)),
      endpoint_(std::move(endpoint)),
      mode_(mode),
      options_(std::move(options)),
      reader_(redisReaderCreate()),
      connect_timer_(stream_.get_executor()),
      command_timer_(stream_.get_executor()),
      read_buffer_(connection_detail::kReadChunk) {
    if (!reader_) throw std::bad_alloc();  // redisReaderCreate fails only when out of memory
}

template <class Stream>
BasicConnection<Stream>::~BasicConnection() {
    // Pending I/O holds a shared_ptr to this, so an open connection cannot get here; this only
    // releases what a never-connected or closed one still has.
    connection_detail::close_stream(stream_);
}

template <class Stream>
std::size_t BasicConnection<Stream>::pending() const noexcept {
    return mode_ == Mode::kCommands ? pending_.size() - handshake_steps_.size()
                                    : unanswered_.size();
}

template <class Stream>
void BasicConnection<Stream>::connect(std::function<void(std::string)> done) {
    if (state_ != State::kIdle) {
        boost::asio::post(stream_.get_executor(),
                          [done = std::move(done)] { done("connect() called twice"); });
        return;
    }
    connect_done_ = std::move(done);
    state_ = State::kConnecting;
    // Queued first, so they precede any command issued before the handshake ends.
    if (!endpoint_.password.empty()) {
        if (endpoint_.username.empty()) {
            const std::string_view args[] = {"AUTH", endpoint_.password};
            queue_handshake(args, "AUTH");
        } else {
            const std::string_view args[] = {"AUTH", endpoint_.username, endpoint_.password};
            queue_handshake(args, "AUTH");
        }
    }
    if (endpoint_.db != 0) {
        const std::string db = std::to_string(endpoint_.db);
        const std::string_view args[] = {"SELECT", db};
        queue_handshake(args, "SELECT " + db);
    }
    if (!options_.client_name.empty()) {
        const std::string_view args[] = {"CLIENT", "SETNAME", options_.client_name};
        queue_handshake(args, "CLIENT SETNAME");
    }

    auto self = this->shared_from_this();
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([self](const boost::system::error_code& ec) {
        if (ec || self->state_ == State::kOpen || self->state_ == State::kClosed) return;
        std::string reason = "connect " + authority(self->endpoint_) + ": timed out after " +
                             std::to_string(self->options_.connect_timeout.count()) + " ms";
        if (!self->handshake_steps_.empty() && self->state_ == State::kHandshake) {
            reason += " waiting for the answer to " + self->handshake_steps_.front();
        }
        self->fail(std::move(reason));
    });

    if constexpr (connection_detail::kIsTcp<Stream>) {
        resolver_ = std::make_unique<boost::asio::ip::tcp::resolver>(stream_.get_executor());
        resolver_->async_resolve(
            endpoint_.host, std::to_string(endpoint_.port),
            [self](const boost::system::error_code& ec,
                   const boost::asio::ip::tcp::resolver::results_type& results) {
                if (self->state_ != State::kConnecting) return;
                if (ec) {
                    self->fail("connect " + authority(self->endpoint_) + ": " + ec.message());
                    return;
                }
                boost::asio::async_connect(
                    self->stream_, results,
                    [self](const boost::system::error_code& connect_ec,
                           const boost::asio::ip::tcp::endpoint& /*peer*/) {
                        if (self->state_ != State::kConnecting) return;
                        if (connect_ec) {
                            self->fail("connect " + authority(self->endpoint_) + ": " +
                                       connect_ec.message());
                            return;
                        }
                        // Commands are small and latency-bound: no Nagle delay.
                        boost::system::error_code ignored;
                        self->stream_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
                        self->start_handshake();
                    });
            });
    } else {
        // Already connected; still never call `done` from inside connect().
        boost::asio::post(stream_.get_executor(), [self] {
            if (self->state_ == State::kConnecting) self->start_handshake();
        });
    }
}

template <class Stream>
void BasicConnection<Stream>::queue_handshake(std::span<const std::string_view> args,
                                              std::string step) {
    append_command(out_, args);
    handshake_steps_.push_back(std::move(step));
    pending_.push_back(
        Pending{[this](Reply reply) { on_handshake_reply(reply); }, Clock::time_point::max()});
}

template <class Stream>
void BasicConnection<Stream>::start_handshake() {
    resolver_.reset();
    state_ = State::kHandshake;
    start_read();
    if (handshake_steps_.empty()) {
        finish_connect();
        return;
    }
    flush();
}

template <class Stream>
void BasicConnection<Stream>::on_handshake_reply(const Reply& reply) {
    // Called with the front step still in handshake_steps_ (dispatch pops it after).
    if (!reply) return;  // the connection ended: fail() reports why
    if (reply->type == REDIS_REPLY_ERROR) {
        fail(handshake_steps_.front() + ": " + std::string(as_view(*reply)));
    }
}

template <class Stream>
void BasicConnection<Stream>::finish_connect() {
    connect_timer_.cancel();
    state_ = State::kOpen;
    last_reply_ = Clock::now();
    // Commands queued during the handshake get their full time from now on.
    const auto deadline = Clock::now() + options_.command_timeout;
    for (auto& entry : pending_) entry.deadline = deadline;
    for (auto& entry : unanswered_) entry = deadline;
    arm_command_timer();
    schedule_flush();
    auto done = std::move(connect_done_);
    connect_done_ = nullptr;
    if (done) done("");
}

template <class Stream>
void BasicConnection<Stream>::command(std::span<const std::string_view> args, Callback done) {
    if (state_ == State::kIdle || state_ == State::kClosed || args.empty()) {
        if (done) {
            boost::asio::post(stream_.get_executor(), [done = std::move(done)] { done(nullptr); });
        }
        return;
    }
    append_command(out_, args);
    const auto deadline = Clock::now() + options_.command_timeout;
    if (mode_ == Mode::kCommands) {
        pending_.push_back(Pending{std::move(done), deadline});
    } else {
        unanswered_.insert(unanswered_.end(), connection_detail::expected_push_replies(args),
                           deadline);
    }
    arm_command_timer();  // only once open: the connect timeout covers the handshake
    // Pipelined behind the handshake as soon as the socket is connected: Redis answers in order,
    // and if AUTH fails the connection fails with it. While the TCP connect is in progress the
    // bytes wait in out_; the handshake's write carries them.
    if (state_ != State::kConnecting) schedule_flush();
}

template <class Stream>
void BasicConnection<Stream>::schedule_flush() {
    if (write_in_flight_ || flush_posted_) return;
    flush_posted_ = true;
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
        self->flush_posted_ = false;
        self->flush();
    });
}

template <class Stream>
void BasicConnection<Stream>::flush() {
    if (write_in_flight_ || out_.empty() ||
        (state_ != State::kHandshake && state_ != State::kOpen)) {
        return;
    }
    writing_.swap(out_);
    out_.clear();
    write_in_flight_ = true;
    boost::asio::async_write(
        stream_, boost::asio::buffer(writing_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
            self->write_in_flight_ = false;
            if (self->state_ == State::kClosed) return;
            if (ec) {
                self->fail(self->during("write: " + ec.message()));
                return;
            }
            if (self->writing_.capacity() > connection_detail::kKeepWriteCapacity) {
                std::string().swap(self->writing_);
            } else {
                self->writing_.clear();
            }
            self->flush();
        });
}

template <class Stream>
void BasicConnection<Stream>::start_read() {
    read_in_flight_ = true;
    stream_.async_read_some(
        boost::asio::buffer(read_buffer_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            self->on_read(ec, n);
        });
}

template <class Stream>
void BasicConnection<Stream>::on_read(const boost::system::error_code& ec, std::size_t bytes) {
    read_in_flight_ = false;
    if (state_ == State::kClosed) return;
    if (ec) {
        fail(during(ec == boost::asio::error::eof ? std::string("connection closed by the server")
                                                  : "read: " + ec.message()));
        return;
    }
    if (redisReaderFeed(reader_.get(), read_buffer_.data(), bytes) != REDIS_OK) {
        fail(during("protocol error: " + std::string(reader_->errstr)));
        return;
    }
    for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
            fail(during("protocol error: " + std::string(reader_->errstr)));
            return;
        }
        if (raw == nullptr) break;  // the rest of the reply is still on its way
        dispatch(Reply(static_cast<redisReply*>(raw)));
        if (state_ == State::kClosed) return;  // a callback closed it, or the handshake failed
    }
    if (paused_) return;  // resume_reading() reads on
    start_read();
}

template <class Stream>
void BasicConnection<Stream>::pause_reading() {
    paused_ = true;
}

template <class Stream>
void BasicConnection<Stream>::resume_reading() {
    if (!paused_) return;
    paused_ = false;
    if (state_ == State::kClosed) return;
    // The silence was ours: the link is judged again from now.
    last_reply_ = Clock::now();
    if (!read_in_flight_) start_read();
    arm_command_timer();
}

template <class Stream>
void BasicConnection<Stream>::dispatch(Reply reply) {
    if (!handshake_steps_.empty() || mode_ == Mode::kCommands) {
        if (pending_.empty()) {
            fail("protocol error: a reply with no command waiting for it");
            return;
        }
        Pending entry = std::move(pending_.front());
        pending_.pop_front();
        const bool handshake = !handshake_steps_.empty();
        if (entry.done) entry.done(std::move(reply));
        if (handshake && state_ != State::kClosed) {
            handshake_steps_.pop_front();
            if (handshake_steps_.empty()) finish_connect();
        }
        return;
    }
    last_reply_ = Clock::now();
    if (!unanswered_.empty() && !connection_detail::is_published_message(*reply)) {
        unanswered_.pop_front();
    }
    if (push_handler_) push_handler_(std::move(reply));
}

template <class Stream>
void BasicConnection<Stream>::arm_command_timer() {
    if (command_timer_armed_ || state_ != State::kOpen) return;
    const Clock::time_point* earliest = nullptr;
    if (mode_ == Mode::kCommands && !pending_.empty()) earliest = &pending_.front().deadline;
    if (mode_ == Mode::kPubSub && !unanswered_.empty()) earliest = &unanswered_.front();
    if (earliest == nullptr) return;
    command_timer_armed_ = true;
    command_timer_.expires_at(std::max(*earliest, last_reply_ + options_.command_timeout));
    command_timer_.async_wait(
        [self = this->shared_from_this()](const boost::system::error_code& ec) {
            self->command_timer_armed_ = false;
            if (!ec) self->on_command_timer();
        });
}

template <class Stream>
void BasicConnection<Stream>::on_command_timer() {
    if (state_ != State::kOpen || paused_) return;  // paused: resume_reading() re-arms
    // Deadlines grow in FIFO order, so only the oldest unanswered command can have expired.
    // Answers do not touch the timer; it re-arms here for the oldest one left. The link is
    // judged by the time since its last reply, not by each command's own deadline: a Redis
    // working through a long pipeline (200,000 SUBSCRIBEs after a restart) is alive as long
    // as replies keep coming.
    const auto now = Clock::now();
    const bool silent = last_reply_ + options_.command_timeout <= now;
    const bool expired = silent && (mode_ == Mode::kCommands
                                        ? !pending_.empty() && pending_.front().deadline <= now
                                        : !unanswered_.empty() && unanswered_.front() <= now);
    if (expired) {
        fail("no reply within " + std::to_string(options_.command_timeout.count()) + " ms");
        return;
    }
    arm_command_timer();
}

template <class Stream>
std::deque<typename BasicConnection<Stream>::Pending> BasicConnection<Stream>::shut_down() {
    state_ = State::kClosed;
    if (resolver_) resolver_->cancel();
    connect_timer_.cancel();
    command_timer_.cancel();
    connection_detail::close_stream(stream_);
    out_.clear();
    unanswered_.clear();
    handshake_steps_.clear();
    push_handler_ = nullptr;
    return std::exchange(pending_, {});
}

template <class Stream>
std::string BasicConnection<Stream>::during(std::string what) const {
    if (state_ == State::kOpen) return what;
    return "connect " + authority(endpoint_) + ": " + what;
}

template <class Stream>
void BasicConnection<Stream>::fail(std::string reason) {
    if (state_ == State::kClosed) return;
    const auto self = this->shared_from_this();  // a callback may drop the owner's pointer
    const bool was_open = state_ == State::kOpen;
    auto pending = shut_down();
    auto connect_done = std::exchange(connect_done_, nullptr);
    auto close_handler = std::exchange(close_handler_, nullptr);
    for (auto& entry : pending) {
        if (entry.done) entry.done(nullptr);
    }
    if (was_open) {
        if (close_handler) close_handler(std::move(reason));
    } else if (connect_done) {
        connect_done(std::move(reason));
    }
}

template <class Stream>
void BasicConnection<Stream>::close() {
    if (state_ == State::kClosed) return;
    const auto self = this->weak_from_this().lock();  // null when called from a destructor
    auto pending = shut_down();
    auto connect_done = std::exchange(connect_done_, nullptr);
    close_handler_ = nullptr;
    for (auto& entry : pending) {
        if (entry.done) entry.done(nullptr);
    }
    if (connect_done) connect_done("connection closed");
}

}  // namespace nudge::redis
