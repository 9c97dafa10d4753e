// SendQueue: the frames one client has not been sent yet, and what they cost.
//
// Frames are shared, immutable buffers (hub::Frame): an event queued to 10k clients is one
// string. The queue's byte count includes a fixed overhead per entry so that many tiny
// frames (pongs, acks) are charged for the memory they really hold, not just their payload:
// the send-queue limits are limits on memory.
//
// Memory stays bounded for a client that is always a little behind: written entries are
// compacted away once they are half the vector, and a drained queue frees its storage (an
// idle client holds none). Not thread-safe; one per connection.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hub/subscriber.hpp"

namespace nudge::net {

class SendQueue {
public:
    // shared_ptr control block + string header + vector slot, rounded up.
    static constexpr std::size_t kEntryOverhead = 64;

    void push(hub::Frame frame);
    [[nodiscard]] bool empty() const noexcept { return head_ == frames_.size(); }
    // Unwritten payload bytes plus kEntryOverhead per unwritten entry.
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t entries() const noexcept { return frames_.size() - head_; }
    // Slots in use, written ones included (compaction keeps this under 2 × entries() + 32).
    [[nodiscard]] std::size_t storage() const noexcept { return frames_.size(); }
    // True when the first frame is partly written (it must be completed before anything
    // else, e.g. a close frame, can follow on the wire).
    [[nodiscard]] bool head_started() const noexcept { return head_offset_ != 0; }

    // Fills `out` with the unwritten bytes, in order; returns how many buffers it used.
    std::size_t gather(std::span<boost::asio::const_buffer> out) const noexcept;
    // Marks `written` bytes from the front as sent.
    void consume(std::size_t written) noexcept;
    // Drops every frame not started; a partly written head stays so its frame completes.
    void drop_unstarted() noexcept;
    // Drops everything and frees the storage.
    void clear() noexcept;

private:
    void compact() noexcept;

    std::vector<hub::Frame> frames_;
    std::size_t bytes_ = 0;
    std::uint32_t head_ = 0;         // first frame not fully written
    std::uint32_t head_offset_ = 0;  // bytes of frames_[head_] already written
};

}  // namespace nudge::net
