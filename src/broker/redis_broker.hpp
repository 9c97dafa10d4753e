// RedisBroker: many hubs, one room space. Events published on any hub go through Redis to the
// hubs whose clients are in their rooms; history and positions live in Redis (redis_scripts.hpp).
//
// - Publish: one Lua script numbers the batch, checks idempotency ids, appends to the rooms'
//   history streams and (single Redis) PUBLISHes each event on its rooms' channels, atomically.
//   On a Redis Cluster the script runs on the node of the {nudge} slot and the hub then
//   SPUBLISHes each event on its rooms' sharded channels, on the nodes that own them.
// - Routing: a hub subscribes to nudge:r:<room> while one of its clients is in the room
//   (Hub presence listener), so a per-user emit wakes only the hub(s) of that user. Per-room
//   channels rather than hashed room shards: with many per-user rooms per hub, every shard
//   channel would be wanted by every hub and every emit would wake them all.
// - Each hub receives an event once per room channel it holds; it delivers it once (recent
//   positions are remembered) and encodes it once.
// - CONNECT: a session is answered once its rooms' subscriptions are confirmed (events after
//   its `connect` reach it); with recovery, also with what it missed (XRANGE of its rooms).
// - @socket.io/redis-emitter: its broadcast and request channels, and the per-room channel of
//   each room this hub holds, are subscribed too; its events are delivered live (they carry no
//   position: not in the history), its socketsJoin/Leave and disconnectSockets applied.
// - Failure: any link lost → every link is closed and reconnected with backoff; meanwhile the
//   API answers 503 broker_unavailable. Once back, every room of this hub is subscribed again,
//   many channels per (S)SUBSCRIBE with a bounded window of replies outstanding, and the
//   backoff is kept until that is done (a Redis that drops the links under the load does not
//   get them back at once). When every room is confirmed, each session gets ONE nudge:resync
//   naming its rooms (Hub::resync): events may have been missed.
// - Bounds: the delivery backlog (batches the hub's workers could not take yet) past
//   max_backlog events stops reading the pub/sub links — Redis' client-output-buffer limit then
//   bounds what waits, and cutting the link off ends in the resync path; commands in flight
//   past max_commands_in_flight answer the publish API 503 overloaded.
//
// Files: redis_broker.cpp (construction, publish and membership), redis_links.cpp (links,
// reconnect, backoff), redis_subscriptions.cpp (channels, confirmations, events in, the
// delivery backlog), redis_recovery.cpp (CONNECT answers, history replay, resync).
// The links come from a redis::LinkFactory: TCP in the hub, an in-memory stream in tests.
//
// Threading: all Redis I/O and state live on one of the hub's event loops (worker 0's): every
// link on it, no thread per connection; publish/apply/recover/on_presence post to it and
// answer from it. Not a thread of its own: a publish or an event from Redis would then cross
// threads twice more (measured in docs/ARCHITECTURE.md: ~30 % more hub CPU per targeted event).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/broker.hpp"
#include "broker/history.hpp"
#include "common/bounded_map.hpp"
#include "hub/hub.hpp"
#include "redis/link.hpp"
#include "redis/url.hpp"

namespace nudge::broker {

struct RedisBrokerConfig {
    redis::Endpoint endpoint;
    bool recovery = false;
    HistoryConfig history;
    std::chrono::milliseconds idempotency_window{300000};
    std::chrono::milliseconds timeout{2000};  // connect timeout, and silence that ends a link
    // Key prefix of @socket.io/redis-emitter publishers to deliver (its `key` option); empty:
    // their channels are not listened to.
    std::string emitter_prefix = "socket.io";
    // Events received from Redis and not yet taken by the hub's workers; past it the pub/sub
    // links stop being read until the backlog is half drained.
    std::size_t max_backlog = 65536;
    // Commands sent on the command links and not answered; past it publish and membership
    // requests answer kOverloaded (HTTP 503 overloaded, Retry-After).
    std::size_t max_commands_in_flight = 10000;
    // Channels per SUBSCRIBE/SSUBSCRIBE command, and (un)subscribe replies outstanding at most
    // per pub/sub link: re-subscribing 200,000 rooms is ~200 commands, a few in flight at once.
    std::size_t channels_per_command = 1000;
    std::size_t subscribe_window = 8000;
};

class RedisBroker final : public Broker {
public:
    // `io`: the event loop the broker lives on (a worker's; it must outlive the broker).
    // `links`: makes its Redis connections; empty: TCP connections on `io`.
    RedisBroker(hub::Hub& hub, boost::asio::io_context& io, RedisBrokerConfig config,
                redis::LinkFactory links = {});
    ~RedisBroker() override;
    RedisBroker(const RedisBroker&) = delete;
    RedisBroker& operator=(const RedisBroker&) = delete;

    // Connects, on the loop (in the background: the hub serves meanwhile).
    void start();
    // Closes every link. Call once the loop has stopped (after Server::run). Idempotent.
    void stop();

    void publish(hub::EmitBatch batch, std::function<void(PublishOutcome)> done) override;
    void apply(hub::SharedRoomOp op, std::function<void(PublishResult)> done) override;
    void recover(RecoveryRequest request, std::function<void(Recovery)> done) override;
    [[nodiscard]] Health health() const override {
        return {"redis", connected_.load(std::memory_order_relaxed)};
    }
    // The hub's presence listener: a worker's first member of `room` joined (true) or its
    // last left (false). Any thread.
    void on_presence(std::string_view room, bool present);

