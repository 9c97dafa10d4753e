// EncodedEmit: one emit's wire forms, each encoded at most once and only when some recipient
// needs it (issue 22 item 4, issue 23: per-session delivery). Thread-safe: every shard of a
// fan-out, and a history replay, may ask for a form at the same time; the first encodes it,
// the others share that packet.
//
// The forms (Variant), chosen per session at its CONNECT:
//   - kPlain  `42["event",data]`: what socket.io-client and python-socketio with their default
//     options expect (no offset: python-socketio would pass it to the handler);
//   - kOffset `42["event",data|null,"<epoch>:<seq>"]`: connection-state recovery (auth.recovery,
//     or --recovery on); the same as kPlain when the emit has no offset;
//   - kNudge  `42["event",data|null,{"$nudge":{"v":…,"s":…,"t":…}},"<offset>"]`: a session that
//     sent auth.nudge === 1 (@nudge/query-core); the metadata argument only when the emit has a
//     version or a spread window, otherwise the same as kOffset. With a window, "t" is when this
//     hub took the event (Unix ms): a client the event reaches late counts its offset from
//     then, not from when the event reached it (docs/protecting-your-api.md).
// A form is the Engine.IO packet text (hub::Packet), the same for every transport: the
// WebSocket transport writes a frame header in front of it, long-polling a separator between
// packets (issue 20: the hub hands transports packets, not WebSocket frames).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/unix_time.hpp"
#include "hub/emit.hpp"
#include "hub/subscriber.hpp"

namespace nudge::hub {

class EncodedEmit {
public:
    // `window_ms`: the spread window sent to nudge sessions (the emit's own spread or one the
    // hub derived, at most kMaxSpreadMs); 0 for none. `taken_unix_ms`: when the hub took the
    // event (sent with a window as "t"); now when not given (the clock is read only for a window).
    EncodedEmit(const Emit& emit, std::uint32_t window_ms, std::int64_t taken_unix_ms);
    EncodedEmit(const Emit& emit, std::uint32_t window_ms)
        : EncodedEmit(emit, window_ms, window_ms > 0 ? unix_now_ms() : 0) {}
    EncodedEmit(const EncodedEmit&) = delete;
    EncodedEmit& operator=(const EncodedEmit&) = delete;
    ~EncodedEmit() = default;

    // Thread-safe; encodes on the first call for a form.
    [[nodiscard]] const Packet& packet(Variant variant) const;
    [[nodiscard]] std::uint32_t window_ms() const noexcept { return window_ms_; }
    // The inputs, for the embedded broker's state file (re-encoded after a restart).
    [[nodiscard]] const std::string& event() const noexcept { return event_; }
    [[nodiscard]] const std::string& data_json() const noexcept { return data_json_; }
    [[nodiscard]] const std::string& version() const noexcept { return version_; }
    // What this object holds besides its packets (for history accounting): the inputs.
    [[nodiscard]] std::size_t input_bytes() const noexcept {
        return event_.size() + data_json_.size() + offset_.size() + version_.size();
    }

    // The `{"$nudge":{...}}` argument for a version and a window (with the window, the time
    // `taken_unix_ms` as "t"); empty when both are absent.
    [[nodiscard]] static std::string metadata(std::string_view version, std::uint32_t window_ms,
                                              std::int64_t taken_unix_ms);

private:
    [[nodiscard]] std::string encode(Variant variant) const;

    std::string event_;
    std::string data_json_;
    std::string offset_;
    std::string version_;
    std::uint32_t window_ms_;
    std::int64_t taken_unix_ms_;
    static constexpr std::size_t kForms = static_cast<std::size_t>(Variant::kCount);
    // Per form: kEmpty, kEncoding (one thread encodes, others wait), kReady. Not std::call_once:
    // glibc's pthread_once makes a futex-wake system call after every first run, whether or
    // not anyone waits — more than half of what encoding an event cost (bench/micro
    // BM_EncodeEmitPacket); notify_all() makes one only when a thread is waiting.
    static constexpr std::uint32_t kEmpty = 0;
    static constexpr std::uint32_t kEncoding = 1;
    static constexpr std::uint32_t kReady = 2;
    mutable std::array<std::atomic<std::uint32_t>, kForms> state_{};
    mutable std::array<Packet, kForms> packets_;
};

}  // namespace nudge::hub
