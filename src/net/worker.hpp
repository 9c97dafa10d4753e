// Worker: one thread's event loop. It owns an io_context, an acceptor on the listening socket
// (the process's one listening socket, shared by every worker), the WebSocket connections
// accepted there, its shard of the room index (through the hub), the shared read buffer and
// write gather, the per-batch list of staged packets and the connections to flush after a
// fan-out batch, and the sweep that drives every connection's heartbeat and deadlines (every
// second, sooner for short ping settings). Nothing here is locked: other threads only post().
//
// Deferred deletion: connections are owned here; a closed connection moves to the graveyard
// and is freed by the sweep once it has no pending wait (Connection::reapable()).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hub/room_index.hpp"
#include "net/connection.hpp"
#include "net/log_limiter.hpp"
#include "net/poller.hpp"
#include "net/server_context.hpp"
#include "net/subscribe_hook.hpp"
#include "net/ws_gather.hpp"
#include "session/protocol.hpp"
#include "ws/frame_parser.hpp"

namespace nudge::net {

class PollingSession;

class Worker {
public:
    Worker(std::size_t index, ServerContext& context);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();

    // Opens the process's listening socket on `endpoint` (no SO_REUSEPORT: a second process
    // cannot bind the same port); returns the bound endpoint. Only on the first worker.
    boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& endpoint);
    // Accepts on the listening socket of `first` as well (a duplicate descriptor).
    void share_listener(Worker& first);
    // The thread body: accept, serve, sweep, until stop.
    void run();
    // From any thread: stop accepting, close every client with a WebSocket close 1001 (so it
    // reconnects, to another hub if there is one), let them drain briefly, end the loop.
    void begin_shutdown();

    [[nodiscard]] boost::asio::io_context& io() noexcept { return io_; }
    // The hub's shard hook: runs `task` on this worker. Posted from this worker's own thread
    // (a publish or a join its HTTP connection handled), the task waits in asio's
    // thread-private queue until the running handler returns; own_shard_posts() counts those,
    // so an API answer can tell whether its request left such work behind (http_connection).
    void post_shard_task(std::function<void()> task);
    [[nodiscard]] std::uint64_t own_shard_posts() const noexcept { return own_shard_posts_; }
    // The epoll set of this worker's WebSocket clients (see poller.hpp).
    [[nodiscard]] Poller& poller() noexcept { return poller_; }
    [[nodiscard]] std::size_t index() const noexcept { return index_; }
    [[nodiscard]] ServerContext& context() noexcept { return context_; }
    [[nodiscard]] hub::RoomIndex& rooms();
    [[nodiscard]] std::array<char, std::size_t{64} * 1024>& read_buffer() noexcept { return read_buffer_; }
    [[nodiscard]] session::Effects& effects() noexcept { return effects_; }
    // The parser connections use between messages (they own one only mid-frame).
    [[nodiscard]] ws::FrameParser& scratch_parser() noexcept { return scratch_parser_; }
    // The gathered write of whichever connection is writing (WsConnection::write_pending):
    // shared, because a write is synchronous and starts no other connection's write.
    [[nodiscard]] WsGather& write_gather() noexcept { return write_gather_; }
    [[nodiscard]] std::size_t connection_count() const noexcept { return connections_.size(); }
    // This worker's --subscribe-hook client, or null when there is no hook.
    [[nodiscard]] SubscribeHook* subscribe_hook() noexcept { return subscribe_hook_.get(); }

    // Registry: the worker owns every connection from adopt() until it is reaped.
    void adopt(std::unique_ptr<Connection> connection);
    // A closed connection leaves the registry for the graveyard (freed by the sweep).
    void retire(Connection& connection);
    // Frees retired connections with no pending wait; returns how many are left.
    std::size_t reap();
    // The sweep's work without its timer: tick every connection, run deferred closes, reap.
    void tick_all(session::Protocol::Clock::time_point now);

    // Fan-out staging (see Connection): a packet for `connection` in the current batch.
    struct Staged {
        const hub::Packet& packet;
        std::uint32_t next;
    };
    void stage(Connection& connection, const hub::Packet& packet);
    [[nodiscard]] Staged staged(std::uint32_t link) const noexcept {
        const Link& l = links_[link];
        return Staged{staged_packets_[l.packet], l.next};
    }
    void schedule_flush(Connection& connection);
    // End of a fan-out batch: flush every touched connection, run deferred closes.
    void flush_pending();
    // A close requested where it cannot run (inside a fan-out); runs at drain_deferred().
    void defer_close(Connection& connection, session::CloseReason reason);
    void drain_deferred();

    void log_slow_consumer(std::size_t queued_bytes);
    // Engine.IO requests refused (unknown transport, protocol version, sid): one info line
    // per reason per 10 s, so a misconfigured client is visible without flooding the log.
    // `reason`: the Engine.IO error code (0-5).
    [[nodiscard]] LogLimiter& refused_request_log(std::size_t reason) noexcept {
        return refused_request_logs_[reason % refused_request_logs_.size()];
    }

    // HTTP long-polling sessions held here, by sid (see PollingSession, PollingDirectory).
    void register_polling(PollingSession& session);
    void unregister_polling(PollingSession& session);
    [[nodiscard]] PollingSession* polling_session(std::string_view sid) const;
    // WebSocket upgrades in progress: the probing connection and the session it upgrades.
    void add_probe(const Connection& probe, PollingSession& session);
    [[nodiscard]] PollingSession* probe_source(const Connection& probe) const noexcept;
    void remove_probe(const Connection& probe) noexcept;

private:
    struct Link {
        std::uint32_t packet;  // index into staged_packets_
        std::uint32_t next;   // next link of the same connection, or Connection::kNoLink
    };

    void accept();
    void on_accept(boost::asio::ip::tcp::socket socket);
    void sweep();
    void trim_after_storm();
    void stop_when_drained(std::chrono::steady_clock::time_point deadline);

    std::size_t index_;
    ServerContext& context_;
    std::uint64_t own_shard_posts_ = 0;  // only touched on this worker's thread
    std::chrono::milliseconds sweep_period_;
    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    boost::asio::steady_timer sweep_timer_{io_};
    boost::asio::steady_timer accept_retry_timer_{io_};
    Poller poller_{io_};  // before the connections: their sockets leave it when destroyed
    std::unique_ptr<SubscribeHook> subscribe_hook_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::vector<std::unique_ptr<Connection>> graveyard_;
    std::vector<hub::Packet> staged_packets_;
    std::vector<Link> links_;
    std::vector<Connection*> flush_list_;
    std::vector<std::pair<Connection*, session::CloseReason>> deferred_closes_;
    session::Effects effects_;  // scratch, reused for every protocol input on this thread
    ws::FrameParser scratch_parser_{0};
    WsGather write_gather_;
    LogLimiter accept_log_;
    LogLimiter refusal_log_;
    LogLimiter slow_consumer_log_;
    std::array<LogLimiter, 6> refused_request_logs_;
    std::unordered_map<std::string, PollingSession*> polling_;
    std::vector<std::pair<const Connection*, PollingSession*>> probes_;
    std::array<char, std::size_t{64} * 1024> read_buffer_{};
    std::size_t adopted_since_trim_ = 0;
    std::size_t adopted_at_last_sweep_ = 0;
    bool stopping_ = false;
};

}  // namespace nudge::net
