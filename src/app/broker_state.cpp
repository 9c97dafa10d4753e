#include "app/broker_state.hpp"

#include <spdlog/spdlog.h>

#include "broker/state_file.hpp"
#include "broker/state_store.hpp"
#include "common/unix_time.hpp"

namespace nudge::app {

std::optional<broker::SavedState> take_broker_state(const broker::LocalBrokerConfig& config) {
    broker::StateStore store(config.state_dir);
    auto taken = store.take();
    if (!taken) {
        spdlog::error(
            "state file not used: {}; starting a new history (reconnecting clients resync)",
            taken.error());
        return std::nullopt;
    }
    if (!*taken) {
        spdlog::info(
            "state file={} absent (first start, or the last stop was not graceful): "
            "starting a new history",
            store.path());
        return std::nullopt;
    }
    auto state = broker::load_state(**taken, unix_now_ms(), config.history.ttl);
    if (!state) {
        spdlog::warn(
            "state file={} not used: {}; starting a new history (reconnecting clients resync)",
            store.path(), broker::describe(state.error()));
        return std::nullopt;
    }
    spdlog::info("state file={} restored epoch={} seq={} events={} ids={}", store.path(),
                 state->epoch, state->seq, state->events.size(), state->ids.size());
    return std::move(*state);
}

bool save_broker_state(broker::LocalBroker& broker, const broker::LocalBrokerConfig& config) {
    broker::StateStore store(config.state_dir);
    const broker::SavedState state = broker.save();
    if (auto saved = store.save(broker::encode_state(state, unix_now_ms())); !saved) {
        spdlog::error(
            "state file not saved: {}; the next start begins a new history "
            "(reconnecting clients resync)",
            saved.error());
        return false;
    }
    spdlog::info("state file={} saved epoch={} seq={} events={} ids={}", store.path(), state.epoch,
                 state.seq, state.events.size(), state.ids.size());
    return true;
}

}  // namespace nudge::app
