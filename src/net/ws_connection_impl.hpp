// WsConnection's member definitions. Included by ws_connection.cpp (explicit instantiation
// for EpollSocket) and by tests and fuzzers that instantiate it over a test stream.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "metrics/metrics.hpp"
#include "net/polling_session.hpp"
#include "net/worker.hpp"
#include "net/ws_connection.hpp"
#include "ws/frame_writer.hpp"

namespace nudge::net {

namespace detail {

// The WebSocket close code for a session's close reason (ws_connection.cpp).
[[nodiscard]] ws::CloseCode close_code_for(session::CloseReason reason) noexcept;

inline bool would_block(const boost::system::error_code& ec) {
    return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again;
}

}  // namespace detail

template <class Stream>
WsConnection<Stream>::WsConnection(Stream stream, Worker& worker, std::uint32_t ip_key)
    : SessionCore(worker), ip_key_(ip_key), stream_(std::move(stream)) {}

template <class Stream>
WsConnection<Stream>::~WsConnection() {
    // Normally finish() has given everything back; a connection destroyed with its worker
    // (process exit) still returns its shares of the process-wide budgets.
    if (state_ != State::kClosed) {
        worker_.context().partial_bytes.fetch_sub(charged_partial_, std::memory_order_relaxed);
        worker_.context().admission.release(ip_key_);
    }
}

template <class Stream>
WsConnection<Stream>& WsConnection<Stream>::start(Stream stream, Worker& worker,
                                                  std::string_view accept_key,
                                                  std::string_view early_bytes,
                                                  std::uint32_t ip_key,
                                                  PollingSession* upgrade_from) {
    auto owned = std::make_unique<WsConnection>(std::move(stream), worker, ip_key);
    WsConnection& connection = *owned;
    worker.adopt(std::move(owned));
    connection.begin(accept_key, early_bytes, upgrade_from);
    return connection;
}

template <class Stream>
void WsConnection<Stream>::begin(std::string_view accept_key, std::string_view early_bytes,
                                 PollingSession* upgrade_from) {
    metrics::registry().connections.add(1);
    std::string handshake =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: ";
    handshake.append(accept_key).append("\r\n\r\n");
    if (upgrade_from != nullptr && upgrade_from->attach_probe(*this)) {
        // The session's client already has its open packet (from the polling handshake).
        probing_ = true;
        worker_.add_probe(*this, *upgrade_from);
    } else {
        metrics::registry().connections_total.add(1);
        handshake += ws::encode_frame(ws::Opcode::kText, protocol_.open_packet());
    }
    enqueue(std::make_shared<const std::string>(std::move(handshake)), false, SendQueue::Kind::kWire);
    if (!write_pending()) {
        fail(session::CloseReason::kTransportError);
        return;
    }
    if (!early_bytes.empty()) {
        auto& buffer = worker_.read_buffer();
        const std::size_t n = std::min(early_bytes.size(), buffer.size());
        std::copy_n(early_bytes.data(), n, buffer.data());
        feed_parser(n);
        if (state_ == State::kClosed) return;
        if (!write_pending()) {
            fail(session::CloseReason::kTransportError);
            return;
        }
    }
    if (state_ != State::kClosed) wait_readable();
}

template <class Stream>
void WsConnection<Stream>::wait_readable() {
    if (read_waiting_ || state_ == State::kClosed) return;
    read_waiting_ = true;
    // A raw pointer: the worker frees a connection only when no wait is pending (reapable()).
    stream_.async_wait(Stream::wait_read, [this](boost::system::error_code ec) {
        read_waiting_ = false;
        if (state_ == State::kClosed) return;
        if (ec) {
            fail(session::CloseReason::kTransportError);
        } else {
            on_readable();
        }
        worker_.drain_deferred();
    });
}

template <class Stream>
void WsConnection<Stream>::on_readable() {
    auto& buffer = worker_.read_buffer();
    // A bounded number of reads per wake-up keeps one chatty client from starving the rest.
    for (int round = 0; round < 8; ++round) {
        boost::system::error_code ec;
        const std::size_t n = stream_.read_some(boost::asio::buffer(buffer), ec);
        if (detail::would_block(ec)) break;
        if (ec) {
            // After our close frame, the client closing its side is the normal end.
            fail(state_ == State::kClosing ? session::CloseReason::kClientClose
                                           : session::CloseReason::kTransportError);
            return;
        }
        metrics::registry().bytes_received.add(static_cast<std::int64_t>(n));
        if (state_ == State::kOpen) feed_parser(n);  // a closing connection discards input
        if (state_ == State::kClosed) return;
        if (state_ == State::kOpen && above_high_) break;
        if (n < buffer.size()) break;
    }
    // Replies to what was read go out in one write.
    if (!write_pending()) {
        fail(session::CloseReason::kTransportError);
        return;
    }
    if (state_ == State::kClosed) return;
    if (state_ == State::kClosing || !above_high_) wait_readable();
}

template <class Stream>
void WsConnection<Stream>::wait_writable() {
    if (write_waiting_ || state_ == State::kClosed) return;
    write_waiting_ = true;
    stream_.async_wait(Stream::wait_write, [this](boost::system::error_code ec) {
        write_waiting_ = false;
        if (state_ == State::kClosed) return;
        if (ec || !write_pending()) fail(session::CloseReason::kTransportError);
        worker_.drain_deferred();
    });
}

template <class Stream>
bool WsConnection<Stream>::feed_parser(std::size_t n) {
    auto& buffer = worker_.read_buffer();
    // Between messages the connection owns no parser: it parses with the worker's scratch
    // parser and keeps one of its own only while a frame or message spans reads.
    ws::FrameParser& parser = parser_ ? *parser_ : worker_.scratch_parser();
    if (!parser_) parser.set_max_message_size(message_limit());
    parsing_ = true;
    const auto fed = parser.feed(std::span<char>(buffer.data(), n),
                                 [this](const ws::Message& m) { return on_message(m); });
    parsing_ = false;
    if (!parser_) {
        if (fed && state_ == State::kOpen && !parser.idle()) {
            parser_ = std::make_unique<ws::FrameParser>(0);
            std::swap(*parser_, parser);
        }
        parser.discard();  // the scratch parser is left as new for the next connection
    } else if (parser_->idle()) {
        parser_.reset();
    }
    if (state_ != State::kOpen) {
        // Closed from inside a message callback: the parser is done with, free its memory.
        release_parser();
        return false;
    }
    if (!fed) {
        begin_close(fed.error() == ws::Error::kMessageTooBig ? session::CloseReason::kPayloadTooLarge
                                                             : session::CloseReason::kProtocolError,
                    ws::close_code(fed.error()), ws::message(fed.error()), false);
        return false;
    }
    charge_partial();
    return state_ == State::kOpen;
}

template <class Stream>
void WsConnection<Stream>::charge_partial() {
    auto& total = worker_.context().partial_bytes;
    const std::size_t now_bytes = parser_ ? sizeof(ws::FrameParser) + parser_->buffered_bytes() : 0;
    if (now_bytes == charged_partial_) return;
    if (now_bytes < charged_partial_) {
        total.fetch_sub(charged_partial_ - now_bytes, std::memory_order_relaxed);
        charged_partial_ = static_cast<std::uint32_t>(now_bytes);
        return;
    }
    const std::size_t after =
        total.fetch_add(now_bytes - charged_partial_, std::memory_order_relaxed) + now_bytes -
        charged_partial_;
    charged_partial_ = static_cast<std::uint32_t>(now_bytes);
    // The process-wide budget for messages still being received: the connection whose
    // growth passes it (the newest offender) is closed, the others keep their messages.
    if (after > worker_.context().limits.max_partial_bytes) {
        metrics::registry().partial_budget_closes.add(1);
        begin_close(session::CloseReason::kPartialBudget, ws::CloseCode::kPolicyViolation,
                    "message budget exhausted", false);
    }
}

template <class Stream>
std::size_t WsConnection<Stream>::message_limit() const noexcept {
    const auto& context = worker_.context();
    return protocol_.connected() ? context.session.config.max_payload
                                 : context.limits.max_unauthenticated_message;
}

template <class Stream>
void WsConnection<Stream>::set_message_limit() {
    // Mid-read (a CONNECT just accepted) the scratch parser may be the one in use.
    (parser_ ? *parser_ : worker_.scratch_parser()).set_max_message_size(message_limit());
}

template <class Stream>
bool WsConnection<Stream>::on_message(const ws::Message& message) {
    session::Effects& effects = worker_.effects();
    effects.clear();
    switch (message.opcode) {
        case ws::Opcode::kText:
            if (probing_) return on_probe_message(message.payload);
            protocol_.on_text(message.payload, std::chrono::system_clock::now(), effects);
            break;
        case ws::Opcode::kBinary:
            if (probing_) {
                begin_close(session::CloseReason::kProtocolError, ws::CloseCode::kProtocolError,
                            "upgrade probe expected", false);
                return false;
            }
            protocol_.on_binary(message.payload, effects);
            break;
        case ws::Opcode::kPing:  // through the one door too: a ping flood is bounded
            enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kPong, message.payload)),
                    false, SendQueue::Kind::kWire);
            return state_ == State::kOpen;
        case ws::Opcode::kPong:
            return true;
        case ws::Opcode::kClose:
            // Echo a normal close (RFC 6455 §5.5.1) and finish.
            begin_close(session::CloseReason::kClientClose, ws::CloseCode::kNormal, {}, false);
            return false;
        case ws::Opcode::kContinuation:
            break;  // the parser joins fragments; never handed out
    }
    apply_effects();
    return state_ == State::kOpen;
}

