// LocalBroker: the embedded default — events published on this node reach this node's
// clients, with no external service. Thread-safe: one mutex serializes publish (numbering,
// history, the post to the workers' queues) and recovery queries, so a session that joined its
// rooms before asking for its position gets every later event live, and every earlier one from
// history. The epoch is chosen at construction (a restart starts a new history),
// unless the broker is built from a SavedState (--state-dir): then it continues that epoch, its
// sequence, its history and its idempotency ids, as if the process had not stopped.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "broker/broker.hpp"
#include "broker/history.hpp"
#include "broker/idempotency.hpp"
#include "broker/saved_state.hpp"
#include "hub/hub.hpp"

namespace nudge::broker {

struct LocalBrokerConfig {
    bool recovery = false;  // number events with offsets and keep history (--recovery on)
    HistoryConfig history;
    std::chrono::milliseconds idempotency_window{300000};
    std::size_t idempotency_max_entries = 100000;
    // Where the state file lives across restarts (--state-dir; empty: nowhere, a restart starts
    // a new epoch). main() does the file's I/O; the broker saves and restores.
    std::string state_dir;
};

class LocalBroker final : public Broker {
public:
    explicit LocalBroker(hub::Hub& hub, LocalBrokerConfig config = {},
                         std::optional<SavedState> restored = std::nullopt);
    void publish(hub::EmitBatch batch, std::function<void(PublishOutcome)> done) override {
        done(publish(std::move(batch)));
    }
    // The same, answered by value (the local broker never waits).
    [[nodiscard]] PublishOutcome publish(hub::EmitBatch batch);
    void apply(hub::SharedRoomOp op, std::function<void(PublishResult)> done) override {
        done(hub_.apply(op) ? PublishResult::kAccepted : PublishResult::kOverloaded);
    }
    [[nodiscard]] Health health() const override { return {"local", true}; }
    void recover(RecoveryRequest request, std::function<void(Recovery)> done) override;
    LocalBroker(const LocalBroker&) = delete;
    LocalBroker& operator=(const LocalBroker&) = delete;
    LocalBroker(LocalBroker&&) = delete;
    LocalBroker& operator=(LocalBroker&&) = delete;
    // Stops hearing the hub's room joins (call with the workers stopped, as at exit).
    ~LocalBroker() override;
    // Trims history and ids past their windows; call about once a second so an idle hub
    // gives the memory back.
    void expire();

    [[nodiscard]] const std::string& epoch() const noexcept { return epoch_; }
    // Everything a later LocalBroker needs to continue where this one stops (call it once
    // nothing publishes any more; ages are relative to now).
    [[nodiscard]] SavedState save();

private:
    using Clock = std::chrono::steady_clock;
    void update_gauges();
    void restore(const SavedState& state);

    hub::Hub& hub_;
    LocalBrokerConfig config_;
    const std::string epoch_;
    std::mutex mutex_;
    std::uint64_t seq_ = 0;  // the last position handed out
    History history_;
    IdempotencyCache ids_;
    std::int64_t reported_events_ = 0;
    std::int64_t reported_bytes_ = 0;
    std::int64_t reported_ids_ = 0;
};

}  // namespace nudge::broker
