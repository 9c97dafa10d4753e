// Hub: fan-out of events to the clients of every worker thread.
//
// Each worker owns one Shard (its RoomIndex). deliver() may be called from any thread: it
// encodes each event into a complete WebSocket frame once, then posts the batch to every
// shard that may have a recipient (RoomIndex::may_have); on its own thread each shard copies
// the frame bytes once (so the shared_ptr's reference count is never contended across cores),
// hands that one buffer to every recipient, and finally calls end_of_batch so the worker can
// flush each touched connection with a single write (coalescing).
//
// The broker (local or Redis) sits in front of deliver(); per-room history for recovery can
// hook in there without touching the shards.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "hub/emit.hpp"
#include "hub/room_index.hpp"

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
    explicit Hub(std::vector<ShardHooks> hooks, std::size_t max_pending = 65536);

    [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }
    // Only from the shard's own thread.
    [[nodiscard]] RoomIndex& rooms(std::size_t shard) { return shards_[shard]->rooms; }

    // One complete WebSocket frame per emit of a batch, in the batch's order.
    using EncodedBatch = std::vector<std::string>;

    // Thread-safe. False when the hub is overloaded and the batch was not taken. `frames`, when
    // given, are the batch's frames already encoded (the broker encodes once for fan-out and
    // history alike); otherwise deliver() encodes them.
    [[nodiscard]] bool deliver(const SharedBatch& batch,
                               std::shared_ptr<const EncodedBatch> frames = nullptr);
    [[nodiscard]] std::size_t pending() const noexcept {
        return pending_.load(std::memory_order_relaxed);
    }

    // Encodes one event as it goes on the wire: a WebSocket text frame carrying the
    // Engine.IO message `42["event",data]`, or `42["event",data,"<offset>"]` when the emit has
    // an offset (Socket.IO's connection-state recovery: the client stores the last string
    // argument). With an offset and no data, data is `null`, so a handler's first argument is
    // never mistaken for the offset.
    [[nodiscard]] static std::string encode(const Emit& emit);

private:
    struct Shard {
        ShardHooks hooks;
        RoomIndex rooms;
    };
    static void deliver_on_shard(Shard& shard, const EmitBatch& batch, const EncodedBatch& frames);

    std::vector<std::unique_ptr<Shard>> shards_;
    std::size_t max_pending_;
    std::atomic<std::size_t> pending_{0};
};

}  // namespace nudge::hub