template <class Stream>
bool WsConnection<Stream>::on_probe_message(std::string_view text) {
    PollingSession* source = worker_.probe_source(*this);
    if (source != nullptr && text == "2probe") {
        send_text("3probe");
        source->on_probe();
        return state_ == State::kOpen;
    }
    if (source != nullptr && text == "5") {
        // Engine.IO v4 upgrade: the session continues here with its state, backlog and rooms.
        const bool awaiting = source->awaiting_connect_answer();
        take_over(*source);
        if (awaiting) {
            // The broker answers the CONNECT later: the answer comes here.
            source->forward_connect_answer(
                [this, wait = waits_.token()](const std::string& pid, broker::Recovery recovery) {
                    on_recovered(pid, std::move(recovery));
                    send_queued();
                });
        }
        worker_.rooms().transfer(source, this);
        worker_.remove_probe(*this);
        source->end_upgraded();
        probing_ = false;
        return state_ == State::kOpen;
    }
    begin_close(session::CloseReason::kProtocolError, ws::CloseCode::kProtocolError,
                "upgrade probe expected", false);
    return false;
}

template <class Stream>
void WsConnection<Stream>::close_for_protocol(session::CloseReason reason) {
    // A client's Engine.IO close gets a WebSocket close too, so it sees 1000, not 1006.
    const bool client = reason == session::CloseReason::kClientClose;
    begin_close(reason, client ? ws::CloseCode::kNormal : detail::close_code_for(reason),
                client ? std::string_view{} : session::to_string(reason), false);
}

