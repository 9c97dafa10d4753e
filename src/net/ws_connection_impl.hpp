// WsConnection's member definitions. Included by ws_connection.cpp (explicit instantiation
// for EpollSocket) and by tests and fuzzers that instantiate it over a test stream.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "auth/jwt_verifier.hpp"
#include "metrics/metrics.hpp"
#include "net/polling_session.hpp"
#include "net/recovery_answer.hpp"
#include "net/worker.hpp"
#include "net/ws_connection.hpp"
#include "common/random_id.hpp"
#include "sio/packet.hpp"
#include "ws/frame_writer.hpp"

namespace nudge::net {

namespace detail {

// A gathered write takes at most this many frames; the loop continues with the rest.
inline constexpr std::size_t kMaxGather = 64;

inline ws::CloseCode close_code_for(session::CloseReason reason) {
    using session::CloseReason;
    switch (reason) {
        case CloseReason::kServerShutdown: return ws::CloseCode::kGoingAway;
        case CloseReason::kProtocolError: return ws::CloseCode::kProtocolError;
        case CloseReason::kPayloadTooLarge: return ws::CloseCode::kMessageTooBig;
        case CloseReason::kSlowConsumer:
        case CloseReason::kPartialBudget:
        case CloseReason::kAuthFailures: return ws::CloseCode::kPolicyViolation;
        default: return ws::CloseCode::kNormal;
    }
}

inline bool would_block(const boost::system::error_code& ec) {
    return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again;
}

}  // namespace detail

template <class Stream>
WsConnection<Stream>::WsConnection(Stream stream, Worker& worker, std::uint32_t ip_key)
    : ip_key_(ip_key),
      stream_(std::move(stream)),
      worker_(worker),
      protocol_(worker.context().session, session::Protocol::Clock::now()) {}

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
    enqueue(std::make_shared<const std::string>(std::move(handshake)), false);
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
    ++pending_waits_;
    // A raw pointer: the worker frees a connection only when no wait is pending.
    stream_.async_wait(Stream::wait_read, [this](boost::system::error_code ec) {
        --pending_waits_;
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
        if (state_ == State::kOpen && read_paused_) break;
        if (n < buffer.size()) break;
    }
    // Replies to what was read go out in one write.
    if (!write_pending()) {
        fail(session::CloseReason::kTransportError);
        return;
    }
    if (state_ == State::kClosed) return;
    if (state_ == State::kClosing || !read_paused_) wait_readable();
}

template <class Stream>
void WsConnection<Stream>::wait_writable() {
    if (write_waiting_ || state_ == State::kClosed) return;
    write_waiting_ = true;
    ++pending_waits_;
    stream_.async_wait(Stream::wait_write, [this](boost::system::error_code ec) {
        --pending_waits_;
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
        case ws::Opcode::kPing:
            enqueue(std::make_shared<const std::string>(
                        ws::encode_frame(ws::Opcode::kPong, message.payload)),
                    false);
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
        protocol_ = source->take_protocol();
        queue_.splice(source->queue());
        if (source->awaiting_connect_answer()) {
            // The broker answers the CONNECT later: the answer and the live events held until
            // then come here.
            deliver_from = kHold;
            for (auto& event : source->take_held()) hold(event.seq, std::move(event.frame));
            ++pending_waits_;
            source->forward_connect_answer([this](const std::string& pid, broker::Recovery recovery) {
                on_recovered(pid, std::move(recovery));
                if (state_ != State::kClosed && !write_pending()) fail(session::CloseReason::kTransportError);
            });
        }
        worker_.rooms().transfer(source, this);
        worker_.remove_probe(*this);
        source->end_upgraded();
        probing_ = false;
        set_message_limit();
        return state_ == State::kOpen;
    }
    begin_close(session::CloseReason::kProtocolError, ws::CloseCode::kProtocolError,
                "upgrade probe expected", false);
    return false;
}

template <class Stream>
void WsConnection<Stream>::apply_effects() {
    session::Effects& effects = worker_.effects();
    auto& registry = metrics::registry();
    if (effects.auth_failure) {
        registry.auth_failures.values[static_cast<std::size_t>(*effects.auth_failure)].add(1);
        spdlog::log(worker_.context().log_sessions_at_info ? spdlog::level::info : spdlog::level::debug,
                    "auth refused reason={}", auth::reason(*effects.auth_failure));
    }
    for (const auto& room : effects.join) worker_.rooms().join(room, this);
    if (effects.user_id) {
        // Rooms the backend granted to this user's rooms (--granted-rooms-ttl) come back.
        if (const hub::Hub* hub = worker_.context().hub; hub != nullptr && hub->grants().enabled()) {
            for (const auto& room : hub->granted_rooms(effects.join)) worker_.rooms().join(room, this);
        }
        registry.sessions.add(1);
        set_message_limit();
        spdlog::log(worker_.context().log_sessions_at_info ? spdlog::level::info : spdlog::level::debug,
                    "client connected user={} rooms={}", *effects.user_id,
                      hub::RoomIndex::rooms_of(*this));
    }
    for (const auto& room : effects.leave) worker_.rooms().leave(room, this);
    if (effects.subscription) registry.subscriptions[*effects.subscription].add(1);
    if (effects.hook_query) ask_hook(std::move(*effects.hook_query));
    if (effects.leave_all) {
        worker_.rooms().leave_all(this);
        registry.sessions.add(-1);
        set_message_limit();
    }
    for (const auto& text : effects.send) send_text(text);
    if (effects.recover) recover(std::move(*effects.recover));
    if (effects.close) {
        const session::CloseReason reason = *effects.close;
        // A client's Engine.IO close gets a WebSocket close too, so it sees 1000, not 1006.
        begin_close(reason,
                    reason == session::CloseReason::kClientClose ? ws::CloseCode::kNormal
                                                                 : detail::close_code_for(reason),
                    reason == session::CloseReason::kClientClose ? std::string_view{}
                                                                 : session::to_string(reason),
                    false);
    }
}

template <class Stream>
void WsConnection<Stream>::answer_subscription(const std::optional<std::uint64_t>& ack_id,
                                               session::SubscribeOutcome outcome) {
    metrics::registry().subscriptions[outcome].add(1);
    if (ack_id) send_text(session::subscribe_ack(*ack_id, outcome));
}

template <class Stream>
void WsConnection<Stream>::ask_hook(session::HookQuery query) {
    SubscribeHook* hook = worker_.subscribe_hook();
    using session::SubscribeOutcome;
    if (hook == nullptr) {  // the protocol asks only when a hook is configured
        answer_subscription(query.ack_id, SubscribeOutcome::kHookError);
        return;
    }
    if (hook->cached(protocol_.user_id(), query.room, SubscribeHook::Clock::now())) {
        worker_.rooms().join(query.room, this);
        answer_subscription(query.ack_id, SubscribeOutcome::kGrantedCached);
        return;
    }
    if (pending_subscribes_ >= worker_.context().session.config.max_pending_subscribes) {
        answer_subscription(query.ack_id, SubscribeOutcome::kBusy);
        return;
    }
    ++pending_subscribes_;
    ++pending_waits_;  // not freed while the hook may still call back
    // The room is copied into the request before the query moves into the callback.
    const std::string room = query.room;
    hook->ask(protocol_.user_id(), room,
              [this, query = std::move(query)](SubscribeHook::Verdict verdict) {
                  --pending_waits_;
                  --pending_subscribes_;
                  // Closed, or a DISCONNECT and another CONNECT since: not for this session.
                  if (state_ != State::kOpen || protocol_.epoch() != query.epoch ||
                      !protocol_.connected()) {
                      return;
                  }
                  const SubscribeOutcome outcome = subscribe_outcome(verdict);
                  if (outcome == SubscribeOutcome::kGrantedHook) worker_.rooms().join(query.room, this);
                  answer_subscription(query.ack_id, outcome);
                  if (!write_pending()) fail(session::CloseReason::kTransportError);
              });
}

template <class Stream>
void WsConnection<Stream>::recover(session::Recover recover) {
    broker::Broker* broker = worker_.context().broker;
    if (broker == nullptr) {
        send_text(sio::encode_connect("/", random_id()));
        return;
    }
    broker::RecoveryRequest request;
    // The rooms just joined (from the fresh token): the joins happened before this query, so
    // every event numbered after the broker's answer reaches this session live.
    request.rooms = worker_.effects().join;
    request.from = std::move(recover.from);
    // A replay must fit in the send budget, or the session would be dropped as a slow consumer
    // and come back asking for it again (a fresh connection's kernel buffers take most of it
    // at once, so a replay up to the budget goes through).
    request.max_bytes = worker_.context().limits.max_send_queue_bytes;
    request.per_frame_overhead = SendQueue::kEntryOverhead;
    // A pending wait keeps the connection from being freed until the answer arrives (the
    // local broker answers inline; a remote one may answer later, on another thread). Live
    // events meanwhile are held, then sent after the answer unless it covers them.
    ++pending_waits_;
    deliver_from = hub::Subscriber::kHold;
    broker->recover(std::move(request),
                    [this, pid = std::move(recover.pid)](broker::Recovery recovery) mutable {
                        if (worker_.io().get_executor().running_in_this_thread()) {
                            on_recovered(pid, std::move(recovery));
                            return;
                        }
                        boost::asio::post(worker_.io(), [this, pid = std::move(pid),
                                                         recovery = std::move(recovery)]() mutable {
                            on_recovered(pid, std::move(recovery));
                            if (state_ != State::kClosed && !write_pending()) {
                                fail(session::CloseReason::kTransportError);
                            }
                        });
                    });
}

template <class Stream>
void WsConnection<Stream>::on_recovered(const std::string& client_pid, broker::Recovery recovery) {
    --pending_waits_;
    // Live events up to the broker's position are in the replay (or lost): skip them.
    deliver_from = client_pid.empty() ? 0 : recovery.now.seq + 1;
    auto held = take_held();
    if (state_ != State::kOpen || !protocol_.connected()) return;
    for (const auto& text : recovery_answer(client_pid, recovery)) send_text(text);
    for (auto& frame : recovery.replay) enqueue(std::move(frame), false);
    for (auto& event : held) {
        if (event.seq >= deliver_from) enqueue(std::move(event.frame), false);
    }
}

template <class Stream>
void WsConnection<Stream>::send_text(std::string_view text) {
    enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, text)), false);
}

