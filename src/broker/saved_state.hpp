// SavedState: what the embedded broker needs to come back after a restart as if it had not left
// (the state file under --state-dir, broker/state_file.hpp). Plain data, no behaviour.
//
// Ages, not time points: a steady clock does not survive a restart, so every time is stored as
// an age relative to one instant (the write, in the file; the load, once read back), and the
// history's TTL keeps counting through the downtime.
//
// Sessions need no record of their own: a session's pid and every offset it was sent carry its
// position (<epoch>:<seq>, common/position.hpp), so the epoch, the last sequence and the
// history are all a returning client needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace nudge::broker {

// One emit of the history: what re-encodes it through the publish path (hub::EncodedEmit),
// never the encoded bytes, so a change in how events are framed does not invalidate a file.
struct SavedEvent {
    std::uint64_t seq = 0;
    std::chrono::milliseconds age{0};
    std::string event;
    std::string data_json;
    std::vector<std::string> rooms;
    std::vector<std::string> except;
    std::string version;          // hub::Emit::version (canonical; empty: none)
    std::uint32_t spread_ms = 0;  // the spread window it is sent with (EncodedEmit::window_ms)
    friend bool operator==(const SavedEvent&, const SavedEvent&) = default;
};

// A room's trim record: the highest sequence trimmed from it (so a client behind it resyncs)
// and, for a room whose log is empty, how long ago it emptied (its tombstone's age).
struct SavedRoom {
    std::string name;
    std::uint64_t trimmed_through = 0;
    bool empty = false;
    std::chrono::milliseconds emptied_age{0};
    friend bool operator==(const SavedRoom&, const SavedRoom&) = default;
};

// A publisher's idempotency id still inside its window: a retry across the restart of a
// publish the old process took is not delivered twice.
struct SavedId {
    std::string id;
    std::uint64_t seq = 0;
    std::chrono::milliseconds remaining{0};
    friend bool operator==(const SavedId&, const SavedId&) = default;
};

struct SavedState {
    std::string epoch;
    std::uint64_t seq = 0;                // the last position handed out
    std::uint64_t forgotten_through = 0;  // History's watermark of forgotten rooms
    std::vector<SavedEvent> events;       // in sequence order
    std::vector<SavedRoom> rooms;
    std::vector<SavedId> ids;  // oldest first
    friend bool operator==(const SavedState&, const SavedState&) = default;
};

// The state `downtime` later: every age grows by it, every id's remaining window shrinks
// (ids whose window ended are dropped).
void age_state(SavedState& state, std::chrono::milliseconds downtime);

}  // namespace nudge::broker
