#include "hub/hub.hpp"

#include <algorithm>

#include "metrics/metrics.hpp"
#include "sio/packet.hpp"
#include "ws/frame_writer.hpp"

namespace nudge::hub {

Hub::Hub(std::vector<ShardHooks> hooks, std::size_t max_pending) : max_pending_(max_pending) {
    shards_.reserve(hooks.size());
    for (auto& h : hooks) {
        shards_.push_back(std::make_unique<Shard>());
        shards_.back()->hooks = std::move(h);
    }
}

std::string Hub::encode(const Emit& emit) {
    if (emit.offset.empty()) {
        return ws::encode_frame(ws::Opcode::kText, sio::encode_event("/", emit.event, emit.data_json));
    }
    return ws::encode_frame(ws::Opcode::kText,
                            sio::encode_event("/", emit.event,
                                              emit.data_json.empty() ? "null" : emit.data_json,
                                              emit.offset));
}

bool Hub::deliver(const SharedBatch& batch, std::shared_ptr<const EncodedBatch> frames) {
    if (!batch || batch->empty()) return true;
    // Only the shards that may have a recipient get the batch: a per-user event wakes one
    // worker, not all of them.
    std::vector<Shard*> targets;
    for (auto& shard : shards_) {
        const bool any = std::any_of(batch->begin(), batch->end(), [&](const Emit& emit) {
            return std::any_of(emit.rooms.begin(), emit.rooms.end(),
                               [&](const std::string& room) { return shard->rooms.may_have(room); });
        });
        if (any) targets.push_back(shard.get());
    }
    if (targets.empty()) return true;
    // A soft bound: concurrent publishers may overshoot it by a few batches, never more.
    if (pending_.load(std::memory_order_relaxed) + targets.size() > max_pending_) return false;
    pending_.fetch_add(targets.size(), std::memory_order_relaxed);
    if (!frames) {
        auto encoded = std::make_shared<EncodedBatch>();
        encoded->reserve(batch->size());
        for (const Emit& emit : *batch) encoded->push_back(encode(emit));
        frames = std::move(encoded);
    }
    std::shared_ptr<const EncodedBatch> shared_frames = std::move(frames);
    for (Shard* shard : targets) {
        shard->hooks.post([this, shard, batch, shared_frames] {
            deliver_on_shard(*shard, *batch, *shared_frames);
            pending_.fetch_sub(1, std::memory_order_relaxed);
        });
    }
    return true;
}

void Hub::deliver_on_shard(Shard& shard, const EmitBatch& batch, const EncodedBatch& frames) {
    std::size_t delivered = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const Emit& emit = batch[i];
        Frame frame;  // made on first recipient: shards with nobody in the rooms copy nothing
        delivered += shard.rooms.for_each_recipient(emit.rooms, emit.except, [&](Subscriber& s) {
            if (emit.seq < s.deliver_from) return;  // replayed from history already
            if (!frame) frame = std::make_shared<const std::string>(frames[i]);
            s.deliver(frame);
        });
    }
    metrics::registry().deliveries.add(static_cast<std::int64_t>(delivered));
    if (shard.hooks.end_of_batch) shard.hooks.end_of_batch();
}

}  // namespace nudge::hub
