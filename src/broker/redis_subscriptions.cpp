// RedisBroker's subscriptions and events in: which channels this hub holds, the window that
// bounds (un)subscribe commands in flight, what arrives on the pub/sub links, and the delivery
// backlog towards the hub's workers. See redis_broker.hpp.
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "broker/redis_broker.hpp"
#include "broker/redis_broker_detail.hpp"
#include "broker/redis_message.hpp"
#include "broker/socketio_emitter.hpp"
#include "metrics/metrics.hpp"
#include "redis/cluster.hpp"

namespace nudge::broker {

namespace asio = boost::asio;
using namespace redis_detail;

namespace {

std::string_view command_name(bool sharded, bool subscribe) {
    if (sharded) return subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE";
    return subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE";
}

}  // namespace

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
        if (it->second.awaiting == 0 && it->second.leaving == 0) {
            room_gone(it->second);
            rooms_.erase(it);
        }
    });
}

void RedisBroker::subscribe_room(std::string_view room, RoomState& state) {
    std::string channel = room_channel(room);
    Node& node = node_for_channel(channel);
    queue_channel_op(node, cluster_ ? ChannelOp::kShardSubscribe : ChannelOp::kSubscribe, std::move(channel));
    ++state.awaiting;
    if (!config_.emitter_prefix.empty()) {
        queue_channel_op(nodes_.front(), ChannelOp::kSubscribe, emitter_room_channel(room, config_.emitter_prefix));
        ++state.awaiting;
    }
}

void RedisBroker::unsubscribe_room(std::string_view room) {
    std::string channel = room_channel(room);
    Node& node = node_for_channel(channel);
    queue_channel_op(node, cluster_ ? ChannelOp::kShardUnsubscribe : ChannelOp::kUnsubscribe, std::move(channel));
    if (!config_.emitter_prefix.empty()) {
        queue_channel_op(nodes_.front(), ChannelOp::kUnsubscribe, emitter_room_channel(room, config_.emitter_prefix));
    }
}

void RedisBroker::queue_channel_op(Node& node, ChannelOp op, std::string channel) {
    // Sent at the end of this turn of the loop, so the channels asked for together share
    // commands; one queue per link keeps a subscribe and a later unsubscribe in order.
    if (node.channel_ops.empty()) {
        const auto index = static_cast<std::size_t>(&node - nodes_.data());
        asio::post(io_, [this, index, generation = generation_] {
            if (generation == generation_ && index < nodes_.size()) flush_channel_ops(nodes_[index]);
        });
    }
    node.channel_ops.push_back(QueuedOp{op, std::move(channel)});
}