template <class Stream>
bool WsConnection<Stream>::take_direct(const hub::Packet& packet) {
    if (write_waiting_) return false;  // the kernel is full: the packet waits in the queue
    worker_.stage(*this, packet);
    return true;
}

template <class Stream>
void WsConnection<Stream>::send_queued() {
    if (state_ != State::kClosed && !write_pending()) fail(session::CloseReason::kTransportError);
}

template <class Stream>
bool WsConnection<Stream>::write_pending() {
    if (state_ == State::kClosed) return true;
    if (write_waiting_) {
        if (first_link != kNoLink) unstage();
        return true;
    }
    // Up to 64 entries per write: [header][packet] each, or [wire bytes] (net/ws_gather.hpp).
    WsGather& gather = worker_.write_gather();
    for (;;) {
        // Staged packets exist only while the queue is empty: write straight from them.
        gather.clear();
        const bool staged = first_link != kNoLink;
        if (staged) {
            for (std::uint32_t link = first_link; link != kNoLink && !gather.full();) {
                const auto& item = worker_.staged(link);
                gather.add(*item.packet, true);
                link = item.next;
            }
        } else {
            std::size_t skip = queue_.head_offset();
            for (const auto& entry : queue_.unwritten()) {
                if (!gather.add(*entry.bytes, entry.kind == SendQueue::Kind::kPacket, skip)) break;
                skip = 0;
            }
        }
        const auto buffers = gather.for_write();
        if (buffers.empty()) break;
        boost::system::error_code ec;
        // One buffer (wire bytes, or a small gather flattened) goes out with send(); more
        // through sendmsg().
        const std::size_t written = buffers.size() == 1 ? stream_.write_some(buffers[0], ec)
                                                        : stream_.write_some(buffers, ec);
        if (detail::would_block(ec)) {
            if (first_link != kNoLink) unstage();
            wait_writable();
            resume_reading_if_drained();
            return true;
        }
        if (ec) return false;
        metrics::registry().bytes_sent.add(static_cast<std::int64_t>(written));
        const auto [done, offset] = gather.progress(written);
        if (!staged) {
            queue_.advance(done, offset);
            continue;
        }
        // Retire the staged packets written whole; a partly written one and the rest move to
        // the queue, which then remembers how much of its head's frame is already out.
        for (std::size_t i = 0; i < done; ++i) {
            const auto& retired = worker_.staged(first_link);
            staged_bytes -= static_cast<std::uint32_t>(retired.packet->size() + SendQueue::kEntryOverhead);
            first_link = retired.next;
        }
        if (first_link == kNoLink) {
            last_link = kNoLink;
            staged_bytes = 0;
            continue;
        }
        unstage();
        queue_.advance(0, offset);
    }
    resume_reading_if_drained();
    if (state_ == State::kClosing) after_drain();
    return true;
}

