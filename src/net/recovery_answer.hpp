// What a session is sent when the broker has answered its recovery query, whatever its
// transport: `nudge:resync` naming the rooms whose events were lost (if any), then the CONNECT
// answer — the client's own pid when every missed event is in the replay (socket.recovered),
// a fresh one otherwise. The replay frames follow. Counts the outcome in the metrics.
// `resync_metadata`: nudge's metadata argument for the nudge:resync (a spread window for the
// lost rooms, sent to auth.nudge sessions), empty for none.
#pragma once

#include <string>
#include <vector>

#include "broker/broker.hpp"
#include "common/position.hpp"
#include "common/random_id.hpp"
#include "metrics/metrics.hpp"
#include "session/protocol.hpp"
#include "sio/packet.hpp"

namespace nudge::net {

inline std::vector<std::string> recovery_answer(const std::string& client_pid,
                                                const broker::Recovery& recovery,
                                                std::string_view resync_metadata = {}) {
    auto& registry = metrics::registry();
    if (!client_pid.empty()) {
        (recovery.recovered ? registry.sessions_recovered : registry.sessions_resynced).add(1);
    }
    registry.events_replayed.add(static_cast<std::int64_t>(recovery.replay.size()));
    std::vector<std::string> texts;
    if (!recovery.lost_rooms.empty()) {
        // Before the CONNECT answer: socket.io-client buffers it and emits it just before
        // "connect", so the application knows at "connect" that (and what) it must resync.
        std::string data = R"({"rooms":[)";
        for (std::size_t i = 0; i < recovery.lost_rooms.size(); ++i) {
            if (i > 0) data.push_back(',');
            data += sio::json_quote(recovery.lost_rooms[i]);
        }
        data += "]}";
        if (!resync_metadata.empty()) {
            data.push_back(',');
            data += resync_metadata;
        }
        texts.push_back(sio::encode_event("/", "nudge:resync", data));
    }
    if (recovery.now.epoch.empty()) {
        // Recovery is off: the broker only confirmed the session's rooms; no pid.
        texts.push_back(sio::encode_connect("/", random_id()));
    } else {
        texts.push_back(session::Protocol::connect_answer(
            recovery.recovered ? client_pid : make_pid(recovery.now.epoch, recovery.now.seq)));
    }
    return texts;
}

}  // namespace nudge::net