    // For tests and metrics, on the broker's loop: events waiting for the hub's workers, and
    // rooms still to be confirmed after a reconnect.
    [[nodiscard]] std::size_t backlog() const noexcept { return backlog_events_; }
    [[nodiscard]] std::size_t resubscribing() const noexcept { return resubscribing_; }

private:
    using LinkPtr = redis::LinkPtr;
    // A channel operation waiting for room in its link's window, in the order it was asked.
    enum class ChannelOp { kSubscribe, kUnsubscribe, kShardSubscribe, kShardUnsubscribe };
    struct QueuedOp {
        ChannelOp op;
        std::string channel;
    };
    struct Node {
        redis::Endpoint endpoint;
        LinkPtr commands;
        LinkPtr pubsub;
        std::deque<QueuedOp> channel_ops;  // sent by flush_channel_ops, window permitting
    };
    struct Waiter {
        RecoveryRequest request;
        std::function<void(Recovery)> done;
        std::size_t rooms_pending = 0;
    };
    struct RoomState {
        std::uint32_t workers = 0;   // workers with a member of the room
        std::uint32_t awaiting = 0;  // subscribe confirmations not received yet
        std::uint32_t leaving = 0;   // our SUNSUBSCRIBEs not confirmed yet (cluster)
        bool resync = false;         // part of the resync once subscribed (links came back)
        std::vector<std::shared_ptr<Waiter>> waiters;
    };

    // Links (redis_links.cpp).
    void connect_links();
    void on_seed_connected(const LinkPtr& seed);
    void open_nodes(std::vector<redis::Endpoint> endpoints);
    void on_links_up();
    void on_link_lost(std::uint64_t generation, const std::string& reason);
    void schedule_reconnect();
    void watch_links();
    [[nodiscard]] LinkPtr make_link(const redis::Endpoint& endpoint, redis::Mode mode);
    [[nodiscard]] Node& node_for_channel(std::string_view channel);
    [[nodiscard]] Node& ordering_node();
    [[nodiscard]] std::size_t commands_in_flight() const;

    // Subscriptions (redis_subscriptions.cpp).
    void subscribe_room(std::string_view room, RoomState& state);
    void unsubscribe_room(std::string_view room);
    void queue_channel_op(Node& node, ChannelOp op, std::string channel);
    void flush_channel_ops(Node& node);
    void on_push(Node& node, const redis::Reply& reply);
    void on_confirmed(std::string_view channel);
    void on_shard_unsubscribed(std::string_view channel);
    void room_ready(const std::string& room, RoomState& state);
    void room_gone(RoomState& state);
    [[nodiscard]] std::optional<std::string_view> room_of_channel(std::string_view channel) const;

    // Events in (redis_subscriptions.cpp).
    void on_event_message(std::string_view message);
    void on_ops_message(std::string_view message);
    void on_emitter_message(std::string_view channel, std::string_view payload);
    // A room operation from Redis, on this hub's workers.
    void apply_locally(hub::RoomOp op);
    [[nodiscard]] std::vector<std::string> local_rooms() const;
    void queue_for_delivery(hub::Emit emit);
    void flush_deliveries();
    void set_reading(bool on);

    // A Lua script, sent by its SHA-1 (EVALSHA) and by its text when Redis does not know it.
    struct Script {
        explicit Script(std::string source);
        std::string text;
        std::string sha;
    };
    // Runs `script` on the ordering node; `args` start with the key count.
    void run_script(const Script& script, std::vector<std::string> args, std::function<void(redis::Reply)> done);
    void spublish(const hub::EmitBatch& batch, const std::vector<std::string>& bodies, std::uint64_t ms,
                  PublishOutcome outcome, std::function<void(PublishOutcome)> done);

    // Recovery and resync (redis_recovery.cpp).
    void answer(const std::shared_ptr<Waiter>& waiter);
    void answer_offline(const std::shared_ptr<Waiter>& waiter);
    [[nodiscard]] Recovery recovery_from(const RecoveryRequest& request, const redis::Reply& reply) const;
    void resubscribe_done();

    hub::Hub& hub_;
    RedisBrokerConfig config_;
    const Script publish_script_;
    const Script recover_script_;
    boost::asio::io_context& io_;
    redis::LinkFactory make_link_;
    std::atomic<bool> connected_{false};
    bool stopped_ = false;

    std::uint64_t generation_ = 0;  // bumped per connect attempt; stale callbacks ignore
    bool cluster_ = false;
    bool ever_connected_ = false;
    std::vector<Node> nodes_;
    std::vector<std::uint16_t> slot_owner_;  // cluster: slot → index in nodes_
    std::size_t ordering_node_ = 0;
    std::size_t links_pending_ = 0;
    std::chrono::milliseconds backoff_{0};
    boost::asio::steady_timer reconnect_timer_;
    boost::asio::steady_timer watch_timer_;
    boost::asio::steady_timer retry_timer_;

    std::unordered_map<std::string, RoomState> rooms_;
    std::size_t resubscribing_ = 0;           // rooms with resync set, not confirmed yet
    std::vector<std::string> resync_rooms_;   // confirmed rooms of this round, for Hub::resync

    std::string epoch_;  // of the last event received
    struct Seen {};
    BoundedMap<std::uint64_t, Seen> recent_;  // positions delivered lately, oldest forgotten
    hub::EmitBatch incoming_;  // events received in this turn of the loop
    // Batches the hub refused (its workers are behind): retried in order; bounded through
    // max_backlog by pausing the pub/sub links.
    std::deque<hub::SharedBatch> backlog_;
    std::size_t backlog_events_ = 0;
    bool reading_ = true;
    std::shared_ptr<const std::vector<std::string>> pending_resync_;  // refused by the hub: retried
    std::int64_t reported_lag_us_ = 0;
};

}  // namespace nudge::broker
