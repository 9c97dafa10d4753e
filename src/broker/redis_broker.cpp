#include "broker/redis_broker.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <map>
#include <random>
#include <utility>

#include "broker/redis_message.hpp"
#include "broker/redis_scripts.hpp"
#include "broker/socketio_emitter.hpp"
#include "common/position.hpp"
#include "metrics/metrics.hpp"
#include "redis/cluster.hpp"

namespace nudge::broker {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kRoomPrefix = "nudge:r:";
constexpr std::string_view kOpsChannel = "nudge:ops";
constexpr std::string_view kOrderingKey = "{nudge}:seq";
constexpr std::size_t kRecentPositions = 65536;  // de-duplication window of received events
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::chrono::milliseconds kWatchInterval{1000};
// Events that carry no position (nudge:resync, @socket.io/redis-emitter's): delivered to every
// session, even one that replayed history (deliver_from) or is holding.
constexpr std::uint64_t kUnsequenced = hub::Subscriber::kHold - 1;

std::string room_channel(std::string_view room) {
    std::string channel(kRoomPrefix);
    channel.append(room);
    return channel;
}

std::string_view element(const redisReply& reply, std::size_t i) {
    return i < reply.elements && reply.element[i] != nullptr ? redis::as_view(*reply.element[i])
                                                             : std::string_view{};
}

std::uint64_t integer(const redisReply* reply) {
    if (reply == nullptr) return 0;
    if (reply->type == REDIS_REPLY_INTEGER) return static_cast<std::uint64_t>(std::max<long long>(reply->integer, 0));
    std::uint64_t value = 0;
    const std::string_view text = redis::as_view(*reply);
    for (const char c : text) {
        if (c < '0' || c > '9') return 0;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
}

}  // namespace

RedisBroker::RedisBroker(hub::Hub& hub, asio::io_context& io, RedisBrokerConfig config)
    : hub_(hub),
      config_(std::move(config)),
      publish_script_(std::string(scripts::kPrelude) + std::string(scripts::kPublish)),
      recover_script_(std::string(scripts::kPrelude) + std::string(scripts::kRecover)),
      io_(io),
      reconnect_timer_(io_),
      watch_timer_(io_),
      retry_timer_(io_) {}

RedisBroker::~RedisBroker() { stop(); }

void RedisBroker::start() {
    asio::post(io_, [this] { connect_links(); });
}

void RedisBroker::stop() {
    if (stopped_) return;
    stopped_ = true;
    ++generation_;
    for (auto& node : nodes_) {
        if (node.commands) node.commands->close();
        if (node.pubsub) node.pubsub->close();
    }
    nodes_.clear();
    reconnect_timer_.cancel();
    watch_timer_.cancel();
    retry_timer_.cancel();
}

// ---------------------------------------------------------------------------------------------
// Links

RedisBroker::ConnectionPtr RedisBroker::make_connection(const redis::Endpoint& endpoint, redis::Mode mode) {
    redis::ConnectionOptions options;
    options.connect_timeout = config_.timeout;
    options.command_timeout = config_.timeout;
    options.client_name = mode == redis::Mode::kPubSub ? "nudged-sub" : "nudged";
    auto connection = std::make_shared<Connection>(asio::ip::tcp::socket(io_), endpoint, mode, options);
    const std::uint64_t generation = generation_;
    connection->set_close_handler(
        [this, generation](const std::string& reason) { on_link_lost(generation, reason); });
    return connection;
}

void RedisBroker::connect_links() {
    if (stopped_) return;
    ++generation_;
    const std::uint64_t generation = generation_;
    nodes_.clear();
    // The seed link asks whether this is a cluster, then becomes a command link (single
    // Redis) or is dropped for one link pair per cluster node.
    auto seed = make_connection(config_.endpoint, redis::Mode::kCommands);
    seed->connect([this, seed, generation](const std::string& error) {
        if (generation != generation_) return;
        if (!error.empty()) {
            on_link_lost(generation, error);
            return;
        }
        on_seed_connected(seed);
    });
}

void RedisBroker::on_seed_connected(const ConnectionPtr& seed) {
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
    links_pending_ = endpoints.size() * 2;
    for (auto& endpoint : endpoints) {
        Node node;
        node.endpoint = std::move(endpoint);
        node.commands = make_connection(node.endpoint, redis::Mode::kCommands);
        node.pubsub = make_connection(node.endpoint, redis::Mode::kPubSub);
        node.pubsub->set_push_handler([this](redis::Reply reply) { on_push(reply); });
        nodes_.push_back(std::move(node));
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
    backoff_ = std::chrono::milliseconds(0);
    connected_.store(true, std::memory_order_relaxed);
    metrics::registry().broker_connected.add(1);
    if (ever_connected_) metrics::registry().broker_reconnects.add(1);
    ever_connected_ = true;
    spdlog::info("broker redis connected to {} ({})", redact(config_.endpoint),
                 cluster_ ? fmt::format("cluster of {} masters", nodes_.size()) : std::string("single node"));
    nodes_.front().pubsub->command({"SUBSCRIBE", kOpsChannel}, nullptr);
    if (!config_.emitter_prefix.empty()) {
        // Classic pub/sub, as the emitter publishes: in a cluster it reaches every node.
        const std::string broadcast = emitter_broadcast_channel(config_.emitter_prefix);
        const std::string request = emitter_request_channel(config_.emitter_prefix);
        nodes_.front().pubsub->command({"SUBSCRIBE", broadcast, request}, nullptr);
    }
    // Every room of this hub again; each gets nudge:resync once subscribed, since events may
    // have been published while the links were down (sessions let in meanwhile included).
    for (auto& [room, state] : rooms_) {
        state.awaiting = 0;
        state.leaving = 0;
        if (state.workers == 0) continue;
        state.resync = true;
        subscribe_room(room, state);
    }
    std::erase_if(rooms_, [](const auto& entry) { return entry.second.workers == 0; });
    watch_links();
}

void RedisBroker::watch_links() {
    // A stopped Redis (SIGSTOP, a hung host) sends no error: a PING every second on each
    // subscriber link, unanswered for the command timeout, closes it (redis::Connection).
    watch_timer_.expires_after(kWatchInterval);
    const std::uint64_t generation = generation_;
    watch_timer_.async_wait([this, generation](const boost::system::error_code& ec) {
        if (ec || generation != generation_ || !connected_.load(std::memory_order_relaxed)) return;
        for (auto& node : nodes_) node.pubsub->command({"PING"}, nullptr);
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
    // Sessions waiting for their rooms' subscriptions: answered now, as lost.
    for (auto& [room, state] : rooms_) {
        state.awaiting = 0;
        state.leaving = 0;
        for (auto& waiter : state.waiters) {
            if (waiter->done) answer_offline(waiter);
        }
        state.waiters.clear();
    }
    schedule_reconnect();
}

void RedisBroker::schedule_reconnect() {
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

// ---------------------------------------------------------------------------------------------
// Subscriptions

void RedisBroker::on_presence(std::string_view room, bool present) {
    asio::post(io_, [this, room = std::string(room), present] {
        auto it = rooms_.find(room);
        if (present) {
            if (it == rooms_.end()) it = rooms_.emplace(room, RoomState{}).first;
            if (it->second.workers++ == 0 && connected_.load(std::memory_order_relaxed)) {
                subscribe_room(room, it->second);
            }
            return;
        }
        if (it == rooms_.end() || it->second.workers == 0) return;
        if (--it->second.workers > 0) return;
        if (connected_.load(std::memory_order_relaxed)) {
            unsubscribe_room(room);
            if (cluster_) ++it->second.leaving;
        }
        // Kept while confirmations are due, so a quick re-join counts them right.
        if (it->second.awaiting == 0 && it->second.leaving == 0) rooms_.erase(it);
    });
}

void RedisBroker::subscribe_room(std::string_view room, RoomState& state) {
    const std::string channel = room_channel(room);
    Node& node = node_for_channel(channel);
    node.pubsub->command({cluster_ ? "SSUBSCRIBE" : "SUBSCRIBE", channel}, nullptr);
    ++state.awaiting;
    if (!config_.emitter_prefix.empty()) {
        nodes_.front().pubsub->command({"SUBSCRIBE", emitter_room_channel(room, config_.emitter_prefix)},
                                       nullptr);
        ++state.awaiting;
    }
}

void RedisBroker::unsubscribe_room(std::string_view room) {
    const std::string channel = room_channel(room);
    node_for_channel(channel).pubsub->command({cluster_ ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", channel},
                                              nullptr);
    if (!config_.emitter_prefix.empty()) {
        nodes_.front().pubsub->command(
            {"UNSUBSCRIBE", emitter_room_channel(room, config_.emitter_prefix)}, nullptr);
    }
}

std::optional<std::string_view> RedisBroker::room_of_channel(std::string_view channel) const {
    if (channel.starts_with(kRoomPrefix)) return channel.substr(kRoomPrefix.size());
    if (!config_.emitter_prefix.empty()) {
        const ParsedChannel parsed = parse_channel(channel, config_.emitter_prefix);
        if (parsed.kind == EmitterChannel::kRoom) return parsed.room;
    }
    return std::nullopt;
}

void RedisBroker::on_push(const redis::Reply& reply) {
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) return;
    const std::string_view kind = element(*reply, 0);
    const std::string_view channel = element(*reply, 1);
    if (kind == "message" || kind == "smessage") {
        const std::string_view payload = element(*reply, 2);
        metrics::registry().broker_messages.add(1);
        if (channel.starts_with(kRoomPrefix)) {
            on_event_message(payload);
        } else if (channel == kOpsChannel) {
            on_ops_message(payload);
        } else if (!config_.emitter_prefix.empty()) {
            on_emitter_message(channel, payload);
        }
        return;
    }
    if (kind == "subscribe" || kind == "ssubscribe") {
        on_confirmed(channel);
    } else if (kind == "sunsubscribe") {
        on_shard_unsubscribed(channel);
    }
}

void RedisBroker::on_shard_unsubscribed(std::string_view channel) {
    const auto room = room_of_channel(channel);
    if (!room) return;
    auto it = rooms_.find(std::string(*room));
    if (it == rooms_.end()) return;
    if (it->second.leaving > 0) {
        --it->second.leaving;  // ours
        if (it->second.leaving == 0 && it->second.awaiting == 0 && it->second.workers == 0) rooms_.erase(it);
        return;
    }
    // Redis dropped the subscription itself: the channel's slot moved to another master
    // (resharding, failover). Reload the slot map; every room resubscribes and resyncs.
    on_link_lost(generation_, fmt::format("cluster slot of {} moved", channel));
}

void RedisBroker::on_confirmed(std::string_view channel) {
    const auto room = room_of_channel(channel);
    if (!room) return;
    auto it = rooms_.find(std::string(*room));
    if (it == rooms_.end() || it->second.awaiting == 0) return;
    if (--it->second.awaiting > 0) return;
    if (it->second.workers == 0) {
        if (it->second.leaving == 0) rooms_.erase(it);  // left before the confirmation came
        return;
    }
    room_ready(it->first, it->second);
}

void RedisBroker::room_ready(const std::string& room, RoomState& state) {
    if (std::exchange(state.resync, false)) resync_room(room);
    auto waiters = std::move(state.waiters);
    state.waiters.clear();
    for (auto& waiter : waiters) {
        if (waiter->done && --waiter->rooms_pending == 0) answer(waiter);
    }
}

// ---------------------------------------------------------------------------------------------
// Events in

void RedisBroker::on_event_message(std::string_view message) {
    auto event = decode_event(message);
    if (!event) {
        metrics::registry().broker_ignored.add(1);
        spdlog::debug("broker redis: an undecodable event message was ignored");
        return;
    }
    if (event->epoch != epoch_) {
        // A new history (Redis restarted or was flushed): positions start again.
        epoch_ = event->epoch;
        recent_.clear();
        recent_order_.clear();
    }
    // An event to several rooms arrives once per room channel this hub holds.
    if (!recent_.insert(event->emit.seq).second) return;
    recent_order_.push_back(event->emit.seq);
    if (recent_order_.size() > kRecentPositions) {
        recent_.erase(recent_order_.front());
        recent_order_.pop_front();
    }
    const auto now_ms = static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::chrono::system_clock::now().time_since_epoch())
                                                      .count());
    const std::int64_t lag_us = std::max<std::int64_t>(now_ms - static_cast<std::int64_t>(event->ms), 0) * 1000;
    metrics::registry().broker_lag_us.add(lag_us - std::exchange(reported_lag_us_, lag_us));
    if (config_.recovery) event->emit.offset = format_offset(event->epoch, event->emit.seq);
    queue_for_delivery(std::move(event->emit));
}

void RedisBroker::on_ops_message(std::string_view message) {
    auto op = decode_room_op(message);
    if (!op) {
        metrics::registry().broker_ignored.add(1);
        return;
    }
    apply_locally(std::move(*op));
}

std::vector<std::string> RedisBroker::local_rooms() const {
    std::vector<std::string> rooms;
    rooms.reserve(rooms_.size());
    for (const auto& [room, state] : rooms_) {
        if (state.workers > 0) rooms.push_back(room);
    }
    return rooms;
}

void RedisBroker::on_emitter_message(std::string_view channel, std::string_view payload) {
    const ParsedChannel parsed = parse_channel(channel, config_.emitter_prefix);
    auto refused = [](EmitterError error) {
        metrics::registry().broker_ignored.add(1);
        if (is_ignored(error)) {
            spdlog::debug("broker redis: @socket.io/redis-emitter message ignored: {}", message(error));
        } else {
            spdlog::warn("broker redis: @socket.io/redis-emitter message refused ({}): {}", to_string(error),
                         message(error));
        }
    };
    if (parsed.kind == EmitterChannel::kBroadcast || parsed.kind == EmitterChannel::kRoom) {
        auto decoded = decode_broadcast(payload);
        if (!decoded) {
            refused(decoded.error());
            return;
        }
        hub::Emit emit;
        if (auto* targeted = std::get_if<hub::Emit>(&*decoded)) {
            emit = std::move(*targeted);
        } else {
            // io.emit(): every socket of this hub, through the rooms its clients are in.
            auto& everyone = std::get<EveryoneEmit>(*decoded);
            emit.rooms = local_rooms();
            emit.except = std::move(everyone.except);
            emit.event = std::move(everyone.event);
            emit.data_json = std::move(everyone.data_json);
        }
        if (emit.rooms.empty()) return;
        // Not numbered: the emitter wrote it into Redis itself, outside the history.
        emit.seq = kUnsequenced;
        queue_for_delivery(std::move(emit));
        return;
    }
    if (parsed.kind != EmitterChannel::kRequest) return;
    auto decoded = decode_request(payload);
    if (!decoded) {
        refused(decoded.error());
        return;
    }
    hub::RoomOp op;
    if (auto* selected = std::get_if<hub::RoomOp>(&*decoded)) {
        op = std::move(*selected);
    } else {
        auto& everyone = std::get<EveryoneRoomOp>(*decoded);
        op.kind = everyone.kind;
        op.rooms = local_rooms();
        op.except = std::move(everyone.except);
        op.targets = std::move(everyone.targets);
    }
    if (!op.rooms.empty()) apply_locally(std::move(op));
}

void RedisBroker::apply_locally(hub::RoomOp op) {
    if (!hub_.apply(std::make_shared<const hub::RoomOp>(std::move(op)))) {
        spdlog::warn("broker redis: a room operation was dropped: the hub is overloaded");
    }
}

void RedisBroker::queue_for_delivery(hub::Emit emit) {
    // Every event read in one turn of the loop goes to the hub as one batch (one post per
    // worker, one write per client).
    if (incoming_.empty()) asio::post(io_, [this] { flush_deliveries(); });
    incoming_.push_back(std::move(emit));
}

void RedisBroker::flush_deliveries() {
    if (!incoming_.empty()) {
        backlog_.push_back(std::make_shared<const hub::EmitBatch>(std::move(incoming_)));
        incoming_.clear();
    }
    // The hub refuses a batch only when its workers are far behind: kept, in order, and
    // retried shortly; nothing Redis delivered is dropped.
    while (!backlog_.empty()) {
        if (!hub_.deliver(backlog_.front())) {
            retry_timer_.expires_after(std::chrono::milliseconds(1));
            retry_timer_.async_wait([this](const boost::system::error_code& ec) {
                if (!ec) flush_deliveries();
            });
            return;
        }
        backlog_.pop_front();
    }
}

void RedisBroker::resync_room(const std::string& room) {
    hub::Emit emit;
    emit.rooms = {room};
    emit.event = "nudge:resync";
    emit.data_json = fmt::format(R"({{"rooms":[{}]}})", boost::json::serialize(boost::json::string(room)));
    emit.seq = kUnsequenced;
    metrics::registry().broker_resyncs.add(1);
    queue_for_delivery(std::move(emit));
}

// ---------------------------------------------------------------------------------------------
// Publish and membership

RedisBroker::Script::Script(std::string source) : text(std::move(source)) {
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    for (const unsigned char byte : digest) sha += fmt::format("{:02x}", byte);
}

void RedisBroker::run_script(const Script& script, std::vector<std::string> args,
                             std::function<void(redis::Reply)> done) {
    // EVALSHA: Redis keeps each script compiled; the text goes over the wire only when its
    // cache does not have it (NOSCRIPT: a restarted or flushed Redis).
    auto shared = std::make_shared<std::vector<std::string>>(std::move(args));
    std::vector<std::string_view> views{"EVALSHA", script.sha};
    views.insert(views.end(), shared->begin(), shared->end());
    const std::uint64_t generation = generation_;
    ordering_node().commands->command(views, [this, &script, shared, generation,
                                              done = std::move(done)](redis::Reply reply) mutable {
        if (!reply || reply->type != REDIS_REPLY_ERROR || !redis::as_view(*reply).starts_with("NOSCRIPT") ||
            generation != generation_) {
            done(std::move(reply));
            return;
        }
        std::vector<std::string_view> again{"EVAL", script.text};
        again.insert(again.end(), shared->begin(), shared->end());
        ordering_node().commands->command(again, std::move(done));
    });
}

void RedisBroker::publish(hub::EmitBatch batch, std::function<void(PublishOutcome)> done) {
    asio::post(io_, [this, batch = std::move(batch), done = std::move(done)]() mutable {
        if (!connected_.load(std::memory_order_relaxed)) {
            done(PublishOutcome{PublishResult::kUnavailable, {}, {}});
            return;
        }
        const HistoryConfig& history = config_.history;
        std::vector<std::string> args;
        args.reserve(10 + batch.size() * 4);
        args.emplace_back("1");
        args.emplace_back(kOrderingKey);
        args.push_back(random_epoch());
        args.push_back(std::to_string(config_.recovery ? history.max_per_room : 0));
        args.push_back(std::to_string(history.tombstone_ttl.count()));
        args.push_back(std::to_string(config_.idempotency_window.count()));
        args.emplace_back(cluster_ ? "0" : "1");
        args.push_back(std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(history.tombstone_ttl).count() + 60));
        args.push_back(std::to_string(batch.size()));
        std::vector<std::string> bodies;
        bodies.reserve(batch.size());
        for (const auto& emit : batch) {
            args.push_back(emit.id);
            bodies.push_back(encode_event_body(emit));
            args.push_back(bodies.back());
            args.push_back(std::to_string(emit.rooms.size()));
            for (const auto& room : emit.rooms) args.push_back(room);
        }
        run_script(publish_script_, std::move(args), [this, batch = std::move(batch), bodies = std::move(bodies),
                                                      done = std::move(done)](redis::Reply reply) {
            PublishOutcome outcome;
            if (redis::is_error(reply) || reply->type != REDIS_REPLY_ARRAY ||
                reply->elements != 2 + 2 * batch.size()) {
                if (reply) spdlog::warn("broker redis: publish failed: {}", redis::as_view(*reply));
                outcome.result = PublishResult::kUnavailable;
                done(std::move(outcome));
                return;
            }
            outcome.epoch = std::string(element(*reply, 0));
            const std::uint64_t ms = integer(reply->element[1]);
            std::int64_t duplicates = 0;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const std::uint64_t seq = integer(reply->element[2 + 2 * i]);
                const bool duplicate = integer(reply->element[3 + 2 * i]) != 0;
                outcome.events.push_back(Published{seq, duplicate});
                duplicates += duplicate ? 1 : 0;
                if (duplicate || !cluster_ || nodes_.empty()) continue;
                // Cluster: the script could not publish on other nodes' slots.
                const std::string message = fmt::format("{} {} {} {}", outcome.epoch, seq, ms, bodies[i]);
                for (const auto& room : batch[i].rooms) {
                    const std::string channel = room_channel(room);
                    node_for_channel(channel).commands->command(
                        {"SPUBLISH", channel, message}, [this, generation = generation_](redis::Reply r) {
                            // MOVED: the slot map changed; reload it (every hub's rooms resync
                            // when their own subscriptions are moved).
                            if (r && r->type == REDIS_REPLY_ERROR) {
                                on_link_lost(generation, fmt::format("SPUBLISH: {}", redis::as_view(*r)));
                            }
                        });
                }
            }
            if (duplicates > 0) metrics::registry().duplicate_emits.add(duplicates);
            done(std::move(outcome));
        });
    });
}

void RedisBroker::apply(hub::SharedRoomOp op, std::function<void(PublishResult)> done) {
    asio::post(io_, [this, op = std::move(op), done = std::move(done)] {
        if (!connected_.load(std::memory_order_relaxed)) {
            done(PublishResult::kUnavailable);
            return;
        }
        // Every hub, this one included, applies it when it arrives on nudge:ops.
        nodes_.front().commands->command({"PUBLISH", kOpsChannel, encode_room_op(*op)},
                                         [done](redis::Reply reply) {
                                             done(redis::is_error(reply) ? PublishResult::kUnavailable
                                                                         : PublishResult::kAccepted);
                                         });
    });
}

// ---------------------------------------------------------------------------------------------
// CONNECT answers and recovery

void RedisBroker::recover(RecoveryRequest request, std::function<void(Recovery)> done) {
    asio::post(io_, [this, request = std::move(request), done = std::move(done)]() mutable {
        auto waiter = std::make_shared<Waiter>();
        waiter->request = std::move(request);
        waiter->done = std::move(done);
        if (!connected_.load(std::memory_order_relaxed)) {
            answer_offline(waiter);
            return;
        }
        // Answered once every room's subscription is confirmed: from then on every event of
        // those rooms reaches this hub.
        for (const auto& room : waiter->request.rooms) {
            auto it = rooms_.find(room);
            if (it == rooms_.end() || it->second.awaiting == 0) continue;
            ++waiter->rooms_pending;
            it->second.waiters.push_back(waiter);
        }
        if (waiter->rooms_pending == 0) answer(waiter);
    });
}

void RedisBroker::answer_offline(const std::shared_ptr<Waiter>& waiter) {
    // Without Redis nothing can be confirmed: the session is let in (it keeps its rooms; when
    // the links are back its rooms get nudge:resync), and under recovery told it lost them.
    Recovery recovery;
    if (config_.recovery) {
        recovery.now = Position{epoch_.empty() ? random_epoch() : epoch_, 0};
        recovery.lost_rooms = waiter->request.rooms;
    }
    auto done = std::exchange(waiter->done, nullptr);
    done(std::move(recovery));
}

void RedisBroker::answer(const std::shared_ptr<Waiter>& waiter) {
    if (!config_.recovery) {
        auto done = std::exchange(waiter->done, nullptr);
        done(Recovery{});  // no position: a plain CONNECT answer
        return;
    }
    const RecoveryRequest& request = waiter->request;
    std::vector<std::string> args{"1", std::string(kOrderingKey), random_epoch()};
    args.push_back(request.from ? request.from->epoch : std::string());
    args.push_back(std::to_string(request.from ? request.from->seq : 0));
    args.push_back(std::to_string(config_.history.max_replay));
    args.push_back(std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(config_.history.tombstone_ttl).count()));
    for (const auto& room : request.rooms) args.push_back(room);
    run_script(recover_script_, std::move(args), [this, waiter](redis::Reply reply) {
        if (!waiter->done) return;
        if (redis::is_error(reply) || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
            if (reply) spdlog::warn("broker redis: recovery query failed: {}", redis::as_view(*reply));
            answer_offline(waiter);
            return;
        }
        auto done = std::exchange(waiter->done, nullptr);
        done(recovery_from(waiter->request, reply));
    });
}

