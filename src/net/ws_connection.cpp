#include "net/ws_connection.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "auth/jwt_verifier.hpp"
#include "eio/packet.hpp"
#include "metrics/metrics.hpp"
#include "net/worker.hpp"
#include "ws/frame_writer.hpp"

namespace nudge::net {

namespace asio = boost::asio;
using session::CloseReason;

namespace {

// Plain operator new/delete, exact size. Asio sends handlers with the default allocator
// (std::allocator included) through its per-thread recycling cache, which reuses whatever
// block the last completed operation released; bound to the long-lived read wait, that is a
// handshake's ~600-byte HTTP read state held for the connection's whole life.
template <class T>
struct ExactAllocator {
    using value_type = T;
    ExactAllocator() = default;
    template <class U>
    explicit ExactAllocator(const ExactAllocator<U>& /*other*/) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t /*n*/) noexcept { ::operator delete(p); }
    friend bool operator==(const ExactAllocator&, const ExactAllocator&) { return true; }
};

// A gathered write takes at most this many frames; the loop continues with the rest.
constexpr std::size_t kMaxGather = 64;

ws::CloseCode close_code_for(CloseReason reason) {
    switch (reason) {
        case CloseReason::kServerShutdown: return ws::CloseCode::kGoingAway;
        case CloseReason::kProtocolError: return ws::CloseCode::kProtocolError;
        case CloseReason::kPayloadTooLarge: return ws::CloseCode::kMessageTooBig;
        case CloseReason::kSlowConsumer:
        case CloseReason::kAuthFailures: return ws::CloseCode::kPolicyViolation;
        default: return ws::CloseCode::kNormal;
    }
}

}  // namespace

WsConnection::WsConnection(asio::ip::tcp::socket socket, Worker& worker)
    : socket_(std::move(socket)),
      worker_(worker),
      parser_(worker.context().session.config.max_payload),
      protocol_(worker.context().session, session::Protocol::Clock::now()) {}

WsConnection::~WsConnection() = default;

void WsConnection::start(std::string_view accept_key, std::string_view early_bytes) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    metrics::registry().connections.add(1);
    metrics::registry().connections_total.add(1);
    worker_.add(shared_from_this());

    std::string handshake =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: ";
    handshake.append(accept_key).append("\r\n\r\n");
    handshake += ws::encode_frame(ws::Opcode::kText, protocol_.open_packet());
    enqueue(std::make_shared<const std::string>(std::move(handshake)));
    flush();
    if (closed_) return;

    if (!early_bytes.empty()) {
        auto& buffer = worker_.read_buffer();
        const std::size_t n = std::min(early_bytes.size(), buffer.size());
        std::copy_n(early_bytes.data(), n, buffer.data());
        if (!feed_parser(n)) return;
    }
    wait_readable();
}

bool WsConnection::feed_parser(std::size_t n) {
    auto& buffer = worker_.read_buffer();
    const auto fed = parser_.feed(std::span<char>(buffer.data(), n),
                                  [this](const ws::Message& m) { return on_message(m); });
    if (!fed) {
        write_close_frame(ws::close_code(fed.error()), ws::message(fed.error()));
        close(fed.error() == ws::Error::kMessageTooBig ? CloseReason::kPayloadTooLarge
                                                       : CloseReason::kProtocolError);
        return false;
    }
    return !closed_;
}

void WsConnection::wait_readable() {
    // This wait is what an idle client holds for its whole life: exact-size allocation.
    socket_.async_wait(asio::ip::tcp::socket::wait_read,
                       asio::bind_allocator(ExactAllocator<void>(),
                                            [self = shared_from_this()](boost::system::error_code ec) {
                                                if (self->closed_) return;
                                                if (ec) {
                                                    self->close(CloseReason::kTransportError);
                                                    return;
                                                }
                                                self->on_readable();
                                            }));
}

