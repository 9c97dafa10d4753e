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
//   API answers 503 broker_unavailable; once back, every room of this hub gets nudge:resync
//   (events may have been missed), after its subscription is confirmed.
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
#include <unordered_set>
#include <vector>

#include "broker/broker.hpp"
#include "broker/history.hpp"
#include "hub/hub.hpp"
#include "redis/connection.hpp"
#include "redis/url.hpp"

namespace nudge::broker {

struct RedisBrokerConfig {
    redis::Endpoint endpoint;
    bool recovery = false;
    HistoryConfig history;
    std::chrono::milliseconds idempotency_window{300000};
    std::chrono::milliseconds timeout{2000};  // connect and command timeout of every link
    // Key prefix of @socket.io/redis-emitter publishers to deliver (its `key` option); empty:
    // their channels are not listened to.
    std::string emitter_prefix = "socket.io";
};

class RedisBroker final : public Broker {
public:
    // `io`: the event loop the broker lives on (a worker's; it must outlive the broker).
    RedisBroker(hub::Hub& hub, boost::asio::io_context& io, RedisBrokerConfig config);
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

private:
    using Connection = redis::Connection;
    using ConnectionPtr = std::shared_ptr<Connection>;
    struct Node {
        redis::Endpoint endpoint;
        ConnectionPtr commands;
        ConnectionPtr pubsub;
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
        bool resync = false;         // send nudge:resync once subscribed (links came back)
        std::vector<std::shared_ptr<Waiter>> waiters;
    };

    // Links.
    void connect_links();
    void on_seed_connected(const ConnectionPtr& seed);
    void open_nodes(std::vector<redis::Endpoint> endpoints);
    void on_links_up();
    void on_link_lost(std::uint64_t generation, const std::string& reason);
    void schedule_reconnect();
    void watch_links();
    [[nodiscard]] ConnectionPtr make_connection(const redis::Endpoint& endpoint, redis::Mode mode);
    [[nodiscard]] Node& node_for_channel(std::string_view channel);
    [[nodiscard]] Node& ordering_node();

    // Subscriptions.
    void subscribe_room(std::string_view room, RoomState& state);
    void unsubscribe_room(std::string_view room);
    void on_push(const redis::Reply& reply);
    void on_confirmed(std::string_view channel);
    void on_shard_unsubscribed(std::string_view channel);
    void room_ready(const std::string& room, RoomState& state);
    [[nodiscard]] std::optional<std::string_view> room_of_channel(std::string_view channel) const;

    // Events in.
    void on_event_message(std::string_view message);
    void on_ops_message(std::string_view message);
    void on_emitter_message(std::string_view channel, std::string_view payload);
    // A room operation from Redis, on this hub's workers.
    void apply_locally(hub::RoomOp op);
    [[nodiscard]] std::vector<std::string> local_rooms() const;
    void queue_for_delivery(hub::Emit emit);
    void flush_deliveries();
    void resync_room(const std::string& room);

    // A Lua script, sent by its SHA-1 (EVALSHA) and by its text when Redis does not know it.
    struct Script {
        explicit Script(std::string source);
        std::string text;
        std::string sha;
    };
    // Runs `script` on the ordering node; `args` start with the key count.
    void run_script(const Script& script, std::vector<std::string> args, std::function<void(redis::Reply)> done);

    // Recovery.
    void answer(const std::shared_ptr<Waiter>& waiter);
    void answer_offline(const std::shared_ptr<Waiter>& waiter);
    [[nodiscard]] Recovery recovery_from(const RecoveryRequest& request, const redis::Reply& reply) const;

    hub::Hub& hub_;
    RedisBrokerConfig config_;
    const Script publish_script_;
    const Script recover_script_;
    boost::asio::io_context& io_;
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

    std::string epoch_;  // of the last event received
    std::unordered_set<std::uint64_t> recent_;
    std::deque<std::uint64_t> recent_order_;
    hub::EmitBatch incoming_;  // events received in this turn of the loop
    std::deque<hub::SharedBatch> backlog_;  // batches the hub refused (overloaded): retried
    std::int64_t reported_lag_us_ = 0;
};

}  // namespace nudge::broker
