#include "broker/local_broker.hpp"

#include <memory>
#include <utility>

#include "common/unix_time.hpp"
#include "metrics/metrics.hpp"

namespace nudge::broker {

LocalBroker::LocalBroker(hub::Hub& hub, LocalBrokerConfig config, std::optional<SavedState> restored)
    : hub_(hub),
      config_(std::move(config)),
      epoch_(restored ? restored->epoch : random_epoch()),
      history_(config_.history),
      ids_(config_.idempotency_window, config_.idempotency_max_entries) {
    if (restored) restore(*restored);
    if (config_.recovery) {
        // A session that can recover joins or leaves a room: the history records that room
        // while it has such a session, and for `ttl` after (broker/history.hpp).
        hub_.set_recovering_listener([this](std::string_view room, bool joined) {
            const std::lock_guard lock(mutex_);
            if (joined) {
                history_.watch(room);
            } else {
                history_.unwatch(room, Clock::now());
            }
        });
    }
}

LocalBroker::~LocalBroker() {
    if (config_.recovery) hub_.set_recovering_listener({});
}

void LocalBroker::restore(const SavedState& state) {
    const std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    seq_ = state.seq;
    ids_.restore(state, now);
    if (config_.recovery) {
        history_.restore_trims(state, now);
        for (const auto& saved : state.events) {
            // Encoded again by the publish path's own type, with the window it was sent with,
            // so a replay after the restart is byte for byte what a live client got before it.
            hub::Emit emit;
            emit.rooms = saved.rooms;
            emit.except = saved.except;
            emit.event = saved.event;
            emit.data_json = saved.data_json;
            emit.version = saved.version;
            emit.spread_ms = saved.spread_ms;
            emit.seq = saved.seq;
            emit.offset = format_offset(epoch_, saved.seq);
            // Taken when it was published, not when the state file was read back.
            auto encoded = std::make_shared<const hub::EncodedEmit>(
                emit, saved.spread_ms, unix_now_ms() - saved.age.count());
            for (const auto& room : emit.rooms) history_.keep(room, now);
            history_.append(saved.seq, now - saved.age, encoded, emit.rooms, emit.except);
        }
        history_.expire(now);
    }
    update_gauges();
}

SavedState LocalBroker::save() {
    const std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    SavedState state;
    state.epoch = epoch_;
    state.seq = seq_;
    history_.expire(now);
    history_.save(now, state);
    ids_.save(now, state);
    return state;
}

void LocalBroker::update_gauges() {
    auto& registry = metrics::registry();
    const auto events = static_cast<std::int64_t>(history_.events());
    const auto bytes = static_cast<std::int64_t>(history_.bytes());
    const auto ids = static_cast<std::int64_t>(ids_.size());
    registry.history_events.add(events - std::exchange(reported_events_, events));
    registry.history_bytes.add(bytes - std::exchange(reported_bytes_, bytes));
    registry.idempotency_entries.add(ids - std::exchange(reported_ids_, ids));
}

PublishOutcome LocalBroker::publish(hub::EmitBatch batch) {
    PublishOutcome outcome;
    outcome.epoch = epoch_;
    outcome.events.reserve(batch.size());
    const std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    // Numbered tentatively: nothing is committed until the hub has taken the batch.
    std::uint64_t seq = seq_;
    hub::EmitBatch fresh;
    fresh.reserve(batch.size());
    std::int64_t duplicates = 0;
    for (auto& emit : batch) {
        std::optional<std::uint64_t> earlier;
        if (!emit.id.empty()) {
            earlier = ids_.find(emit.id, now);
            // The same id twice in one batch: the second is a duplicate of the first.
            if (!earlier) {
                for (const auto& taken : fresh) {
                    if (taken.id == emit.id) earlier = taken.seq;
                }
            }
        }
        if (earlier) {
            outcome.events.push_back(Published{*earlier, true});
            ++duplicates;
            continue;
        }
        emit.seq = ++seq;
        if (config_.recovery) emit.offset = format_offset(epoch_, emit.seq);
        outcome.events.push_back(Published{emit.seq, false});
        fresh.push_back(std::move(emit));
    }
    if (!fresh.empty()) {
        // Each event's forms are encoded on first use, once for fan-out and history alike.
        std::shared_ptr<const hub::Hub::EncodedBatch> encoded = hub_.encode_batch(fresh);
        auto shared = std::make_shared<hub::EmitBatch>(std::move(fresh));
        if (!hub_.deliver(shared, encoded)) {
            outcome.result = PublishResult::kOverloaded;
            outcome.events.clear();
            return outcome;
        }
        seq_ = seq;
        std::size_t forgotten = 0;
        for (std::size_t i = 0; i < shared->size(); ++i) {
            hub::Emit& emit = (*shared)[i];
            if (!emit.id.empty()) forgotten += ids_.insert(emit.id, emit.seq, now);
            if (config_.recovery) {
                // The hub's workers only read the batch; the history gets its own copies.
                history_.append(emit.seq, now, (*encoded)[i], emit.rooms, emit.except);
            }
        }
        if (forgotten > 0) metrics::registry().idempotency_evictions.add(static_cast<std::int64_t>(forgotten));
    }
    if (duplicates > 0) metrics::registry().duplicate_emits.add(duplicates);
    update_gauges();
    return outcome;
}

void LocalBroker::recover(RecoveryRequest request, std::function<void(Recovery)> done) {
    Recovery recovery;
    {
        const std::lock_guard lock(mutex_);
        // A session that does not recover gets no position (a CONNECT answer without a pid).
        if (request.recovery) recovery.now = Position{epoch_, seq_};
        // Its client may resume from here in any room: record every room for the window.
        if (request.for_rendered_page && config_.recovery) history_.record_all(Clock::now());
        if (request.from) {
            if (request.from->epoch != epoch_ || request.from->seq > seq_ || !config_.recovery ||
                !request.recovery) {
                // Another epoch (a restart lost the history) or a position this broker never
                // handed out: everything may be missing.
                recovery.lost_rooms = std::move(request.rooms);
            } else {
                auto query = history_.query(request.rooms, request.from->seq, Clock::now(),
                                            request.max_bytes, request.per_packet_overhead,
                                            request.variant);
                recovery.lost_rooms = std::move(query.lost_rooms);
                recovery.replay = std::move(query.replay);
                recovery.recovered = recovery.lost_rooms.empty();
            }
        }
        update_gauges();
    }
    done(std::move(recovery));
}

void LocalBroker::expire() {
    const std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    history_.expire(now);
    ids_.expire(now);
    update_gauges();
}

}  // namespace nudge::broker
