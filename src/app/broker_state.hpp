// The embedded broker's state across a restart (--state-dir), for main(): take the state file
// at start (it is removed whatever it holds, so it is used at most once) and save it at a
// graceful stop. Every outcome is logged; any problem means "start a new history", never a
// failed start. Called on the main thread, before the workers start and after they stop.
#pragma once

#include <optional>

#include "broker/local_broker.hpp"
#include "broker/saved_state.hpp"

namespace nudge::app {

// The saved state to continue from, or nullopt (no file, or one that cannot be trusted).
[[nodiscard]] std::optional<broker::SavedState> take_broker_state(
    const broker::LocalBrokerConfig& config);
// Writes the broker's state (atomically); logs and returns false when it cannot.
bool save_broker_state(broker::LocalBroker& broker, const broker::LocalBrokerConfig& config);

}  // namespace nudge::app
