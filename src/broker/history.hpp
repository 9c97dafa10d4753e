// History: the embedded broker's bounded per-room history of emits, for connection-state
// recovery. Not thread-safe: LocalBroker calls it under its lock.
//
// Each emit is stored once (its wire forms, hub::EncodedEmit: the inputs, and each form a
// session asked for, encoded once; its rooms and except list) and every room it
// targets holds a pointer to it, in sequence order. Two bounds:
// - count: at most `max_per_room` emits per room; older ones are trimmed from that room;
// - age: emits older than `ttl` are trimmed from every room (the recovery window).
// Per room the history remembers the highest sequence it trimmed, so "a client at position p
// is missing something of room R" is exact: trimmed_through(R) > p. A room whose emits all
// aged out keeps that number for `tombstone_ttl` more (a small record), then is forgotten;
// forgotten rooms raise one history-wide watermark, so for a room the history no longer knows,
// a position under that watermark counts as a gap (a false gap costs one resync, never a loss).
//
// Only rooms a session that can recover is in are recorded (watch/unwatch, counted per session,
// from the room index), and for `ttl` after the last such session left, so that it can still
// come back: under --recovery auto most sessions (socket.io-client, python-socketio with their
// defaults) never recover, and an event to their rooms then costs one lookup here, not a copy
// kept for two minutes. An event to a room that is not recorded raises that room's trim mark
// when the room has a log; a room that starts being recorded starts with the mark at the
// newest sequence. So a session that finds a room recorded only since after its position
// gets a resync for it (never a silent gap); the register happens when it joins, before any
// event of the room can reach it (docs/ARCHITECTURE.md, "Connection-state recovery").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/saved_state.hpp"
#include "common/bounded_map.hpp"
#include "hub/encoded_emit.hpp"
#include "hub/subscriber.hpp"

namespace nudge::broker {

struct HistoryConfig {
    std::size_t max_per_room = 1000;
    std::chrono::milliseconds ttl{120000};
    std::chrono::milliseconds tombstone_ttl{1200000};  // rooms' trim records, 10 × ttl
    std::size_t max_replay = 10000;  // more missed emits than this: resync instead of replay
};

class History {
public:
    using Clock = std::chrono::steady_clock;


    struct Event {
        std::uint64_t seq;
        Clock::time_point at;
        std::shared_ptr<const hub::EncodedEmit> encoded;
        std::vector<std::string> rooms;
        std::vector<std::string> except;
    };

    struct Query {
        std::vector<hub::Packet> replay;      // the missed emits in sequence order, each once
        std::vector<std::string> lost_rooms;  // rooms with emits the history cannot give back
    };

    explicit History(HistoryConfig config) : config_(config) {}

    // Sequences must increase from one call to the next. Stored only when one of `rooms` is
    // recorded (then the rooms and except list are copied).
    void append(std::uint64_t seq, Clock::time_point now, const std::shared_ptr<const hub::EncodedEmit>& encoded,
                const std::vector<std::string>& rooms, const std::vector<std::string>& except);
    // A session that can recover joined (watch) or left (unwatch) `room`: recorded while any
    // is in it and for `ttl` after the last one left.
    void watch(std::string_view room);
    void unwatch(std::string_view room, Clock::time_point now);
    [[nodiscard]] bool recorded(std::string_view room, Clock::time_point now) const;
    // Every room is recorded for `ttl` from `now` (a page rendered at the newest position may
    // resume from it in rooms no recovering session is in: GET /api/v1/position).
    void record_all(Clock::time_point now);
    // Restoring a saved history: `room` (of a saved event) is recorded for `ttl` from `now`,
    // like a room whose last watcher just left.
    void keep(std::string_view room, Clock::time_point now);
    // Trims what is older than the window (and forgets old tombstones).
    void expire(Clock::time_point now);
    // What a client in `rooms` that has seen everything up to `from` missed. Emits with an
    // `except` room the client is in are not replayed. More than max_replay missed emits:
    // nothing is replayed and every room with a missed emit is lost; the same when the missed
    // packets together (plus `per_packet_overhead` each) pass `max_bytes`. The packets are in
    // `variant`'s form (the asking session's).
    [[nodiscard]] Query query(std::span<const std::string> rooms, std::uint64_t from,
                              Clock::time_point now, std::size_t max_bytes = std::numeric_limits<std::size_t>::max(),
                              std::size_t per_packet_overhead = 0,
                              hub::Variant variant = hub::Variant::kOffset);

    // The history as of `now` for the state file: its events (what re-encodes them), the trim
    // records of rooms that have one, and the forgotten-rooms watermark.
    void save(Clock::time_point now, SavedState& state) const;
    // Before any append: the trim records and watermark of a saved history, aged to `now`.
    // The saved events are then appended in order (LocalBroker re-encodes their packets).
    void restore_trims(const SavedState& state, Clock::time_point now);

    [[nodiscard]] std::size_t events() const noexcept { return all_.size(); }
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t rooms() const noexcept { return rooms_.size(); }

private:
    using EventPtr = std::shared_ptr<const Event>;
    // A room's emits, oldest first: a vector read from `head`. Most rooms are one user's and hold
    // an emit or two, so this costs one small allocation where a std::deque costs two (its map
    // and a 512-byte block, allocated even when empty). Popped slots are reclaimed once they are
    // half the vector, so pop_front is amortized O(1).
    class EventRing {
    public:
        [[nodiscard]] bool empty() const noexcept { return head_ == slots_.size(); }
        [[nodiscard]] std::size_t size() const noexcept { return slots_.size() - head_; }
        [[nodiscard]] const EventPtr& front() const noexcept { return slots_[head_]; }
        [[nodiscard]] auto begin() const noexcept { return slots_.begin() + static_cast<std::ptrdiff_t>(head_); }
        [[nodiscard]] auto end() const noexcept { return slots_.end(); }
        void push_back(EventPtr event) { slots_.push_back(std::move(event)); }
        void pop_front() noexcept {
            slots_[head_++].reset();
            if (head_ == slots_.size()) {
                slots_.clear();
                head_ = 0;
            } else if (2 * head_ >= slots_.size()) {
                slots_.erase(slots_.begin(), begin());
                head_ = 0;
            }
        }

    private:
        std::vector<EventPtr> slots_;
        std::size_t head_ = 0;
    };
    struct RoomLog {
        EventRing events;
        std::uint64_t trimmed_through = 0;
        Clock::time_point emptied_at{};
        std::uint32_t watchers = 0;        // sessions that can recover in the room
        Clock::time_point released_at{};  // when the last of them left
    };
    [[nodiscard]] bool recording(const RoomLog& log, Clock::time_point now) const noexcept {
        return log.watchers > 0 || (log.released_at != Clock::time_point{} && now - log.released_at <= config_.ttl);
    }
    using Hash = TransparentHash;
    static std::size_t cost(const Event& event) noexcept;
    void trim_front(RoomLog& log, Clock::time_point now, std::string_view room);

    HistoryConfig config_;
    std::unordered_map<std::string, RoomLog, Hash, std::equal_to<>> rooms_;
    std::deque<EventPtr> all_;  // every stored emit, in sequence order (age trimming)
    std::deque<std::pair<std::string, Clock::time_point>> emptied_;  // rooms whose log emptied
    std::uint64_t forgotten_through_ = 0;  // highest trimmed sequence of any forgotten room
    // The newest sequence not stored for a room the history had no log for: such a room may
    // have missed anything up to it.
    std::uint64_t skipped_through_ = 0;
    Clock::time_point record_all_until_{};  // record_all()
    std::size_t bytes_ = 0;
};

}  // namespace nudge::broker
