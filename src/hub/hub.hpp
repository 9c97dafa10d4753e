// Hub: fan-out of events to the clients of every worker thread.
//
// Each worker owns one Shard (its RoomIndex). deliver() may be called from any thread: it
// encodes each event into its Engine.IO packet text once (per form, hub/encoded_emit.hpp),
// then posts the batch to every shard that may have a recipient (RoomIndex::may_have); on its
// own thread each shard copies the packet bytes once (so the shared_ptr's reference count is
// never contended across cores), hands that one buffer to every recipient, and finally calls
// end_of_batch so the worker can flush each touched connection with a single write
// (coalescing). The hub knows no transport: framing is the transports' (net/).
//
// The broker (local or Redis) sits in front of deliver(); per-room history for recovery can
// hook in there without touching the shards.
//
// Membership from the API (apply(RoomOp)): posted like a batch to every shard that may have
// a selected socket; each shard collects the selected sockets, then joins, leaves or
// disconnects them. Ordering: an event published after apply() returned reaches the sockets
// a join added. A join's target room is not yet in any shard's presence filter when apply()
// returns, so while a join is in flight deliver() posts to every shard; each shard's queue
// is FIFO, so the join runs there before the event. With a grants TTL the hub also remembers
// joins (Grants) and re-applies them to sockets that connect later.
#pragma once

#include <atomic>
#include <chrono>
#include <span>
#include <string>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "hub/emit.hpp"
#include "hub/encoded_emit.hpp"
#include "hub/grants.hpp"
#include "hub/room_index.hpp"
#include "hub/room_op.hpp"

namespace nudge::hub {

class Hub {
public:
    using Task = std::function<void()>;

    struct ShardHooks {
        std::function<void(Task)> post;     // run a task on the shard's thread
        std::function<void()> end_of_batch;  // on the shard's thread, after a batch
    };

    // At most `max_pending` shard tasks (a batch posted to one shard) may wait at once; past
    // that, deliver() refuses new batches so a publisher that outruns fan-out is pushed back
    // (HTTP 503) instead of growing the workers' queues without bound.
    // `grants_ttl` 0: backend-granted rooms are not remembered for reconnects.
    explicit Hub(std::vector<ShardHooks> hooks, std::size_t max_pending = 65536,
                 std::chrono::seconds grants_ttl = std::chrono::seconds(0),
                 std::size_t max_grants = 1000000,
                 std::size_t max_grants_per_room = Grants::kDefaultMaxPerSelector);

    [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }
    // Only from the shard's own thread.
    [[nodiscard]] RoomIndex& rooms(std::size_t shard) { return shards_[shard]->rooms; }
    // Before the workers start: `listener` hears, on each shard's thread, when that shard's
    // first member of a room joins and when its last leaves (RoomIndex::set_presence_listener).
    void set_presence_listener(const RoomIndex::PresenceListener& listener) {
        for (auto& shard : shards_) shard->rooms.set_presence_listener(listener);
    }
    // The same, before the workers start (or once they stopped): every join and leave of a
    // session that recovers (RoomIndex::set_recovering_listener).
    void set_recovering_listener(const RoomIndex::RecoveringListener& listener) {
        for (auto& shard : shards_) shard->rooms.set_recovering_listener(listener);
    }

    // The wire forms of each emit of a batch, in the batch's order, each encoded once on first
    // use (by whichever shard or replay needs it first).
    using EncodedBatch = std::vector<std::shared_ptr<const EncodedEmit>>;

    // --refetch-rate: requests per second the origin can take for one key; 0 (the default)
    // derives no spread window. Before the workers start.
    void set_refetch_rate(std::uint32_t per_second);
    // Thread-safe. The spread window the hub derives for an event to `rooms`: the largest
    // ceil(members / rate × 1000) ms over the rooms, capped at kMaxSpreadMs; 0 without a rate.
    // Members are this hub's (summed over the shards, an upper bound: RoomIndex::
    // approximate_members); with the Redis broker every hub derives its own window.
    [[nodiscard]] std::uint32_t derived_window_ms(std::span<const std::string> rooms) const;
    // Thread-safe. Each emit's forms, with its window: its own spread or the derived one,
    // whichever is larger.
    [[nodiscard]] std::shared_ptr<EncodedBatch> encode_batch(const EmitBatch& batch) const;

    // Thread-safe. False when the hub is overloaded and the batch was not taken. `encoded`,
    // when given, are the batch's forms from encode_batch() (the broker encodes once for
    // fan-out and history alike); otherwise deliver() makes them.
    [[nodiscard]] bool deliver(const SharedBatch& batch,
                               std::shared_ptr<const EncodedBatch> encoded = nullptr);
    // Thread-safe. Joins, leaves or disconnects the sockets `op` selects, on every shard.
    // False when the hub is overloaded and the operation was not taken.
    [[nodiscard]] bool apply(const SharedRoomOp& op);
    // Thread-safe. Tells the sessions in any of `rooms` that they may have missed events (the
    // broker lost its link): each gets ONE `nudge:resync` naming its rooms among them,
    // {"rooms":[...]} (more than kMaxResyncRooms: {} — everything), whatever the number of its
    // rooms. Not numbered: also delivered to a session holding for its CONNECT answer.
    // False when the hub is overloaded and nothing was sent.
    static constexpr std::size_t kMaxResyncRooms = 10000;
    [[nodiscard]] bool resync(const std::shared_ptr<const std::vector<std::string>>& rooms);
    // Thread-safe. The rooms granted by earlier joins to sockets in any of `rooms` (a socket
    // that just connected with those rooms joins them too); empty without a grants TTL.
    [[nodiscard]] std::vector<std::string> granted_rooms(std::span<const std::string> rooms) const {
        return grants_.rooms_for(rooms, Grants::Clock::now());
    }
    [[nodiscard]] const Grants& grants() const noexcept { return grants_; }
    [[nodiscard]] std::size_t pending() const noexcept {
        return pending_.load(std::memory_order_relaxed);
    }

    // Encodes one event as a transport sends it: the Engine.IO message `42["event",data]`, or
    // `42["event",data,"<offset>"]` when the emit has an offset (Socket.IO's connection-state
    // recovery: the client stores the last string argument). With an offset and no data, data
    // is `null`, so a handler's first argument is never mistaken for the offset. The kOffset
    // form of EncodedEmit.
    [[nodiscard]] static std::string encode(const Emit& emit);

private:
    struct Shard {
        ShardHooks hooks;
        RoomIndex rooms;
        std::vector<Subscriber*> selected;  // scratch for apply_on_shard
    };
    static void deliver_on_shard(Shard& shard, const EmitBatch& batch, const EncodedBatch& encoded);
    static void apply_on_shard(Shard& shard, const RoomOp& op);
    void resync_on_shard(Shard& shard, const std::vector<std::string>& rooms) const;

    std::vector<std::unique_ptr<Shard>> shards_;
    std::size_t max_pending_;
    std::atomic<std::size_t> pending_{0};
    // Shard tasks of joins not yet run; while non-zero, deliver() skips the presence filter.
    std::atomic<std::size_t> joins_in_flight_{0};
    Grants grants_;
    std::uint32_t refetch_rate_ = 0;
};

}  // namespace nudge::hub