void RedisBroker::flush_channel_ops(Node& node) {
    // At most subscribe_window replies outstanding per link, channels_per_command channels per
    // command: a resubscribe of 200,000 rooms neither floods Redis' input buffer nor leaves
    // replies waiting long enough to look like a dead link. Called again per confirmation.
    std::vector<std::string> channels;
    std::vector<std::string_view> args;
    while (!node.channel_ops.empty() && node.pubsub->pending() < config_.subscribe_window) {
        const ChannelOp op = node.channel_ops.front().op;
        const bool sharded = op == ChannelOp::kShardSubscribe || op == ChannelOp::kShardUnsubscribe;
        // A sharded command's channels must share a slot (else CROSSSLOT).
        const std::uint16_t slot = sharded ? redis::key_slot(node.channel_ops.front().channel) : 0;
        channels.clear();
        while (!node.channel_ops.empty() && node.channel_ops.front().op == op &&
               channels.size() < config_.channels_per_command &&
               (!sharded || redis::key_slot(node.channel_ops.front().channel) == slot)) {
            channels.push_back(std::move(node.channel_ops.front().channel));
            node.channel_ops.pop_front();
        }
        const bool subscribe = op == ChannelOp::kSubscribe || op == ChannelOp::kShardSubscribe;
        args.assign({command_name(sharded, subscribe)});
        args.insert(args.end(), channels.begin(), channels.end());
        node.pubsub->command(args, nullptr);
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

void RedisBroker::on_push(Node& node, const redis::Reply& reply) {
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        // A (S)SUBSCRIBE refused: -CLUSTERDOWN while a cluster comes back from an outage (its
        // nodes mark each other failed for up to twice cluster-node-timeout), -MOVED, -TRYAGAIN.
        // The error names no channel, and ignoring it would leave rooms unsubscribed on a link
        // that looks healthy: start over (reload the slot map, resubscribe, resync) with backoff.
        on_link_lost(generation_, fmt::format("{} refused a subscription: {}", redact(node.endpoint),
                                              redis::as_view(*reply)));
        return;
    }
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
    // A reply made room in the window.
    if (!node.channel_ops.empty()) flush_channel_ops(node);
}

void RedisBroker::on_shard_unsubscribed(std::string_view channel) {
    const auto room = room_of_channel(channel);
    if (!room) return;
    auto it = rooms_.find(std::string(*room));
    if (it == rooms_.end()) return;
    if (it->second.leaving > 0) {
        --it->second.leaving;  // ours
        if (it->second.leaving == 0 && it->second.awaiting == 0 && it->second.workers == 0) {
            room_gone(it->second);
            rooms_.erase(it);
        }
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
        if (it->second.leaving == 0) {  // left before the confirmation came
            room_gone(it->second);
            rooms_.erase(it);
        }
        return;
    }
    room_ready(it->first, it->second);
}

void RedisBroker::room_ready(const std::string& room, RoomState& state) {
    if (std::exchange(state.resync, false)) {
        resync_rooms_.push_back(room);
        if (resubscribing_ > 0 && --resubscribing_ == 0) resubscribe_done();
    }
    auto waiters = std::move(state.waiters);
    state.waiters.clear();
    for (auto& waiter : waiters) {
        if (waiter->done && --waiter->rooms_pending == 0) answer(waiter);
    }
}

void RedisBroker::room_gone(RoomState& state) {
    // Nobody left to resync in it: the round need not wait for it.
    if (!std::exchange(state.resync, false) || !connected_.load(std::memory_order_relaxed)) return;
    if (resubscribing_ > 0 && --resubscribing_ == 0) resubscribe_done();
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
    }
    // An event to several rooms arrives once per room channel this hub holds.
    if (recent_.insert(event->emit.seq, Seen{}, {}) == Inserted::kRenewed) return;
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

// ---------------------------------------------------------------------------------------------
// The delivery backlog

void RedisBroker::queue_for_delivery(hub::Emit emit) {
    // Every event read in one turn of the loop goes to the hub as one batch (one post per
    // worker, one write per client).
    if (incoming_.empty()) asio::post(io_, [this] { flush_deliveries(); });
    incoming_.push_back(std::move(emit));
}

void RedisBroker::flush_deliveries() {
    if (!incoming_.empty()) {
        backlog_events_ += incoming_.size();
        metrics::registry().broker_backlog.add(static_cast<std::int64_t>(incoming_.size()));
        backlog_.push_back(std::make_shared<const hub::EmitBatch>(std::move(incoming_)));
        incoming_.clear();
    }
    // The hub refuses a batch only when its workers are far behind: kept, in order, and
    // retried shortly. Past max_backlog the pub/sub links stop being read: what Redis sends
    // meanwhile waits in its output buffer for this client, whose limit (client-output-buffer-
    // limit pubsub) cuts the link off when the hub stays behind; then the reconnect resyncs.
    const auto retry = [this] {
        set_reading(backlog_events_ < config_.max_backlog);
        retry_timer_.expires_after(std::chrono::milliseconds(1));
        retry_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) flush_deliveries();
        });
    };
    while (!backlog_.empty()) {
        if (!hub_.deliver(backlog_.front())) {
            retry();
            return;
        }
        const auto size = backlog_.front()->size();
        backlog_events_ -= size;
        metrics::registry().broker_backlog.add(-static_cast<std::int64_t>(size));
        backlog_.pop_front();
    }
    if (pending_resync_) {
        if (!hub_.resync(pending_resync_)) {
            retry();
            return;
        }
        pending_resync_.reset();
    }
    set_reading(true);
}

void RedisBroker::set_reading(bool on) {
    // Hysteresis: paused at max_backlog, reading again once the backlog is drained.
    if (on == reading_ || (on && backlog_events_ > config_.max_backlog / 2)) return;
    reading_ = on;
    metrics::registry().broker_reading_paused.add(on ? -1 : 1);
    if (!on) {
        spdlog::warn("broker redis: {} events wait for the hub's workers; not reading Redis until they catch up",
                     backlog_events_);
    }
    for (auto& node : nodes_) {
        if (on) {
            node.pubsub->resume_reading();
        } else {
            node.pubsub->pause_reading();
        }
    }
}

}  // namespace nudge::broker