template <class Stream>
void WsConnection<Stream>::resume_reading_if_drained() {
    if (state_ == State::kOpen && drained_below_low()) wait_readable();
}

template <class Stream>
void WsConnection<Stream>::flush() {
    in_flush_list = false;
    if (state_ != State::kOpen) {
        first_link = last_link = kNoLink;
        staged_bytes = 0;
        return;
    }
    if (!write_pending()) fail(session::CloseReason::kTransportError);
}

template <class Stream>
void WsConnection<Stream>::leave(session::CloseReason reason) {
    state_ = State::kClosing;
    if (probing_) {
        probing_ = false;
        worker_.remove_probe(*this);  // the polling session goes on without the upgrade
    }
    deadline_ = session::Protocol::Clock::now() + worker_.context().limits.close_timeout;
    leave_session(reason);
}

template <class Stream>
void WsConnection<Stream>::release_parser() {
    parser_.reset();
    charge_partial();
}

template <class Stream>
void WsConnection<Stream>::begin_close(session::CloseReason reason, ws::CloseCode code,
                                       std::string_view text, bool drop_backlog) {
    if (state_ != State::kOpen) return;
    leave(reason);
    if (drop_backlog) queue_.drop_unstarted();
    queue_.push(std::make_shared<const std::string>(ws::encode_close(code, text)), SendQueue::Kind::kWire);
    if (!write_pending()) finish();
    // Not from inside the parser's callback (feed_parser() releases it then).
    if (!parsing_) release_parser();
}

template <class Stream>
void WsConnection<Stream>::after_drain() {
    if (shut_down_) return;
    shut_down_ = true;
    // Half-close after the close frame, then read (and discard) until the client closes:
    // closing with unread input would send an RST that can destroy the close frame in flight.
    boost::system::error_code ec;
    stream_.shutdown(Stream::shutdown_send, ec);
    wait_readable();
}

template <class Stream>
void WsConnection<Stream>::fail(session::CloseReason reason) {
    if (state_ == State::kOpen) leave(reason);
    finish();
}

template <class Stream>
void WsConnection<Stream>::finish() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    boost::system::error_code ec;
    stream_.close(ec);
    queue_.clear();
    if (!parsing_) release_parser();
    worker_.context().admission.release(ip_key_);
    ip_key_ = 0;
    worker_.retire(*this);
}

template <class Stream>
void WsConnection<Stream>::close(session::CloseReason reason) {
    close_deferred_ = false;
    switch (reason) {
        case session::CloseReason::kSlowConsumer:
            if (state_ != State::kOpen) return;
            metrics::registry().slow_consumer_drops.add(1);
            worker_.log_slow_consumer(queued_bytes());
            // Its backlog is dropped; the frame in progress completes, then the close.
            begin_close(reason, ws::CloseCode::kPolicyViolation, "slow consumer", true);
            return;
        case session::CloseReason::kTransportError:
            fail(reason);
            return;
        case session::CloseReason::kServerShutdown:
            begin_close(reason, ws::CloseCode::kGoingAway, "server shutting down", false);
            return;
        default:
            begin_close(reason, detail::close_code_for(reason), session::to_string(reason), false);
            return;
    }
}

template <class Stream>
void WsConnection<Stream>::tick(session::Protocol::Clock::time_point now) {
    if (state_ == State::kClosed) return;
    if (state_ == State::kClosing) {
        // The client neither read its close frame nor closed: cut the connection.
        if (now >= deadline_) {
            metrics::registry().close_timeouts.add(1);
            finish();
        }
        return;
    }
    if (probing_) {
        // The session's heartbeat runs on polling until the upgrade; the probe's own budget
        // still holds (3probe and pongs go through the one door).
        if (above_high_ && now >= deadline_) close(session::CloseReason::kSlowConsumer);
        return;
    }
    tick_session(now);
}

}  // namespace nudge::net
