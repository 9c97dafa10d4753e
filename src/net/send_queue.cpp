#include "net/send_queue.hpp"

#include <algorithm>

namespace nudge::net {

void SendQueue::push(hub::Frame frame) {
    bytes_ += frame->size() + kEntryOverhead;
    frames_.push_back(std::move(frame));
}

std::size_t SendQueue::gather(std::span<boost::asio::const_buffer> out) const noexcept {
    std::size_t count = 0;
    for (std::size_t i = head_; i < frames_.size() && count < out.size(); ++i) {
        const std::string& bytes = *frames_[i];
        const std::size_t offset = i == head_ ? head_offset_ : 0;
        out[count++] = boost::asio::buffer(bytes.data() + offset, bytes.size() - offset);
    }
    return count;
}

void SendQueue::consume(std::size_t written) noexcept {
    while (written > 0 && head_ < frames_.size()) {
        const std::size_t left = frames_[head_]->size() - head_offset_;
        if (written < left) {
            head_offset_ += static_cast<std::uint32_t>(written);
            bytes_ -= written;
            break;
        }
        written -= left;
        bytes_ -= left + kEntryOverhead;
        frames_[head_].reset();
        ++head_;
        head_offset_ = 0;
    }
    compact();
}

void SendQueue::drop_unstarted() noexcept {
    const std::size_t keep = head_ + (head_started() ? 1 : 0);
    for (std::size_t i = keep; i < frames_.size(); ++i) bytes_ -= frames_[i]->size() + kEntryOverhead;
    frames_.resize(keep);
    compact();
}

void SendQueue::clear() noexcept {
    std::vector<hub::Frame>().swap(frames_);
    bytes_ = 0;
    head_ = head_offset_ = 0;
}

void SendQueue::compact() noexcept {
    if (head_ == frames_.size()) {
        clear();  // drained: an idle client holds no queue memory
        return;
    }
    // Written entries at the front are half the vector: move the rest down, so a client that
    // never quite catches up does not grow the vector without bound.
    if (head_ >= 32 && head_ * 2 >= frames_.size()) {
        frames_.erase(frames_.begin(), frames_.begin() + head_);
        head_ = 0;
    }
}

}  // namespace nudge::net
