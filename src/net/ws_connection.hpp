// WsConnection: one client's WebSocket after the upgrade, on one worker thread.
//
// Stream is the transport: an EpollSocket on the worker's epoll set in production, a
// scripted test stream in tests and the fuzzer (tests/unit/net/test_stream.hpp) — so every
// error path runs deterministically. A Stream offers non-blocking read_some/write_some, async_wait for
// readiness, shutdown and close, as asio's sockets do.
//
// Idle cost shapes this class: while a client is idle the connection holds no read buffer
// (it waits for readability, then reads into the worker's shared buffer), no send buffer
// (the queue is freed when drained), no timer (the worker's sweep drives the heartbeat and
// deadlines), and the session id inline.
//
// The session (protocol, effects, the send budget and its one door out) is SessionCore's;
// this class is the WebSocket transport: frames in, gathered writes out (each packet framed
// at write time: a header in front of the shared payload, net/ws_gather.hpp), reading paused
// above the high watermark (Envoy's readDisable) and resumed below the low one. A slow
// consumer's backlog is dropped, the frame in progress is completed, then a close 1008 follows
// (uWebSockets' end()), and the TCP connection is cut when --close-timeout passes. The close
// frame of a closing connection is the only frame not counted: one per connection.
//
// Closing: open → closing (left every room, writes what is left, then half-closes and
// discards input until the client closes or the deadline passes) → closed (socket closed,
// handed to the worker's graveyard, freed once no wait is pending).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "net/epoll_socket.hpp"
#include "net/session_core.hpp"
#include "session/protocol.hpp"
#include "ws/frame_parser.hpp"
#include "ws/opcode.hpp"

namespace nudge::net {

class PollingSession;
class Worker;

template <class Stream>
class WsConnection final : public SessionCore {
public:
    // `ip_key` identifies the client's address for the per-address connection limit (0: none);
    // the connection gives it back when it closes.
    WsConnection(Stream stream, Worker& worker, std::uint32_t ip_key = 0);
    ~WsConnection() override;
    WsConnection(const WsConnection&) = delete;
    WsConnection& operator=(const WsConnection&) = delete;

    // Registers with the worker, sends the 101 answer and the Engine.IO open packet, then
    // processes `early_bytes` (anything the client sent right behind its upgrade request)
    // and starts reading. The worker owns the connection from here on.
    // With `upgrade_from`, the connection is the probe of that HTTP long-polling session
    // (Engine.IO v4 "Upgrade"): no open packet; it answers `2probe` with `3probe`, and on `5`
    // takes the session's protocol state, queue and rooms. Anything else while probing closes
    // it (the polling session goes on).
    static WsConnection& start(Stream stream, Worker& worker, std::string_view accept_key,
                               std::string_view early_bytes, std::uint32_t ip_key = 0,
                               PollingSession* upgrade_from = nullptr);

    void flush() override;
    void tick(session::Protocol::Clock::time_point now) override;
    void close(session::CloseReason reason) override;
    [[nodiscard]] bool reapable() const noexcept override {
        return state_ == State::kClosed && !read_waiting_ && !write_waiting_ && waits_.none();
    }

    [[nodiscard]] bool is_open() const noexcept { return state_ == State::kOpen; }
    [[nodiscard]] bool is_closed() const noexcept { return state_ == State::kClosed; }
    [[nodiscard]] bool reading_paused() const noexcept { return above_high_; }
    [[nodiscard]] Stream& stream() noexcept { return stream_; }

private:
    enum class State : std::uint8_t { kOpen, kClosing, kClosed };

    // SessionCore's transport interface.
    bool take_direct(const hub::Packet& packet) override;
    bool push_out() override { return write_pending(); }
    void send_queued() override;
    void close_for_protocol(session::CloseReason reason) override;
    void connected_changed() override { set_message_limit(); }

    void begin(std::string_view accept_key, std::string_view early_bytes,
               PollingSession* upgrade_from);
    // A text message while probing; false once no longer open.
    bool on_probe_message(std::string_view text);
    void wait_readable();
    void on_readable();
    void wait_writable();
    // Parses the first n bytes of the worker's read buffer; false once no longer open.
    bool feed_parser(std::size_t n);
    bool on_message(const ws::Message& message);
    // Writes until drained or the stream would block; false when the stream failed (the
    // caller closes). Never closes by itself, so it is safe inside a fan-out.
    bool write_pending();
    // Below the low watermark again: read from the client again.
    void resume_reading_if_drained();
    // Open → closing: leave rooms, queue a close frame, flush, linger.
    void begin_close(session::CloseReason reason, ws::CloseCode code, std::string_view text,
                     bool drop_backlog);
    // The bookkeeping of open → closing: the session's, the probe, the close deadline.
    void leave(session::CloseReason reason);
    // The stream is unusable: leave if open, then finish at once.
    void fail(session::CloseReason reason);
    // Closing and drained: half-close and wait for the client's end.
    void after_drain();
    // Closing → closed: close the stream, give back budgets, hand over to the graveyard.
    void finish();
    // Frees the parser's partial message (nothing more is parsed once closing).
    void release_parser();
    // Brings the process-wide partial-message budget up to date; may close (newest offender).
    void charge_partial();
    [[nodiscard]] std::size_t message_limit() const noexcept;
    void set_message_limit();

    std::uint32_t ip_key_;
    std::uint32_t charged_partial_ = 0;  // parser bytes counted in the process-wide budget
    State state_ = State::kOpen;
    // Readiness waits in flight (at most one read, one write): the connection is freed only
    // when neither is pending (nor any of SessionCore's waits).
    bool read_waiting_ = false;
    bool write_waiting_ = false;
    bool shut_down_ = false;         // our side half-closed after the close frame
    bool parsing_ = false;           // inside parser_.feed(): the parser must stay alive
    bool probing_ = false;           // an upgrade probe of a polling session, before its `5`
    Stream stream_;
    std::unique_ptr<ws::FrameParser> parser_;  // only while a frame spans reads
};

}  // namespace nudge::net
