#include "hub/hub.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <unordered_map>

#include "metrics/metrics.hpp"
#include "sio/packet.hpp"

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
    return *EncodedEmit(emit, 0).packet(Variant::kOffset);
}

void Hub::set_refetch_rate(std::uint32_t per_second) {
    refetch_rate_ = per_second;
    if (per_second == 0) return;
    for (auto& shard : shards_) shard->rooms.count_members();
}

std::uint32_t Hub::derived_window_ms(std::span<const std::string> rooms) const {
    if (refetch_rate_ == 0) return 0;
    std::uint64_t largest = 0;
    for (const std::string& room : rooms) {
        std::uint64_t members = 0;
        for (const auto& shard : shards_) members += shard->rooms.approximate_members(room);
        largest = std::max(largest, members);
    }
    // ceil(members / rate s) in ms: `rate` members refetch in the first second, and so on.
    const std::uint64_t ms = (largest * 1000 + refetch_rate_ - 1) / refetch_rate_;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(ms, kMaxSpreadMs));
}

std::shared_ptr<Hub::EncodedBatch> Hub::encode_batch(const EmitBatch& batch) const {
    auto encoded = std::make_shared<EncodedBatch>();
    encoded->reserve(batch.size());
    for (const Emit& emit : batch) {
        const std::uint32_t window = std::max(emit.spread_ms, derived_window_ms(emit.rooms));
        encoded->push_back(std::make_shared<const EncodedEmit>(emit, window));
    }
    return encoded;
}

bool Hub::deliver(const SharedBatch& batch, std::shared_ptr<const EncodedBatch> encoded) {
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
    if (!encoded) encoded = encode_batch(*batch);
    std::shared_ptr<const EncodedBatch> forms = std::move(encoded);
    for (Shard* shard : targets) {
        shard->hooks.post([this, shard, batch, forms] {
            deliver_on_shard(*shard, *batch, *forms);
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

void Hub::resync_on_shard(Shard& shard, const std::vector<std::string>& rooms) const {
    // Each session's rooms among `rooms`, in one pass over the rooms' members.
    std::unordered_map<Subscriber*, std::vector<const std::string*>> affected;
    for (const std::string& room : rooms) {
        shard.rooms.for_each_recipient(std::span<const std::string>(&room, 1), {},
                                       [&](Subscriber& s) { affected[&s].push_back(&room); });
    }
    std::vector<std::string> named;
    for (auto& [subscriber, names] : affected) {
        Emit emit;
        emit.event = "nudge:resync";
        emit.data_json = resync_data(names);
        std::uint32_t window = 0;
        if (subscriber->variant == Variant::kNudge && refetch_rate_ > 0) {
            // A resync after an outage is a refetch of every named room: spread it like one.
            named.clear();
            for (const std::string* name : names) named.push_back(*name);
            window = derived_window_ms(named);
        }
        auto packet = EncodedEmit(emit, window).packet(subscriber->variant);
        // Unnumbered (below kHold): kept for a session waiting for its CONNECT answer.
        if (subscriber->deliver_from == Subscriber::kHold) {
            subscriber->hold(Subscriber::kHold - 1, packet);
        } else {
            subscriber->deliver(packet);
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

void Hub::deliver_on_shard(Shard& shard, const EmitBatch& batch, const EncodedBatch& encoded) {
    std::size_t delivered = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const Emit& emit = batch[i];
        // Per form, made on its first recipient here: shards with nobody in the rooms copy
        // nothing, and the copy keeps the reference count of what this shard hands out local to
        // its core. The encoding itself happens once per form for the whole hub.
        std::array<Packet, static_cast<std::size_t>(Variant::kCount)> forms{};
        auto form = [&](Variant variant) -> const Packet& {
            Packet& packet = forms[static_cast<std::size_t>(variant)];
            if (!packet) packet = std::make_shared<const std::string>(*encoded[i]->packet(variant));
            return packet;
        };
        delivered += shard.rooms.for_each_recipient(emit.rooms, emit.except, [&](Subscriber& s) {
            if (emit.seq < s.deliver_from) {
                // Waiting for the broker's answer: kept for after it. Otherwise replayed from
                // history already.
                if (s.deliver_from == Subscriber::kHold) s.hold(emit.seq, form(s.variant));
                return;
            }
            s.deliver(form(s.variant));
        });
    }
    metrics::registry().deliveries.add(static_cast<std::int64_t>(delivered));
    if (shard.hooks.end_of_batch) shard.hooks.end_of_batch();
}

}  // namespace nudge::hub
