#include "cdc/pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace nudge::cdc {

Pipeline::Pipeline(Rules rules, std::string id_prefix, std::size_t max_batch)
    : matcher_(std::move(rules)), id_prefix_(std::move(id_prefix)), max_batch_(max_batch) {
    pending_.reserve(max_batch_);
}

Result<void, DecodeError> Pipeline::feed(std::span<const std::uint8_t> payload) {
    auto decoded = decode_message(payload);
    if (!decoded) return fail(decoded.error());
    std::visit(
        [this](auto& message) {
            using T = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<T, Begin>) {
                in_transaction_ = true;
                commit_lsn_ = message.final_lsn;
                index_ = 0;
            } else if constexpr (std::is_same_v<T, Commit>) {
                in_transaction_ = false;
                ready_ = message.end_lsn;
                ++stats_.transactions;
            } else if constexpr (std::is_same_v<T, Relation>) {
                matcher_.on_relation(message);
                ++stats_.relations;
            } else if constexpr (std::is_same_v<T, Insert>) {
                matcher_.on_insert(message, commit_lsn_, scratch_);
                collect(scratch_);
            } else if constexpr (std::is_same_v<T, Update>) {
                matcher_.on_update(message, commit_lsn_, scratch_);
                collect(scratch_);
            } else if constexpr (std::is_same_v<T, Delete>) {
                matcher_.on_delete(message, commit_lsn_, scratch_);
                collect(scratch_);
            } else if constexpr (std::is_same_v<T, Truncate>) {
                matcher_.on_truncate(message, commit_lsn_, scratch_);
                collect(scratch_);
            }
            // Origin, Type and logical decoding messages carry nothing a rule reads.
        },
        *decoded);
    return {};
}

void Pipeline::collect(std::vector<OutEvent>& produced) {
    ++stats_.changes;
    for (auto& event : produced) {
        event.id = fmt::format("{}{}:{}", id_prefix_, format_lsn(commit_lsn_), index_++);
        // The commit record starts at commit_lsn_; a standby's replay position moves by whole
        // records, so a position past that start (>= commit_lsn_ + 1) means the commit replayed.
        event.version = format_lsn(commit_lsn_ + 1);
        if (pending_.size() < max_batch_ && overflow_.empty()) {
            pending_.push_back(std::move(event));
        } else {
            overflow_.push_back(std::move(event));
        }
        ++stats_.events;
    }
    produced.clear();
}

std::optional<Lsn> Pipeline::published() {
    pending_.clear();
    while (!overflow_.empty() && pending_.size() < max_batch_) {
        pending_.push_back(std::move(overflow_.front()));
        overflow_.pop_front();
    }
    // Not past events still to publish: they may belong to the transaction at ready_.
    if (!pending_.empty()) return std::nullopt;
    if (ready_ <= confirmed_) return std::nullopt;
    confirmed_ = ready_;
    return confirmed_;
}

std::optional<Lsn> Pipeline::idle(Lsn wal_end) {
    if (in_transaction_ || !pending_.empty() || !overflow_.empty()) return std::nullopt;
    const Lsn target = std::max(ready_, wal_end);
    if (target <= confirmed_) return std::nullopt;
    confirmed_ = ready_ = target;
    return confirmed_;
}

void Pipeline::reset() {
    pending_.clear();
    overflow_.clear();
    in_transaction_ = false;
    ready_ = confirmed_;
}

}  // namespace nudge::cdc
