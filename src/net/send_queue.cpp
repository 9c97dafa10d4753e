#include "net/send_queue.hpp"

#include <algorithm>

namespace nudge::net {

void SendQueue::push(hub::Frame frame) {
    if (!state_) state_ = std::make_unique<State>();
    state_->bytes += frame->size() + kEntryOverhead;
    state_->frames.push_back(std::move(frame));
}

std::size_t SendQueue::gather(std::span<boost::asio::const_buffer> out) const noexcept {
    if (!state_) return 0;
    const State& s = *state_;
    std::size_t count = 0;
    for (std::size_t i = s.head; i < s.frames.size() && count < out.size(); ++i) {
        const std::string& bytes = *s.frames[i];
        const std::size_t offset = i == s.head ? s.head_offset : 0;
        out[count++] = boost::asio::buffer(bytes.data() + offset, bytes.size() - offset);
    }
    return count;
}

void SendQueue::consume(std::size_t written) noexcept {
    if (!state_) return;
    State& s = *state_;
    while (written > 0 && s.head < s.frames.size()) {
        const std::size_t left = s.frames[s.head]->size() - s.head_offset;
        if (written < left) {
            s.head_offset += static_cast<std::uint32_t>(written);
            s.bytes -= written;
            break;
        }
        written -= left;
        s.bytes -= left + kEntryOverhead;
        s.frames[s.head].reset();
        ++s.head;
        s.head_offset = 0;
    }
    compact();
}

void SendQueue::splice(SendQueue& other) {
    if (!other.state_) return;
    State& o = *other.state_;
    for (std::size_t i = o.head; i < o.frames.size(); ++i) push(std::move(o.frames[i]));
    other.state_.reset();
}

void SendQueue::drop_unstarted() noexcept {
    if (!state_) return;
    State& s = *state_;
    const std::size_t keep = s.head + (s.head_offset != 0 ? 1 : 0);
    for (std::size_t i = keep; i < s.frames.size(); ++i) s.bytes -= s.frames[i]->size() + kEntryOverhead;
    s.frames.resize(keep);
    compact();
}

void SendQueue::compact() noexcept {
    State& s = *state_;
    if (s.head == s.frames.size()) {
        state_.reset();  // drained: an idle client holds no queue memory
        return;
    }
    // Written entries at the front are half the vector: move the rest down, so a client that
    // never quite catches up does not grow the vector without bound.
    if (s.head >= 32 && std::size_t{s.head} * 2 >= s.frames.size()) {
        s.frames.erase(s.frames.begin(), s.frames.begin() + s.head);
        s.head = 0;
    }
}

}  // namespace nudge::net