Recovery RedisBroker::recovery_from(const RecoveryRequest& request, const redis::Reply& reply) const {
    Recovery recovery;
    recovery.now = Position{std::string(element(*reply, 0)), integer(reply->element[1])};
    if (!request.from) return recovery;
    const std::uint64_t now_ms = integer(reply->element[2]);
    std::vector<std::string> lost;
    if (reply->elements >= 5) {
        const redisReply& lost_reply = *reply->element[3];
        for (std::size_t i = 0; i < lost_reply.elements; ++i) lost.emplace_back(element(lost_reply, i));
    }
    // The missed events of every room, merged in position order, each once; skipped when the
    // session is in one of its except rooms.
    std::map<std::uint64_t, hub::Emit> missed;
    if (reply->elements >= 5) {
        const redisReply& messages = *reply->element[4];
        const auto ttl_ms = static_cast<std::uint64_t>(config_.history.ttl.count());
        for (std::size_t i = 0; i < messages.elements; ++i) {
            auto event = decode_event(element(messages, i));
            if (!event) continue;
            const bool too_old = event->ms + ttl_ms < now_ms;
            const auto in_request = [&](const std::string& room) {
                return std::find(request.rooms.begin(), request.rooms.end(), room) != request.rooms.end();
            };
            if (too_old) {
                // Past the recovery window: those rooms resync instead.
                for (const auto& room : event->emit.rooms) {
                    if (in_request(room)) lost.push_back(room);
                }
                continue;
            }
            if (std::any_of(event->emit.except.begin(), event->emit.except.end(), in_request)) continue;
            event->emit.offset = format_offset(event->epoch, event->emit.seq);
            missed.emplace(event->emit.seq, std::move(event->emit));
        }
    }
    std::size_t bytes = 0;
    for (auto& [seq, emit] : missed) {
        auto frame = std::make_shared<const std::string>(hub::Hub::encode(emit));
        bytes += frame->size() + request.per_frame_overhead;
        recovery.replay.push_back(std::move(frame));
    }
    if (missed.size() > config_.history.max_replay || bytes > request.max_bytes) {
        // Too much to replay into the session's send budget: its rooms with missed events resync.
        for (const auto& [seq, emit] : missed) {
            for (const auto& room : emit.rooms) {
                if (std::find(request.rooms.begin(), request.rooms.end(), room) != request.rooms.end()) {
                    lost.push_back(room);
                }
            }
        }
        recovery.replay.clear();
    }
    std::sort(lost.begin(), lost.end());
    lost.erase(std::unique(lost.begin(), lost.end()), lost.end());
    recovery.lost_rooms = std::move(lost);
    recovery.recovered = recovery.lost_rooms.empty();
    return recovery;
}

}  // namespace nudge::broker
