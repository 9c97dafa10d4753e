#include "hub/encoded_emit.hpp"

#include "sio/packet.hpp"

namespace nudge::hub {

EncodedEmit::EncodedEmit(const Emit& emit, std::uint32_t window_ms, std::int64_t taken_unix_ms)
    : event_(emit.event),
      data_json_(emit.data_json),
      offset_(emit.offset),
      version_(emit.version),
      window_ms_(window_ms),
      taken_unix_ms_(taken_unix_ms) {}

std::string EncodedEmit::metadata(std::string_view version, std::uint32_t window_ms,
                                  std::int64_t taken_unix_ms) {
    if (version.empty() && window_ms == 0) return {};
    std::string inner;
    if (!version.empty()) inner = R"("v":)" + sio::json_quote(version);
    if (window_ms > 0) {
        if (!inner.empty()) inner.push_back(',');
        inner += R"("s":)" + std::to_string(window_ms) + R"(,"t":)" + std::to_string(taken_unix_ms);
    }
    return R"({"$nudge":{)" + inner + "}}";
}

std::string EncodedEmit::encode(Variant variant) const {
    std::string args;
    if (variant == Variant::kNudge) {
        // With something after it, the data slot is never empty: a handler's first argument
        // must not be mistaken for the metadata or the offset.
        args = data_json_.empty() ? std::string("null") : data_json_;
        args.push_back(',');
        args += metadata(version_, window_ms_, taken_unix_ms_);
    } else if (variant == Variant::kOffset) {
        args = data_json_.empty() ? std::string("null") : data_json_;
    } else {
        return sio::encode_event("/", event_, data_json_);
    }
    if (offset_.empty()) return sio::encode_event("/", event_, args);
    return sio::encode_event("/", event_, args, offset_);
}

const Packet& EncodedEmit::packet(Variant variant) const {
    // Forms that would be byte-identical share one packet.
    if (variant == Variant::kNudge && version_.empty() && window_ms_ == 0) variant = Variant::kOffset;
    if (variant == Variant::kOffset && offset_.empty()) variant = Variant::kPlain;
    const auto i = static_cast<std::size_t>(variant);
    std::atomic<std::uint32_t>& state = state_[i];
    std::uint32_t seen = state.load(std::memory_order_acquire);
    if (seen == kReady) return packets_[i];
    if (seen == kEmpty && state.compare_exchange_strong(seen, kEncoding, std::memory_order_acquire)) {
        try {
            packets_[i] = std::make_shared<const std::string>(encode(variant));
        } catch (...) {
            // Out of memory: as std::call_once, the next caller tries again.
            state.store(kEmpty, std::memory_order_release);
            state.notify_all();
            throw;
        }
        state.store(kReady, std::memory_order_release);  // publishes packets_[i]
        state.notify_all();
        return packets_[i];
    }
    // Another thread is encoding this form (two shards at the same moment): wait for it.
    while ((seen = state.load(std::memory_order_acquire)) != kReady) {
        if (seen == kEmpty) return packet(variant);  // its encoding failed: try ourselves
        state.wait(seen, std::memory_order_acquire);
    }
    return packets_[i];
}

}  // namespace nudge::hub
