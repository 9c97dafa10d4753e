// LatencyHistogram: HDR-style log-linear buckets over microseconds (≤ 1.6% relative error,
// 1 µs to ~70 min), constant memory, mergeable across processes through its JSON summary.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

namespace nudge::bench {

class LatencyHistogram {
public:
    void record(std::int64_t micros) {
        if (micros < 0) micros = 0;
        ++buckets_[index(static_cast<std::uint64_t>(micros))];
        ++count_;
        if (micros > max_) max_ = micros;
    }
    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    [[nodiscard]] std::int64_t max() const noexcept { return max_; }
    // The smallest recorded bucket value v such that at least q of the samples are <= v.
    [[nodiscard]] std::int64_t quantile(double q) const {
        if (count_ == 0) return 0;
        const auto target = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= target && buckets_[i] != 0) return std::min(upper(i), max_);
        }
        return max_;
    }

    // The non-empty buckets as a JSON array of [largest value of the bucket, count] pairs, in
    // increasing order: histograms of several processes (or two snapshots of one) merge or
    // subtract bucket by bucket, since every process uses the same bucket boundaries.
    [[nodiscard]] std::string buckets_json() const {
        std::string out = "[";
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            if (buckets_[i] == 0) continue;
            if (out.size() > 1) out.push_back(',');
            out.push_back('[');
            out += std::to_string(upper(i));
            out.push_back(',');
            out += std::to_string(buckets_[i]);
            out.push_back(']');
        }
        out.push_back(']');
        return out;
    }

private:
    // Values below 2^S are exact; above, each power of two [2^e, 2^(e+1)) is split into 2^S
    // equal sub-buckets, so a bucket is at most 1/64 of its value wide.
    static constexpr int kSubBits = 6;
    static constexpr std::uint64_t kSub = 1ULL << kSubBits;
    static constexpr std::size_t kBuckets = (64 - kSubBits + 1) << kSubBits;

    static std::size_t index(std::uint64_t v) {
        if (v < kSub) return static_cast<std::size_t>(v);
        const int e = 63 - __builtin_clzll(v);  // >= kSubBits
        const std::uint64_t sub = (v >> (e - kSubBits)) - kSub;
        return (static_cast<std::size_t>(e - kSubBits + 1) << kSubBits) + static_cast<std::size_t>(sub);
    }
    // The largest value that falls into bucket i.
    static std::int64_t upper(std::size_t i) {
        if (i < kSub) return static_cast<std::int64_t>(i);
        const int e = static_cast<int>(i >> kSubBits) + kSubBits - 1;
        const std::uint64_t sub = i & (kSub - 1);
        return static_cast<std::int64_t>(((kSub + sub + 1) << (e - kSubBits)) - 1);
    }

    std::array<std::uint64_t, kBuckets> buckets_{};
    std::uint64_t count_ = 0;
    std::int64_t max_ = 0;
};

}  // namespace nudge::bench