void WsConnection::on_readable() {
    auto self = shared_from_this();
    auto& buffer = worker_.read_buffer();
    // A bounded number of reads per wake-up keeps one chatty client from starving the rest.
    for (int round = 0; round < 8; ++round) {
        boost::system::error_code ec;
        const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) {
            close(CloseReason::kTransportError);
            return;
        }
        metrics::registry().bytes_received.add(static_cast<std::int64_t>(n));
        if (!feed_parser(n)) return;
        if (n < buffer.size()) break;
    }
    wait_readable();
}

bool WsConnection::on_message(const ws::Message& message) {
    session::Effects& effects = worker_.effects();
    effects.clear();
    switch (message.opcode) {
        case ws::Opcode::kText:
            protocol_.on_text(message.payload, std::chrono::system_clock::now(), effects);
            break;
        case ws::Opcode::kBinary:
            protocol_.on_binary(message.payload, effects);
            break;
        case ws::Opcode::kPing:
            enqueue(std::make_shared<const std::string>(
                ws::encode_frame(ws::Opcode::kPong, message.payload)));
            flush();
            return !closed_;
        case ws::Opcode::kPong:
            return true;
        case ws::Opcode::kClose:
            // Echo a normal close (RFC 6455 §5.5.1) and finish.
            write_close_frame(ws::CloseCode::kNormal, {});
            close(CloseReason::kClientClose);
            return false;
        case ws::Opcode::kContinuation:
            break;  // the parser joins fragments; never handed out
    }
    apply_effects();
    return !closed_;
}

void WsConnection::apply_effects() {
    session::Effects& effects = worker_.effects();
    auto& registry = metrics::registry();
    if (effects.auth_failure) {
        registry.auth_failures.values[static_cast<std::size_t>(*effects.auth_failure)].add(1);
        spdlog::debug("auth refused reason={}", auth::reason(*effects.auth_failure));
    }
    for (auto& room : effects.join) {
        worker_.rooms().join(room, this);
        rooms_.push_back(std::move(room));
    }
    if (effects.user_id) {
        registry.sessions.add(1);
        spdlog::debug("client connected user={} rooms={}", *effects.user_id, rooms_.size());
    }
    if (effects.leave_all) {
        leave_rooms();
        registry.sessions.add(-1);
    }
    for (const auto& text : effects.send) send_text(text);
    if (effects.close) {
        const CloseReason reason = *effects.close;
        if (reason == CloseReason::kClientClose) {
            close(reason);
        } else {
            write_close_frame(close_code_for(reason), session::to_string(reason));
            close(reason);
        }
        return;
    }
    if (!effects.send.empty()) flush();
}

void WsConnection::send_text(std::string_view text) {
    enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, text)));
}

void WsConnection::enqueue(hub::Frame frame) {
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
}

void WsConnection::deliver(const hub::Frame& frame) {
    if (closed_ || close_pending_) return;
    const std::size_t limit = worker_.context().limits.max_send_queue_bytes;
    if (queued_bytes_ + frame->size() > limit) {
        // Before calling the client slow, hand what is queued to the kernel: a big batch can
        // pass the bound for a client that reads perfectly well. flush() never closes
        // synchronously here (a write error is deferred like the slow-consumer close).
        flush();
    }
    if (closed_ || close_pending_) return;
    if (queued_bytes_ + frame->size() > limit) {
        // Cannot close here: the hub is iterating a room this connection is in.
        close_pending_ = true;
        metrics::registry().slow_consumer_drops.add(1);
        spdlog::warn("slow consumer disconnected queued_bytes={} limit={}", queued_bytes_, limit);
        asio::post(worker_.io(), [self = shared_from_this()] {
            // Its backlog is dropped: the close frame goes first.
            self->close_pending_ = false;
            self->queue_.clear();
            self->queue_head_ = self->head_offset_ = self->queued_bytes_ = 0;
            self->write_close_frame(ws::CloseCode::kPolicyViolation, "slow consumer");
            self->close(CloseReason::kSlowConsumer);
        });
        return;
    }
    enqueue(frame);
    if (!flush_scheduled_) {
        flush_scheduled_ = true;
        worker_.schedule_flush(this);
    }
}

