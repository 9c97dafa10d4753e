// WsConnection: one client's WebSocket after the upgrade, on one worker thread.
//
// Idle cost is what this class is shaped by: while a client is idle the connection holds no
// read buffer (it waits for readability, then reads into the worker's shared buffer), no send
// buffer (the queue is released when drained), no timer (the worker's 1 s sweep drives the
// heartbeat), and the session id inline.
//
// Outgoing frames are shared, immutable buffers (hub::Frame); each connection keeps a bounded
// queue of them and writes everything pending with one gathered write. A client whose queue
// passes the bound is disconnected as a slow consumer, never slowing anyone else.
//
// Ownership: the worker's registry holds the owning shared_ptr; pending asio handlers hold
// more. close() leaves every room and unregisters, then the last handler frees it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/subscriber.hpp"
#include "session/protocol.hpp"
#include "ws/frame_parser.hpp"
#include "ws/opcode.hpp"

namespace nudge::net {

class Worker;

class WsConnection final : public hub::Subscriber,
                           public std::enable_shared_from_this<WsConnection> {
public:
    WsConnection(boost::asio::ip::tcp::socket socket, Worker& worker);
    ~WsConnection();
    WsConnection(const WsConnection&) = delete;
    WsConnection& operator=(const WsConnection&) = delete;

    // Sends the 101 answer and the Engine.IO open packet, then processes `early_bytes`
    // (anything the client sent right behind its upgrade request) and starts reading.
    void start(std::string_view accept_key, std::string_view early_bytes);

    void deliver(const hub::Frame& frame) override;

    // Writes everything queued (called by the worker after a fan-out batch).
    void flush();
    void tick(session::Protocol::Clock::time_point now);
    void close(session::CloseReason reason);

    // Position in the worker's registry, for O(1) removal.
    std::size_t registry_index = 0;

private:
    void wait_readable();
    void on_readable();
    // Parses the first n bytes of the worker's read buffer; false once the connection closed
    // (a protocol error answered with a close frame, or a message that closed it).
    bool feed_parser(std::size_t n);
    bool on_message(const ws::Message& message);
    void apply_effects();
    void send_text(std::string_view text);
    void enqueue(hub::Frame frame);
    void consume(std::size_t bytes);
    void leave_rooms();
    // Best effort: one non-blocking write of what is queued plus a close frame.
    void write_close_frame(ws::CloseCode code, std::string_view reason);

    boost::asio::ip::tcp::socket socket_;
    Worker& worker_;
    ws::FrameParser parser_;
    session::Protocol protocol_;
    std::vector<hub::Frame> queue_;
    std::vector<std::string> rooms_;
    std::size_t queue_head_ = 0;     // first frame not fully written
    std::size_t head_offset_ = 0;    // bytes of queue_[queue_head_] already written
    std::size_t queued_bytes_ = 0;
    bool waiting_writable_ = false;
    bool flush_scheduled_ = false;
    bool closed_ = false;
    bool close_pending_ = false;  // a close was requested from inside a fan-out
};

}  // namespace nudge::net
