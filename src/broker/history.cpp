#include "broker/history.hpp"

#include <algorithm>

namespace nudge::broker {

namespace {

// What one room's pointer to an emit costs: its slot in the room's ring (a shared_ptr).
constexpr std::size_t kPerRoomEntry = sizeof(std::shared_ptr<const History::Event>);

}  // namespace

std::size_t History::cost(const Event& event) noexcept {
    // The control block and Event of make_shared, the EncodedEmit with its inputs and about one
    // encoded form (a packet is the inputs plus a few bytes; a second form, made only when
    // sessions of both kinds replay, is not counted), the room names, plus one slot in
    // the global list and in each room.
    std::size_t bytes = sizeof(Event) + 16 + sizeof(hub::EncodedEmit) + 16 +
                        2 * (event.encoded->input_bytes() + 16) +
                        kPerRoomEntry * (1 + event.rooms.size());
    for (const auto& room : event.rooms) bytes += sizeof(std::string) + room.capacity();
    for (const auto& room : event.except) bytes += sizeof(std::string) + room.capacity();
    return bytes;
}

void History::append(std::uint64_t seq, Clock::time_point now,
                     const std::shared_ptr<const hub::EncodedEmit>& encoded,
                     const std::vector<std::string>& rooms, const std::vector<std::string>& except) {
    expire(now);
    const bool all = now <= record_all_until_;
    bool stored = false;
    bool skipped_unknown = false;
    for (const auto& room : rooms) {
        auto it = rooms_.find(room);
        if (it == rooms_.end()) {
            if (!all) {
                skipped_unknown = true;  // no log: its first watcher starts past this
                continue;
            }
            it = rooms_.try_emplace(room).first;
            it->second.trimmed_through = skipped_through_;
        }
        if (all || recording(it->second, now)) {
            stored = true;
        } else {
            it->second.trimmed_through = std::max(it->second.trimmed_through, seq);
        }
    }
    if (skipped_unknown) skipped_through_ = std::max(skipped_through_, seq);
    if (!stored) return;
    auto event = std::make_shared<const Event>(Event{seq, now, encoded, rooms, except});
    bytes_ += cost(*event);
    for (const auto& room : event->rooms) {
        auto it = rooms_.find(room);
        if (it == rooms_.end() || !(all || recording(it->second, now))) continue;
        RoomLog& log = it->second;
        log.events.push_back(event);
        if (log.events.size() > config_.max_per_room) {
            log.trimmed_through = std::max(log.trimmed_through, log.events.front()->seq);
            log.events.pop_front();
        }
    }
    all_.push_back(std::move(event));
}

void History::watch(std::string_view room) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) {
        it = rooms_.try_emplace(std::string(room)).first;
        // Recorded from now on: a position before the last event not kept for a room without
        // a log may have missed events of this one.
        it->second.trimmed_through = skipped_through_;
    }
    ++it->second.watchers;
}

void History::unwatch(std::string_view room, Clock::time_point now) {
    auto it = rooms_.find(room);
    if (it == rooms_.end() || it->second.watchers == 0) return;
    RoomLog& log = it->second;
    if (--log.watchers > 0) return;
    log.released_at = now;
    if (log.events.empty()) {
        log.emptied_at = now;
        emptied_.emplace_back(std::string(room), now);
    }
}

void History::record_all(Clock::time_point now) { record_all_until_ = now + config_.ttl; }

void History::keep(std::string_view room, Clock::time_point now) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) it = rooms_.try_emplace(std::string(room)).first;
    it->second.released_at = std::max(it->second.released_at, now);
}

bool History::recorded(std::string_view room, Clock::time_point now) const {
    auto it = rooms_.find(room);
    return it != rooms_.end() && recording(it->second, now);
}

void History::trim_front(RoomLog& log, Clock::time_point now, std::string_view room) {
    if (log.events.empty()) return;
    log.trimmed_through = std::max(log.trimmed_through, log.events.front()->seq);
    log.events.pop_front();
    if (log.events.empty()) {
        log.emptied_at = now;
        emptied_.emplace_back(std::string(room), now);
    }
}

void History::expire(Clock::time_point now) {
    while (!all_.empty() && now - all_.front()->at > config_.ttl) {
        const EventPtr event = std::move(all_.front());
        all_.pop_front();
        for (const auto& room : event->rooms) {
            auto it = rooms_.find(room);
            // The room may have trimmed it by count already (then it is not at the front).
            if (it != rooms_.end() && !it->second.events.empty() &&
                it->second.events.front() == event) {
                trim_front(it->second, now, room);
            }
        }
        bytes_ -= cost(*event);
    }
    while (!emptied_.empty() && now - emptied_.front().second > config_.tombstone_ttl) {
        auto it = rooms_.find(emptied_.front().first);
        // Only if it is still the same empty log (it may have had emits since, and emptied again).
        // Never a room still recorded: its log (and trim mark) must stay.
        if (it != rooms_.end() && it->second.events.empty() &&
            it->second.emptied_at == emptied_.front().second && !recording(it->second, now)) {
            forgotten_through_ = std::max(forgotten_through_, it->second.trimmed_through);
            rooms_.erase(it);
        }
        emptied_.pop_front();
    }
}