void WsConnection::flush() {
    flush_scheduled_ = false;
    if (closed_ || close_pending_ || waiting_writable_) return;
    while (queue_head_ < queue_.size()) {
        std::array<asio::const_buffer, kMaxGather> buffers;
        std::size_t count = 0;
        for (std::size_t i = queue_head_; i < queue_.size() && count < kMaxGather; ++i) {
            const std::string& bytes = *queue_[i];
            const std::size_t offset = i == queue_head_ ? head_offset_ : 0;
            buffers[count++] = asio::buffer(bytes.data() + offset, bytes.size() - offset);
        }
        boost::system::error_code ec;
        // One buffer (the common fan-out case) goes out with send(); a sequence needs sendmsg(),
        // whose iovec import costs the kernel a little more per delivery.
        const std::size_t written =
            count == 1 ? socket_.write_some(buffers[0], ec)
                       : socket_.write_some(std::span<const asio::const_buffer>(buffers.data(), count), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            waiting_writable_ = true;
            socket_.async_wait(asio::ip::tcp::socket::wait_write,
                               [self = shared_from_this()](boost::system::error_code wait_ec) {
                                   self->waiting_writable_ = false;
                                   if (self->closed_) return;
                                   if (wait_ec) {
                                       self->close(CloseReason::kTransportError);
                                       return;
                                   }
                                   self->flush();
                               });
            return;
        }
        if (ec) {
            // Deferred: flush() can run inside a fan-out that is iterating our rooms.
            close_pending_ = true;
            asio::post(worker_.io(), [self = shared_from_this()] {
                self->close(CloseReason::kTransportError);
            });
            return;
        }
        metrics::registry().bytes_sent.add(static_cast<std::int64_t>(written));
        consume(written);
    }
    // Drained: give the queue's memory back, an idle client holds none.
    std::vector<hub::Frame>().swap(queue_);
    queue_head_ = head_offset_ = queued_bytes_ = 0;
}

void WsConnection::consume(std::size_t bytes) {
    queued_bytes_ -= bytes;
    while (bytes > 0) {
        const std::size_t left = queue_[queue_head_]->size() - head_offset_;
        if (bytes < left) {
            head_offset_ += bytes;
            return;
        }
        bytes -= left;
        queue_[queue_head_].reset();
        ++queue_head_;
        head_offset_ = 0;
    }
}

void WsConnection::tick(session::Protocol::Clock::time_point now) {
    if (closed_) return;
    session::Effects& effects = worker_.effects();
    effects.clear();
    protocol_.on_tick(now, effects);
    apply_effects();
}

void WsConnection::write_close_frame(ws::CloseCode code, std::string_view reason) {
    if (closed_) return;
    enqueue(std::make_shared<const std::string>(ws::encode_close(code, reason)));
    flush();
}

void WsConnection::leave_rooms() {
    for (const auto& room : rooms_) worker_.rooms().leave(room, this);
    std::vector<std::string>().swap(rooms_);
}

void WsConnection::close(CloseReason reason) {
    if (closed_) return;
    auto self = shared_from_this();  // unregistering must not free us mid-call
    if (reason == CloseReason::kServerShutdown) {
        // Only a WebSocket 1001, as Socket.IO's own server does: socket.io-client and
        // python-socketio both read it as a transport close and reconnect. An Engine.IO close
        // packet before it makes python-socketio give up ("server said goodbye"), and a
        // Socket.IO DISCONNECT would stop socket.io-client.
        write_close_frame(ws::CloseCode::kGoingAway, "server shutting down");
        if (closed_) return;  // the write failed and already closed us
    }
    closed_ = true;
    auto& registry = metrics::registry();
    if (protocol_.connected()) registry.sessions.add(-1);
    leave_rooms();
    registry.connections.add(-1);
    registry.disconnects.values[static_cast<std::size_t>(reason)].add(1);
    spdlog::debug("client closed reason={}", session::to_string(reason));
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    socket_.close(ec);
    std::vector<hub::Frame>().swap(queue_);
    worker_.remove(*this);
}

}  // namespace nudge::net
