#include "net/worker.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include "metrics/metrics.hpp"
#include "net/http_connection.hpp"
#include "net/polling_session.hpp"
#include "net/send_queue.hpp"

namespace nudge::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A quarter of the shortest heartbeat timing, at most 1 s: pings go out at most that late,
// well inside the client's own pingInterval + pingTimeout allowance.
std::chrono::milliseconds sweep_period_for(const session::Config& config) {
    const auto shortest = std::min(config.ping_interval, config.ping_timeout);
    return std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

// Connections adopted since the last trim after which a calm sweep gives free heap pages back.
constexpr std::size_t kTrimAfterAdoptions = 1000;

// How long shutdown waits for clients to take their close frames before the loop ends.
constexpr auto kShutdownDrain = std::chrono::milliseconds(1500);

}  // namespace

Worker::Worker(std::size_t index, ServerContext& context)
    : index_(index), context_(context), sweep_period_(sweep_period_for(context.session.config)) {
    if (context.subscribe_hook_target) {
        subscribe_hook_ = std::make_unique<SubscribeHook>(io_, context.subscribe_hook,
                                                          *context.subscribe_hook_target);
    }
}

Worker::~Worker() = default;

hub::RoomIndex& Worker::rooms() { return context_.hub->rooms(index_); }

tcp::endpoint Worker::listen(const tcp::endpoint& endpoint) {
    acceptor_.open(endpoint.protocol());
    // SO_REUSEADDR only lets us bind past TIME_WAIT; on Linux it never lets two listeners
    // share a port. No SO_REUSEPORT: a second nudged on this port must fail, not split clients.
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    return acceptor_.local_endpoint();
}

void Worker::share_listener(Worker& first) {
    // One listening socket for the process: each worker waits on its own descriptor for it,
    // and whichever wakes first accepts (the others get EAGAIN and wait again).
    const int fd = ::dup(first.acceptor_.native_handle());
    if (fd < 0) throw boost::system::system_error(errno, boost::system::system_category(), "dup");
    acceptor_.assign(first.acceptor_.local_endpoint().protocol(), fd);
}

void Worker::run() {
    metrics::set_thread_slot(index_);
    accept();
    poller_.start();
    sweep();
    io_.run();
}

void Worker::accept() {
    acceptor_.async_accept(io_, [this](boost::system::error_code ec, tcp::socket socket) {
        if (stopping_) return;
        if (ec) {
            if (ec == asio::error::operation_aborted) return;
            // EMFILE/ENFILE and friends: back off briefly instead of spinning; the
            // connections already served are unaffected. Logged at most every 10 s.
            metrics::registry().accept_errors.add(1);
            if (auto held = accept_log_.allow()) {
                spdlog::warn("accept failed worker={} error=\"{}\" suppressed={}", index_, ec.message(),
                             *held);
            }
            accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
            accept_retry_timer_.async_wait([this](boost::system::error_code wait_ec) {
                if (!wait_ec && !stopping_) accept();
            });
            return;
        }
        on_accept(std::move(socket));
        accept();
    });
}

void Worker::on_accept(tcp::socket socket) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    std::uint32_t ip_key = 0;
    const Admission::Verdict verdict = context_.admission.admit(remote.address(), ip_key);
    if (verdict != Admission::Verdict::kAdmitted) {
        auto& registry = metrics::registry();
        (verdict == Admission::Verdict::kTooManyFromAddress ? registry.refused_per_address
                                                            : registry.refused_rate)
            .add(1);
        if (auto held = refusal_log_.allow()) {
            spdlog::warn("connection refused source={} reason={} suppressed={}",
                         remote.address().to_string(),
                         verdict == Admission::Verdict::kTooManyFromAddress ? "max_connections_per_ip"
                                                                            : "max_connect_rate",
                         *held);
        }
        socket.close(ec);
        return;
    }
    // Small request/response exchanges: without TCP_NODELAY, Nagle plus the peer's delayed
    // ACK adds milliseconds to every keep-alive publish.
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<HttpConnection>(TcpHttpStream(std::move(socket)), *this, ip_key)->start();
}

void Worker::adopt(std::unique_ptr<Connection> connection) {
    connection->registry_index = static_cast<std::uint32_t>(connections_.size());
    connections_.push_back(std::move(connection));
    ++adopted_since_trim_;
}

void Worker::retire(Connection& connection) {
    const std::size_t i = connection.registry_index;
    if (i >= connections_.size() || connections_[i].get() != &connection) return;
    graveyard_.push_back(std::move(connections_[i]));
    if (i + 1 != connections_.size()) {
        connections_[i] = std::move(connections_.back());
        connections_[i]->registry_index = static_cast<std::uint32_t>(i);
    }
    connections_.pop_back();
}

std::size_t Worker::reap() {
    std::erase_if(graveyard_, [](const std::unique_ptr<Connection>& c) { return c->reapable(); });
    return graveyard_.size();
}

void Worker::stage(Connection& connection, const hub::Packet& packet) {
    if (staged_packets_.empty() || staged_packets_.back().get() != packet.get()) {
        staged_packets_.push_back(packet);
    }
    const auto link = static_cast<std::uint32_t>(links_.size());
    links_.push_back(Link{static_cast<std::uint32_t>(staged_packets_.size() - 1), Connection::kNoLink});
    if (connection.first_link == Connection::kNoLink) {
        connection.first_link = link;
    } else {
        links_[connection.last_link].next = link;
    }
    connection.last_link = link;
    connection.staged_bytes += static_cast<std::uint32_t>(packet->size() + SendQueue::kEntryOverhead);
    schedule_flush(connection);
}

