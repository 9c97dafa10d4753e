// Hub: fan-out of events to the clients of every worker thread.
//
// Each worker owns one Shard (its RoomIndex). deliver() may be called from any thread: it
// encodes each event into a complete WebSocket frame once, then posts the batch to every
// shard; on its own thread each shard copies the frame bytes once (so the shared_ptr's
// reference count is never contended across cores), hands that one buffer to every
// recipient, and finally calls end_of_batch so the worker can flush each touched connection
// with a single write (coalescing).
//
// The broker (local or Redis) sits in front of deliver(); per-room history for recovery can
// hook in there without touching the shards.
#pragma once

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

    explicit Hub(std::vector<ShardHooks> hooks);

    [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }
    // Only from the shard's own thread.
    [[nodiscard]] RoomIndex& rooms(std::size_t shard) { return shards_[shard]->rooms; }

    // Thread-safe.
    void deliver(const SharedBatch& batch);

    // Encodes one event as it goes on the wire: a WebSocket text frame carrying the
    // Engine.IO message `42["event",data]`.
    [[nodiscard]] static std::string encode(const Emit& emit);

private:
    struct Shard {
        ShardHooks hooks;
        RoomIndex rooms;
    };
    using EncodedBatch = std::vector<std::string>;

    static void deliver_on_shard(Shard& shard, const EmitBatch& batch, const EncodedBatch& frames);

    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace nudge::hub
