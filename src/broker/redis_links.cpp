// RedisBroker's links: connecting (single Redis or cluster), watching, losing and reconnecting
// them with backoff. See redis_broker.hpp.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "broker/redis_broker.hpp"
#include "broker/redis_broker_detail.hpp"
#include "broker/socketio_emitter.hpp"
#include "metrics/metrics.hpp"
#include "redis/cluster.hpp"

namespace nudge::broker {

namespace asio = boost::asio;
using namespace redis_detail;

redis::LinkPtr RedisBroker::make_link(const redis::Endpoint& endpoint, redis::Mode mode) {
    redis::ConnectionOptions options;
    options.connect_timeout = config_.timeout;
    options.command_timeout = config_.timeout;
    options.client_name = mode == redis::Mode::kPubSub ? "nudged-sub" : "nudged";
    LinkPtr link = make_link_(endpoint, mode, options);
    const std::uint64_t generation = generation_;
    link->set_close_handler([this, generation](const std::string& reason) { on_link_lost(generation, reason); });
    return link;
}

void RedisBroker::connect_links() {
    if (stopped_) return;
    ++generation_;
    const std::uint64_t generation = generation_;
    nodes_.clear();
    // The seed link asks whether this is a cluster, then becomes a command link (single
    // Redis) or is dropped for one link pair per cluster node.
    auto seed = make_link(config_.endpoint, redis::Mode::kCommands);
    seed->connect([this, seed, generation](const std::string& error) {
        if (generation != generation_) return;
        if (!error.empty()) {
            on_link_lost(generation, error);
            return;
        }
        on_seed_connected(seed);
    });
}

void RedisBroker::on_seed_connected(const LinkPtr& seed) {
    const std::uint64_t generation = generation_;
    seed->command({"CLUSTER", "SLOTS"}, [this, seed, generation](redis::Reply reply) {
        if (generation != generation_) return;
        if (!reply) {
            on_link_lost(generation, "CLUSTER SLOTS: no answer");
            return;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            // "ERR This instance has cluster support disabled": a single Redis.
            cluster_ = false;
            slot_owner_.clear();
            ordering_node_ = 0;
            seed->close();
            open_nodes({config_.endpoint});
            return;
        }
        auto ranges = redis::parse_cluster_slots(*reply);
        seed->close();
        if (!ranges || ranges->empty()) {
            on_link_lost(generation, "CLUSTER SLOTS: unreadable answer (is the cluster up?)");
            return;
        }
        cluster_ = true;
        std::vector<redis::Endpoint> endpoints;
        slot_owner_.assign(16384, 0);
        for (const auto& range : *ranges) {
            // No host in the answer (Redis 7 may send "", "?" or NULL): the node that answered.
            const std::string& host = range.host.empty() ? config_.endpoint.host : range.host;
            auto it = std::find_if(endpoints.begin(), endpoints.end(), [&](const redis::Endpoint& e) {
                return e.host == host && e.port == range.port;
            });
            if (it == endpoints.end()) {
                redis::Endpoint endpoint = config_.endpoint;  // credentials and db of the URL
                endpoint.host = host;
                endpoint.port = range.port;
                endpoint.db = 0;  // a cluster has database 0 only
                endpoints.push_back(std::move(endpoint));
                it = std::prev(endpoints.end());
            }
            const auto index = static_cast<std::uint16_t>(it - endpoints.begin());
            for (std::uint32_t slot = range.first; slot <= range.last && slot < 16384; ++slot) {
                slot_owner_[slot] = index;
            }
        }
        ordering_node_ = slot_owner_[redis::key_slot(kOrderingKey)];
        open_nodes(std::move(endpoints));
    });
}

void RedisBroker::open_nodes(std::vector<redis::Endpoint> endpoints) {
    const std::uint64_t generation = generation_;
    nodes_.clear();
    nodes_.reserve(endpoints.size());  // the push handlers keep a reference to their node
    links_pending_ = endpoints.size() * 2;
    for (auto& endpoint : endpoints) {
        Node& node = nodes_.emplace_back();
        node.endpoint = std::move(endpoint);
        node.commands = make_link(node.endpoint, redis::Mode::kCommands);
        node.pubsub = make_link(node.endpoint, redis::Mode::kPubSub);
        node.pubsub->set_push_handler([this, &node, generation](redis::Reply reply) {
            if (generation == generation_) on_push(node, reply);
        });
    }
    for (auto& node : nodes_) {
        for (const auto& link : {node.commands, node.pubsub}) {
            link->connect([this, generation](const std::string& error) {
                if (generation != generation_) return;
                if (!error.empty()) {
                    on_link_lost(generation, error);
                    return;
                }
                if (--links_pending_ == 0) on_links_up();
            });
        }
    }
}

void RedisBroker::on_links_up() {
    connected_.store(true, std::memory_order_relaxed);
    metrics::registry().broker_connected.add(1);
    if (ever_connected_) metrics::registry().broker_reconnects.add(1);
    ever_connected_ = true;
    reading_ = true;
    spdlog::info("broker redis connected to {} ({})", redact(config_.endpoint),
                 cluster_ ? fmt::format("cluster of {} masters", nodes_.size()) : std::string("single node"));
    Node& first = nodes_.front();
    queue_channel_op(first, ChannelOp::kSubscribe, std::string(kOpsChannel));
    if (!config_.emitter_prefix.empty()) {
        // Classic pub/sub, as the emitter publishes: in a cluster it reaches every node.
        queue_channel_op(first, ChannelOp::kSubscribe, emitter_broadcast_channel(config_.emitter_prefix));
        queue_channel_op(first, ChannelOp::kSubscribe, emitter_request_channel(config_.emitter_prefix));
    }
    // Every room of this hub again; once all are confirmed their sessions get nudge:resync,
    // since events may have been published while the links were down (sessions let in
    // meanwhile included).
    resubscribing_ = 0;
    resync_rooms_.clear();
    for (auto& [room, state] : rooms_) {
        state.awaiting = 0;
        state.leaving = 0;
        if (state.workers == 0) continue;
        state.resync = true;
        ++resubscribing_;
        subscribe_room(room, state);
    }
    std::erase_if(rooms_, [](const auto& entry) { return entry.second.workers == 0; });
    if (resubscribing_ == 0) resubscribe_done();
    watch_links();
}

void RedisBroker::watch_links() {
    // A stopped Redis (SIGSTOP, a hung host) sends no error: a PING every second on each
    // subscriber link, with no reply at all for the timeout, closes it (redis::Connection).
    // Not while the links are paused (the delivery backlog is full): the silence is ours.
    watch_timer_.expires_after(kWatchInterval);
    const std::uint64_t generation = generation_;
    watch_timer_.async_wait([this, generation](const boost::system::error_code& ec) {
        if (ec || generation != generation_ || !connected_.load(std::memory_order_relaxed)) return;
        if (reading_) {
            for (auto& node : nodes_) node.pubsub->command({"PING"}, nullptr);
        }
        watch_links();
    });
}

void RedisBroker::on_link_lost(std::uint64_t generation, const std::string& reason) {
    if (generation != generation_ || stopped_) return;
    ++generation_;  // every other link's callbacks of this attempt are now stale
    const bool was_connected = connected_.exchange(false, std::memory_order_relaxed);
    if (was_connected) {
        metrics::registry().broker_connected.add(-1);
        spdlog::warn("broker redis link lost: {}; the publish API answers 503 until it is back", reason);
    } else {
        spdlog::warn("broker redis: {}; retrying in {} ms", reason, std::max<std::int64_t>(backoff_.count(), 100));
    }
    watch_timer_.cancel();
    for (auto& node : nodes_) {
        node.commands->close();  // pending publishes get a null reply: 503, the publisher retries
        node.pubsub->close();
    }
    nodes_.clear();
    // Sessions waiting for their rooms' subscriptions: answered now, as lost. Rooms of an
    // unfinished resubscribe keep their resync flag: the next round resyncs them.
    for (auto& [room, state] : rooms_) {
        state.awaiting = 0;
        state.leaving = 0;
        for (auto& waiter : state.waiters) {
            if (waiter->done) answer_offline(waiter);
        }
        state.waiters.clear();
    }
    if (!reading_) metrics::registry().broker_reading_paused.add(-1);
    reading_ = true;
    schedule_reconnect();
}

void RedisBroker::schedule_reconnect() {
    // backoff_ goes back to 0 only once a resubscribe completed (resubscribe_done): a Redis that
    // drops the links during a large resubscribe is given more time before each new attempt.
    backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(100), kMaxBackoff);
    static thread_local std::minstd_rand jitter{std::random_device{}()};
    const auto delay = backoff_ * (80 + static_cast<int>(jitter() % 41)) / 100;  // ±20 %
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) connect_links();
    });
}

RedisBroker::Node& RedisBroker::node_for_channel(std::string_view channel) {
    return cluster_ ? nodes_[slot_owner_[redis::key_slot(channel)]] : nodes_.front();
}

RedisBroker::Node& RedisBroker::ordering_node() { return nodes_[ordering_node_]; }

std::size_t RedisBroker::commands_in_flight() const {
    std::size_t sum = 0;
    for (const auto& node : nodes_) sum += node.commands->pending();
    return sum;
}

}  // namespace nudge::broker