History::Query History::query(std::span<const std::string> rooms, std::uint64_t from,
                              Clock::time_point now, std::size_t max_bytes,
                              std::size_t per_packet_overhead, hub::Variant variant) {
    expire(now);
    Query result;
    std::vector<const Event*> missed;
    for (const auto& room : rooms) {
        auto it = rooms_.find(room);
        if (it == rooms_.end()) {
            // Forgotten, or never recorded (no session that recovers was in it): what was
            // not kept for such rooms since the position may be missing.
            if (from < std::max(forgotten_through_, skipped_through_)) result.lost_rooms.push_back(room);
            continue;
        }
        const RoomLog& log = it->second;
        if (log.trimmed_through > from) {
            result.lost_rooms.push_back(room);
            continue;
        }
        auto first = std::upper_bound(log.events.begin(), log.events.end(), from,
                                      [](std::uint64_t seq, const EventPtr& e) { return seq < e->seq; });
        for (; first != log.events.end(); ++first) missed.push_back(first->get());
    }
    std::sort(missed.begin(), missed.end(),
              [](const Event* a, const Event* b) { return a->seq < b->seq; });
    missed.erase(std::unique(missed.begin(), missed.end()), missed.end());
    const auto excluded = [&](const Event& event) {
        return std::any_of(event.except.begin(), event.except.end(), [&](const std::string& room) {
            return std::find(rooms.begin(), rooms.end(), room) != rooms.end();
        });
    };
    std::erase_if(missed, [&](const Event* e) { return excluded(*e); });
    std::size_t bytes = 0;
    for (const Event* e : missed) bytes += e->encoded->packet(variant)->size() + per_packet_overhead;
    if (missed.size() > config_.max_replay || bytes > max_bytes) {
        // Too much to replay: every room that missed something resyncs instead.
        for (const auto& room : rooms) {
            const bool touched = std::any_of(missed.begin(), missed.end(), [&](const Event* e) {
                return std::find(e->rooms.begin(), e->rooms.end(), room) != e->rooms.end();
            });
            if (touched && std::find(result.lost_rooms.begin(), result.lost_rooms.end(), room) ==
                               result.lost_rooms.end()) {
                result.lost_rooms.push_back(room);
            }
        }
        return result;
    }
    result.replay.reserve(missed.size());
    for (const Event* e : missed) result.replay.push_back(e->encoded->packet(variant));
    return result;
}

void History::save(Clock::time_point now, SavedState& state) const {
    const auto age = [now](Clock::time_point at) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(now - at);
    };
    // Rooms without a log are one watermark whether forgotten or never recorded.
    state.forgotten_through = std::max(forgotten_through_, skipped_through_);
    state.events.reserve(all_.size());
    for (const EventPtr& e : all_) {
        state.events.push_back(SavedEvent{e->seq, age(e->at), e->encoded->event(),
                                          e->encoded->data_json(), e->rooms, e->except,
                                          e->encoded->version(), e->encoded->window_ms()});
    }
    for (const auto& [name, log] : rooms_) {
        if (log.trimmed_through == 0 && !log.events.empty()) continue;  // its events rebuild it
        state.rooms.push_back(SavedRoom{name, log.trimmed_through, log.events.empty(),
                                        log.events.empty() ? age(log.emptied_at)
                                                           : std::chrono::milliseconds(0)});
    }
}

void History::restore_trims(const SavedState& state, Clock::time_point now) {
    forgotten_through_ = std::max(forgotten_through_, state.forgotten_through);
    std::vector<const SavedRoom*> tombstones;
    for (const auto& room : state.rooms) {
        RoomLog& log = rooms_[room.name];
        log.trimmed_through = std::max(log.trimmed_through, room.trimmed_through);
        log.released_at = now;  // recorded for `ttl`, so its sessions can come back and recover
        if (room.empty) tombstones.push_back(&room);
    }
    // emptied_ is in the order the logs emptied: oldest (largest age) first.
    std::sort(tombstones.begin(), tombstones.end(),
              [](const SavedRoom* a, const SavedRoom* b) { return a->emptied_age > b->emptied_age; });
    for (const SavedRoom* room : tombstones) {
        RoomLog& log = rooms_[room->name];
        log.emptied_at = now - room->emptied_age;
        emptied_.emplace_back(room->name, log.emptied_at);
    }
}

}  // namespace nudge::broker