void Worker::schedule_flush(Connection& connection) {
    if (connection.in_flush_list) return;
    connection.in_flush_list = true;
    flush_list_.push_back(&connection);
}

void Worker::post_shard_task(std::function<void()> task) {
    if (io_.get_executor().running_in_this_thread()) ++own_shard_posts_;
    asio::post(io_, std::move(task));
}

void Worker::flush_pending() {
    // Connections are never freed synchronously (retire() only moves them to the graveyard),
    // so the raw pointers stay valid for the whole loop.
    // By index, so the loop stays valid even if a flush ever schedules another.
    for (std::size_t i = 0; i < flush_list_.size(); ++i) flush_list_[i]->flush();  // NOLINT(modernize-loop-convert)
    flush_list_.clear();
    staged_packets_.clear();
    links_.clear();
    drain_deferred();
}

void Worker::defer_close(Connection& connection, session::CloseReason reason) {
    deferred_closes_.emplace_back(&connection, reason);
}

void Worker::drain_deferred() {
    // close() can defer nothing new (it is never inside a fan-out), but index anyway.
    for (std::size_t i = 0; i < deferred_closes_.size(); ++i) {  // NOLINT(modernize-loop-convert)
        deferred_closes_[i].first->close(deferred_closes_[i].second);
    }
    deferred_closes_.clear();
}

void Worker::log_slow_consumer(std::size_t queued_bytes) {
    if (auto held = slow_consumer_log_.allow()) {
        spdlog::warn("slow consumer disconnected queued_bytes={} limit={} suppressed={}", queued_bytes,
                     context_.limits.max_send_queue_bytes, *held);
    }
}

void Worker::register_polling(PollingSession& session) {
    polling_.emplace(std::string(session.sid()), &session);
    context_.polling.add(session.sid(), index_);
}

void Worker::unregister_polling(PollingSession& session) {
    polling_.erase(std::string(session.sid()));
    context_.polling.remove(session.sid());
    for (auto it = probes_.begin(); it != probes_.end(); ++it) {
        if (it->second == &session) {
            probes_.erase(it);
            break;
        }
    }
}

PollingSession* Worker::polling_session(std::string_view sid) const {
    const auto it = polling_.find(std::string(sid));
    return it == polling_.end() ? nullptr : it->second;
}

void Worker::add_probe(const Connection& probe, PollingSession& session) {
    probes_.emplace_back(&probe, &session);
}

PollingSession* Worker::probe_source(const Connection& probe) const noexcept {
    for (const auto& [connection, session] : probes_) {
        if (connection == &probe) return session;
    }
    return nullptr;
}

void Worker::remove_probe(const Connection& probe) noexcept {
    for (auto it = probes_.begin(); it != probes_.end(); ++it) {
        if (it->first == &probe) {
            it->second->detach_probe();
            probes_.erase(it);
            return;
        }
    }
}

void Worker::tick_all(session::Protocol::Clock::time_point now) {
    // Backwards: a connection that closes swaps the last one into its slot, already visited.
    for (std::size_t i = connections_.size(); i-- > 0;) {
        if (i < connections_.size()) connections_[i]->tick(now);
    }
    drain_deferred();
    reap();
}

void Worker::sweep() {
    tick_all(session::Protocol::Clock::now());
    trim_after_storm();
    sweep_timer_.expires_after(sweep_period_);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !stopping_) sweep();
    });
}

void Worker::trim_after_storm() {
    // A connect storm frees each handshake's short-lived state (HTTP parser and buffers,
    // JSON, strings) between the connections' long-lived objects, so glibc cannot shrink the
    // heap from its top and keeps it: ~2.5 MB after 10k connects. Once connects calm down
    // (none since the last sweep), malloc_trim returns the whole free pages inside the heap.
    const bool calm = adopted_since_trim_ == adopted_at_last_sweep_;
    adopted_at_last_sweep_ = adopted_since_trim_;
    if (!calm || adopted_since_trim_ < kTrimAfterAdoptions) return;
    ::malloc_trim(0);
    adopted_since_trim_ = adopted_at_last_sweep_ = 0;
}

void Worker::begin_shutdown() {
    asio::post(io_, [this] {
        stopping_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        sweep_timer_.cancel();
        accept_retry_timer_.cancel();
        for (std::size_t i = connections_.size(); i-- > 0;) {
            if (i < connections_.size()) connections_[i]->close(session::CloseReason::kServerShutdown);
        }
        // Clients answer the close 1001 by closing; give them a moment, then end the loop
        // (HTTP connections and anything still in flight end with it).
        stop_when_drained(std::chrono::steady_clock::now() + kShutdownDrain);
    });
}

void Worker::stop_when_drained(std::chrono::steady_clock::time_point deadline) {
    if (connections_.empty() || std::chrono::steady_clock::now() >= deadline) {
        io_.stop();
        return;
    }
    sweep_timer_.expires_after(std::chrono::milliseconds(20));
    sweep_timer_.async_wait([this, deadline](boost::system::error_code) { stop_when_drained(deadline); });
}

}  // namespace nudge::net
