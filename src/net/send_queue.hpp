// SendQueue: the frames one client has not been sent yet, and what they cost.
//
// Frames are shared, immutable buffers (hub::Frame): an event queued to 10k clients is one
// string. The queue's byte count includes a fixed overhead per entry so that many tiny
// frames (pongs, acks) are charged for the memory they really hold, not just their payload:
// the send-queue limits are limits on memory.
//
// Memory stays bounded for a client that is always a little behind: written entries are
// compacted away once they are half the vector. An empty queue is one null pointer: its state
// is allocated with the first frame and freed when drained, so an idle client holds 8 bytes.
// Not thread-safe; one per connection.
#pragma once

#include <boost/asio/buffer.hpp>
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

    void push(hub::Frame frame);
    [[nodiscard]] bool empty() const noexcept { return !state_; }
    // Unwritten payload bytes plus kEntryOverhead per unwritten entry.
    [[nodiscard]] std::size_t bytes() const noexcept { return state_ ? state_->bytes : 0; }
    [[nodiscard]] std::size_t entries() const noexcept {
        return state_ ? state_->frames.size() - state_->head : 0;
    }
    // Slots in use, written ones included (compaction keeps this near 2 × entries()).
    [[nodiscard]] std::size_t storage() const noexcept { return state_ ? state_->frames.size() : 0; }
    // True when the first frame is partly written (it must be completed before anything
    // else, e.g. a close frame, can follow on the wire).
    [[nodiscard]] bool head_started() const noexcept { return state_ && state_->head_offset != 0; }

    // Fills `out` with the unwritten bytes, in order; returns how many buffers it used.
    std::size_t gather(std::span<boost::asio::const_buffer> out) const noexcept;
    // Marks `written` bytes from the front as sent.
    void consume(std::size_t written) noexcept;
    // Drops every frame not started; a partly written head stays so its frame completes.
    void drop_unstarted() noexcept;
    // Appends the unwritten frames of `other` (whose head must not be partly written) and
    // empties it: an HTTP long-polling session hands its backlog to the WebSocket it upgrades to.
    void splice(SendQueue& other);
    // Drops everything and frees the storage.
    void clear() noexcept { state_.reset(); }

private:
    struct State {
        std::vector<hub::Frame> frames;
        std::size_t bytes = 0;
        std::uint32_t head = 0;         // first frame not fully written
        std::uint32_t head_offset = 0;  // bytes of frames[head] already written
    };
    void compact() noexcept;

    std::unique_ptr<State> state_;
};

}  // namespace nudge::net