template <class Stream>
void WsConnection<Stream>::enqueue(hub::Frame frame, bool from_fanout) {
    if (state_ != State::kOpen || close_deferred_) return;
    const auto& limits = worker_.context().limits;
    const std::size_t cost = frame->size() + SendQueue::kEntryOverhead;
    if (queued_bytes() + cost > limits.max_send_queue_bytes) {
        // Before calling the client slow, hand what is queued to the kernel: a big batch can
        // pass the bound for a client that reads perfectly well. write_pending() never
        // closes; a failure is handled here.
        const bool ok = write_pending();
        if (!ok || queued_bytes() + cost > limits.max_send_queue_bytes) {
            const auto reason =
                ok ? session::CloseReason::kSlowConsumer : session::CloseReason::kTransportError;
            if (from_fanout) {
                // Cannot close here: the hub is iterating a room this connection is in.
                close_deferred_ = true;
                worker_.defer_close(*this, reason);
            } else {
                close(reason);
            }
            return;
        }
    }
    if (from_fanout && queue_.empty() && !write_waiting_) {
        worker_.stage(*this, frame);
        return;
    }
    if (first_link != kNoLink) unstage();  // keep the order: staged frames came first
    queue_.push(std::move(frame));
    if (from_fanout) worker_.schedule_flush(*this);
    if (queue_.bytes() > limits.send_queue_high_watermark && !read_paused_) {
        // Stop reading until the client drains: its own input (pings, acks) cannot pile up
        // replies, and a client that stays above the mark for --slow-consumer-timeout is
        // dropped (Redis's soft output-buffer limit).
        read_paused_ = true;
        close_deadline_ = session::Protocol::Clock::now() + limits.slow_consumer_timeout;
    }
}

