// SendQueue: what one client has not been sent yet, and what it costs.
//
// Entries are shared, immutable buffers (hub::Packet): an event queued to 10k clients is one
// string. Most are Engine.IO packets, which each transport frames as it writes them (the
// WebSocket transport puts a frame header in front, net/ws_gather.hpp; long-polling joins them
// with 0x1E); a few are bytes the WebSocket transport framed itself (its 101 answer with the
// open packet, pongs, close frames: Kind::kWire). The queue does not know a transport's
// framing: the transport says how far a write got (advance()), in its own bytes.
//
// The byte count is each unfinished entry's size plus a fixed overhead, so that many tiny
// packets (pongs, acks) are charged for the memory they really hold, not just their bytes:
// the send-queue limits are limits on memory. A packet is charged its payload (not the
// WebSocket header its transport adds: at most 10 bytes, inside the overhead), and a partly
// written entry stays charged in full until it is finished, since its buffer is held until then.
//
// Memory stays bounded for a client that is always a little behind: written entries are
// compacted away once they are half the vector. An empty queue is one null pointer: its state
// is allocated with the first entry and freed when drained, so an idle client holds 8 bytes.
// Not thread-safe; one per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "hub/subscriber.hpp"

namespace nudge::net {

class SendQueue {
public:
    // shared_ptr control block + string header + vector slot, rounded up.
    static constexpr std::size_t kEntryOverhead = 64;

    enum class Kind : std::uint8_t {
        kPacket,  // an Engine.IO packet: the transport frames it
        kWire,    // bytes already as the WebSocket transport sends them
    };
    struct Entry {
        hub::Packet bytes;
        Kind kind;
    };

    void push(hub::Packet bytes, Kind kind = Kind::kPacket);
    [[nodiscard]] bool empty() const noexcept { return !state_; }
    // The unfinished entries' sizes plus kEntryOverhead each.
    [[nodiscard]] std::size_t bytes() const noexcept { return state_ ? state_->bytes : 0; }
    [[nodiscard]] std::size_t entries() const noexcept {
        return state_ ? state_->entries.size() - state_->head : 0;
    }
    // Slots in use, written ones included (compaction keeps this near 2 × entries()).
    [[nodiscard]] std::size_t storage() const noexcept { return state_ ? state_->entries.size() : 0; }

    // The unfinished entries, in order.
    [[nodiscard]] std::span<const Entry> unwritten() const noexcept {
        if (!state_) return {};
        return std::span<const Entry>(state_->entries).subspan(state_->head);
    }
    // How many bytes of the first unfinished entry's transport encoding are written.
    [[nodiscard]] std::size_t head_offset() const noexcept { return state_ ? state_->head_offset : 0; }
    // True when the first entry is partly written (it must be completed before anything
    // else, e.g. a close frame, can follow on the wire).
    [[nodiscard]] bool head_started() const noexcept { return head_offset() != 0; }

    // A write finished the first `done` entries and wrote `head_offset` bytes of the next one
    // (counted from its start: a head already started passes its old offset plus the new bytes).
    void advance(std::size_t done, std::size_t head_offset) noexcept;
    // Drops every entry not started; a partly written head stays so its frame completes.
    void drop_unstarted() noexcept;
    // Appends the unfinished entries of `other` (whose head must not be partly written) and
    // empties it: an HTTP long-polling session hands its backlog to the WebSocket it upgrades to.
    void splice(SendQueue& other);
    // Drops everything and frees the storage.
    void clear() noexcept { state_.reset(); }

private:
    struct State {
        std::vector<Entry> entries;
        std::size_t bytes = 0;
        std::uint32_t head = 0;         // first entry not fully written
        std::uint32_t head_offset = 0;  // bytes of entries[head]'s encoding already written
    };
    void compact() noexcept;

    std::unique_ptr<State> state_;
};

}  // namespace nudge::net
