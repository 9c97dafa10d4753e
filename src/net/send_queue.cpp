#include "net/send_queue.hpp"

namespace nudge::net {

void SendQueue::push(hub::Packet bytes, Kind kind) {
    if (!state_) state_ = std::make_unique<State>();
    state_->bytes += bytes->size() + kEntryOverhead;
    state_->entries.push_back(Entry{std::move(bytes), kind});
}

void SendQueue::advance(std::size_t done, std::size_t head_offset) noexcept {
    if (!state_) return;
    State& s = *state_;
    for (; done > 0 && s.head < s.entries.size(); --done) {
        s.bytes -= s.entries[s.head].bytes->size() + kEntryOverhead;
        s.entries[s.head].bytes.reset();
        ++s.head;
    }
    s.head_offset = s.head < s.entries.size() ? static_cast<std::uint32_t>(head_offset) : 0;
    compact();
}

void SendQueue::splice(SendQueue& other) {
    if (!other.state_) return;
    State& o = *other.state_;
    for (std::size_t i = o.head; i < o.entries.size(); ++i) push(std::move(o.entries[i].bytes), o.entries[i].kind);
    other.state_.reset();
}

void SendQueue::drop_unstarted() noexcept {
    if (!state_) return;
    State& s = *state_;
    const std::size_t keep = s.head + (s.head_offset != 0 ? 1 : 0);
    for (std::size_t i = keep; i < s.entries.size(); ++i) s.bytes -= s.entries[i].bytes->size() + kEntryOverhead;
    s.entries.resize(keep);
    compact();
}

void SendQueue::compact() noexcept {
    State& s = *state_;
    if (s.head == s.entries.size()) {
        state_.reset();  // drained: an idle client holds no queue memory
        return;
    }
    // Written entries at the front are half the vector: move the rest down, so a client that
    // never quite catches up does not grow the vector without bound.
    if (s.head >= 32 && std::size_t{s.head} * 2 >= s.entries.size()) {
        s.entries.erase(s.entries.begin(), s.entries.begin() + s.head);
        s.head = 0;
    }
}

}  // namespace nudge::net
