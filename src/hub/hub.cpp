#include "hub/hub.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <unordered_map>

#include "metrics/metrics.hpp"
#include "sio/packet.hpp"
#include "ws/frame_writer.hpp"

namespace nudge::hub {

std::string_view to_string(RoomOpKind kind) noexcept {
    switch (kind) {
        case RoomOpKind::kJoin: return "join";
        case RoomOpKind::kLeave: return "leave";
        case RoomOpKind::kDisconnect: return "disconnect";
        case RoomOpKind::kCount: break;
    }
    return "unknown";
}

Hub::Hub(std::vector<ShardHooks> hooks, std::size_t max_pending, std::chrono::seconds grants_ttl,
         std::size_t max_grants, std::size_t max_grants_per_room)
    : max_pending_(max_pending), grants_(grants_ttl, max_grants, max_grants_per_room) {
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
    // A join posted before this batch may add recipients the presence filters do not show
    // yet; the shard queues are FIFO, so posting everywhere keeps "joined, then published".
    const bool join_pending = joins_in_flight_.load(std::memory_order_acquire) != 0;
    for (auto& shard : shards_) {
        const bool any = join_pending || std::any_of(batch->begin(), batch->end(), [&](const Emit& emit) {
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

bool Hub::apply(const SharedRoomOp& op) {
    if (!op || op->rooms.empty()) return true;
    std::vector<Shard*> targets;
    for (auto& shard : shards_) {
        const bool any = std::any_of(op->rooms.begin(), op->rooms.end(), [&](const std::string& room) {
            return shard->rooms.may_have(room);
        });
        if (any) targets.push_back(shard.get());
    }
    if (pending_.load(std::memory_order_relaxed) + targets.size() > max_pending_) return false;
    // Grants first: a socket connecting while the join is in flight either finds the grant at
    // its CONNECT or is already in a selected room when the join runs on its shard.
    switch (op->kind) {
        case RoomOpKind::kJoin: grants_.add(op->rooms, op->targets, Grants::Clock::now()); break;
        case RoomOpKind::kLeave: grants_.remove(op->rooms, op->targets); break;
        case RoomOpKind::kDisconnect: grants_.clear(op->rooms); break;
        case RoomOpKind::kCount: break;
    }
    if (targets.empty()) return true;
    const bool join = op->kind == RoomOpKind::kJoin;
    pending_.fetch_add(targets.size(), std::memory_order_relaxed);
    if (join) joins_in_flight_.fetch_add(targets.size(), std::memory_order_acq_rel);
    for (Shard* shard : targets) {
        shard->hooks.post([this, shard, op, join] {
            apply_on_shard(*shard, *op);
            pending_.fetch_sub(1, std::memory_order_relaxed);
            // Release: a publisher that sees the count drop also sees the new presence bits.
            if (join) joins_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
        });
    }
    return true;
}

namespace {

// {"rooms":[...]}, or {} (the client resyncs everything) past Hub::kMaxResyncRooms.
std::string resync_data(const std::vector<const std::string*>& names) {
    if (names.size() > Hub::kMaxResyncRooms) return "{}";
    boost::json::array list;
    list.reserve(names.size());
    for (const std::string* name : names) list.emplace_back(*name);
    return boost::json::serialize(boost::json::object{{"rooms", std::move(list)}});
}

}  // namespace

bool Hub::resync(const std::shared_ptr<const std::vector<std::string>>& rooms) {
    if (!rooms || rooms->empty()) return true;
    if (pending_.load(std::memory_order_relaxed) + shards_.size() > max_pending_) return false;
    pending_.fetch_add(shards_.size(), std::memory_order_relaxed);
    for (auto& shard : shards_) {
        shard->hooks.post([this, shard = shard.get(), rooms] {
            resync_on_shard(*shard, *rooms);
            pending_.fetch_sub(1, std::memory_order_relaxed);
        });
    }
    return true;
}

void Hub::resync_on_shard(Shard& shard, const std::vector<std::string>& rooms) {
    // Each session's rooms among `rooms`, in one pass over the rooms' members.
    std::unordered_map<Subscriber*, std::vector<const std::string*>> affected;
    for (const std::string& room : rooms) {
        shard.rooms.for_each_recipient(std::span<const std::string>(&room, 1), {},
                                       [&](Subscriber& s) { affected[&s].push_back(&room); });
    }
    for (auto& [subscriber, names] : affected) {
        Emit emit;
        emit.event = "nudge:resync";
        emit.data_json = resync_data(names);
        auto frame = std::make_shared<const std::string>(encode(emit));
        // Unnumbered (below kHold): kept for a session waiting for its CONNECT answer.
        if (subscriber->deliver_from == Subscriber::kHold) {
            subscriber->hold(Subscriber::kHold - 1, frame);
        } else {
            subscriber->deliver(frame);
        }
    }
    metrics::registry().deliveries.add(static_cast<std::int64_t>(affected.size()));
    if (shard.hooks.end_of_batch) shard.hooks.end_of_batch();
}

void Hub::apply_on_shard(Shard& shard, const RoomOp& op) {
    // Collect first: joining, leaving and closing change the rooms being iterated.
    shard.selected.clear();
    shard.rooms.for_each_recipient(op.rooms, op.except,
                                   [&](Subscriber& s) { shard.selected.push_back(&s); });
    for (Subscriber* s : shard.selected) {
        switch (op.kind) {
            case RoomOpKind::kJoin:
                for (const auto& room : op.targets) shard.rooms.join(room, s);
                break;
            case RoomOpKind::kLeave:
                for (const auto& room : op.targets) shard.rooms.leave(room, s);
                break;
            case RoomOpKind::kDisconnect:
                s->disconnect();
                break;
            case RoomOpKind::kCount:
                break;
        }
    }
    metrics::registry().room_op_sockets[op.kind].add(static_cast<std::int64_t>(shard.selected.size()));
    shard.selected.clear();
    if (shard.hooks.end_of_batch) shard.hooks.end_of_batch();
}

void Hub::deliver_on_shard(Shard& shard, const EmitBatch& batch, const EncodedBatch& frames) {
    std::size_t delivered = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const Emit& emit = batch[i];
        Frame frame;  // made on first recipient: shards with nobody in the rooms copy nothing
        delivered += shard.rooms.for_each_recipient(emit.rooms, emit.except, [&](Subscriber& s) {
            if (emit.seq < s.deliver_from) {
                // Waiting for the broker's answer: kept for after it. Otherwise replayed from
                // history already.
                if (s.deliver_from == Subscriber::kHold) {
                    if (!frame) frame = std::make_shared<const std::string>(frames[i]);
                    s.hold(emit.seq, frame);
                }
                return;
            }
            if (!frame) frame = std::make_shared<const std::string>(frames[i]);
            s.deliver(frame);
        });
    }
    metrics::registry().deliveries.add(static_cast<std::int64_t>(delivered));
    if (shard.hooks.end_of_batch) shard.hooks.end_of_batch();
}

}  // namespace nudge::hub