template <class Stream>
void WsConnection<Stream>::deliver(const hub::Frame& frame) {
    enqueue(frame, true);
}

template <class Stream>
void WsConnection<Stream>::disconnect() {
    if (state_ != State::kOpen) return;
    if (protocol_.connected()) send_text("41");  // Socket.IO DISCONNECT of "/"
    close(session::CloseReason::kServerDisconnect);
}

template <class Stream>
void WsConnection<Stream>::unstage() {
    for (std::uint32_t link = first_link; link != kNoLink;) {
        const auto& staged = worker_.staged(link);
        queue_.push(staged.frame);
        link = staged.next;
    }
    first_link = last_link = kNoLink;
    staged_bytes = 0;
}

template <class Stream>
bool WsConnection<Stream>::write_pending() {
    if (state_ == State::kClosed) return true;
    if (write_waiting_) {
        if (first_link != kNoLink) unstage();
        return true;
    }
    std::array<boost::asio::const_buffer, detail::kMaxGather> buffers;
    for (;;) {
        // Staged frames exist only while the queue is empty: write straight from them.
        std::size_t count = 0;
        if (first_link != kNoLink) {
            for (std::uint32_t link = first_link; link != kNoLink && count < buffers.size();) {
                const auto& staged = worker_.staged(link);
                buffers[count++] = boost::asio::buffer(*staged.frame);
                link = staged.next;
            }
        } else {
            count = queue_.gather(buffers);
        }
        if (count == 0) break;
        boost::system::error_code ec;
        // One buffer (the common fan-out case) goes out with send(); a sequence needs
        // sendmsg(), whose iovec import costs the kernel a little more per delivery.
        std::size_t written =
            count == 1 ? stream_.write_some(buffers[0], ec)
                       : stream_.write_some(
                             std::span<const boost::asio::const_buffer>(buffers.data(), count), ec);
        if (detail::would_block(ec)) {
            if (first_link != kNoLink) unstage();
            wait_writable();
            resume_reading_if_drained();
            return true;
        }
        if (ec) return false;
        metrics::registry().bytes_sent.add(static_cast<std::int64_t>(written));
        if (first_link == kNoLink) {
            queue_.consume(written);
            continue;
        }
        // Retire fully written staged frames; a partly written one and the rest move to the
        // queue, which then remembers how much of its head is already out.
        while (first_link != kNoLink) {
            const auto& staged = worker_.staged(first_link);
            const std::size_t size = staged.frame->size();
            if (written < size) break;
            written -= size;
            staged_bytes -= static_cast<std::uint32_t>(size + SendQueue::kEntryOverhead);
            first_link = staged.next;
        }
        if (first_link == kNoLink) {
            last_link = kNoLink;
            staged_bytes = 0;
            continue;
        }
        unstage();
        queue_.consume(written);
    }
    resume_reading_if_drained();
    if (state_ == State::kClosing) after_drain();
    return true;
}

