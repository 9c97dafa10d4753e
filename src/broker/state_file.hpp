// The embedded broker's state file format: a SavedState as bytes, and back. Pure functions, no
// I/O (broker/state_store.hpp reads and writes the file); thread-safe.
//
// Layout (integers little-endian; a string is a u32 length and its bytes):
//   magic    "NUDGESTF" (8 bytes)
//   version  u32, kStateFormatVersion
//   written  u64, Unix milliseconds of the write (ages in the body are relative to it)
//   length   u64, bytes of the body
//   body     sections in this order, each a tag byte then its content:
//            'P' position: epoch, u64 seq, u64 forgotten_through
//            'E' events: u32 count, each u64 seq, u64 age_ms, event, data_json,
//                u32 + rooms, u32 + except rooms, version, u32 spread_ms
//            'R' rooms: u32 count, each name, u64 trimmed_through, u8 empty, u64 emptied_age_ms
//            'I' ids: u32 count, each id, u64 seq, u64 remaining_ms
//   checksum SHA-256 of everything before it (32 bytes)
// Any deviation is an error: a file that is not exactly right is never half used.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/saved_state.hpp"
#include "common/result.hpp"

namespace nudge::broker {

inline constexpr std::uint32_t kStateFormatVersion = 1;

enum class StateFileError {
    kTruncated,      // shorter than its header says (a write cut short, a truncated copy)
    kNotAStateFile,  // the magic is wrong
    kWrongVersion,   // written by a nudged with another format version
    kBadChecksum,    // the bytes changed after the write
    kMalformed,      // checksum fine, content impossible (sections, counts, sequences)
    kStale,          // written longer ago than the history window (or in the future)
};

[[nodiscard]] std::string_view describe(StateFileError error);

[[nodiscard]] std::string encode_state(const SavedState& state, std::int64_t written_unix_ms);

struct DecodedState {
    SavedState state;
    std::int64_t written_unix_ms = 0;
};
// Parses and checks a file's bytes (no staleness check; see load_state).
[[nodiscard]] Result<DecodedState, StateFileError> decode_state(std::string_view bytes);

// decode_state, then: refuses a file written more than `window` before `now_unix_ms` (every
// event in it is past recovery, and so is every client) or more than `window` after it (the
// wall clock went back: the downtime is unknown); returns the state aged by the downtime.
[[nodiscard]] Result<SavedState, StateFileError> load_state(std::string_view bytes,
                                                            std::int64_t now_unix_ms,
                                                            std::chrono::milliseconds window);

}  // namespace nudge::broker