template <class Stream>
void WsConnection<Stream>::resume_reading_if_drained() {
    if (read_paused_ && state_ == State::kOpen &&
        queue_.bytes() <= worker_.context().limits.send_queue_low_watermark) {
        read_paused_ = false;
        wait_readable();
    }
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
    close_deadline_ = session::Protocol::Clock::now() + worker_.context().limits.close_timeout;
    first_link = last_link = kNoLink;
    staged_bytes = 0;
    auto& registry = metrics::registry();
    worker_.rooms().leave_all(this);
    if (protocol_.connected()) registry.sessions.add(-1);
    registry.connections.add(-1);
    registry.disconnects.values[static_cast<std::size_t>(reason)].add(1);
    spdlog::debug("client closing reason={}", session::to_string(reason));
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
    queue_.push(std::make_shared<const std::string>(ws::encode_close(code, text)));
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
        if (now >= close_deadline_) {
            metrics::registry().close_timeouts.add(1);
            finish();
        }
        return;
    }
    if (read_paused_ && now >= close_deadline_) {
        close(session::CloseReason::kSlowConsumer);
        return;
    }
    if (probing_) return;  // the session's heartbeat runs on polling until the upgrade
    session::Effects& effects = worker_.effects();
    effects.clear();
    protocol_.on_tick(now, effects);
    apply_effects();
    if (state_ != State::kClosed && !write_pending()) fail(session::CloseReason::kTransportError);
}

}  // namespace nudge::net
