#include "broker/state_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nudge::broker {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kWritten = 1'700'000'000'000;

SavedState sample() {
    SavedState s;
    s.epoch = "Ab3_x-9Z";
    s.seq = 42;
    s.forgotten_through = 7;
    s.events = {SavedEvent{40,
                           1500ms,
                           "balance_updated",
                           R"({"x":1})",
                           {"user_1", "team"},
                           {"user_2"},
                           "0/16B3748",
                           3000},
                SavedEvent{41, 900ms, "ping", "", {"team"}, {}, "", 0},
                SavedEvent{42,
                           0ms,
                           "ünïcode",
                           R"("\u0000 bytes")",
                           {"room with spaces"},
                           {},
                           "18446744073709551615",
                           60000}};
    s.rooms = {SavedRoom{"team", 12, false, 0ms}, SavedRoom{"gone", 30, true, 5000ms}};
    s.ids = {SavedId{"k1", 40, 250000ms}, SavedId{"k2", 42, 299000ms}};
    return s;
}

// Where each section of a state's encoding starts (the offset of its tag byte), and the
// checksum: computed from the layout in state_file.hpp, independently of the encoder.
std::vector<std::size_t> section_starts(const SavedState& s) {
    const auto strs = [](const std::vector<std::string>& list) {
        std::size_t n = 4;
        for (const auto& x : list) n += 4 + x.size();
        return n;
    };
    std::vector<std::size_t> starts{28};                               // 'P' after the header
    starts.push_back(starts.back() + 1 + 4 + s.epoch.size() + 8 + 8);  // 'E'
    std::size_t events = 1 + 4;
    for (const auto& e : s.events) {
        events += 8 + 8 + 4 + e.event.size() + 4 + e.data_json.size() + strs(e.rooms) +
                  strs(e.except) + 4 + e.version.size() + 4;
    }
    starts.push_back(starts.back() + events);  // 'R'
    std::size_t rooms = 1 + 4;
    for (const auto& r : s.rooms) rooms += 4 + r.name.size() + 8 + 1 + 8;
    starts.push_back(starts.back() + rooms);  // 'I'
    std::size_t ids = 1 + 4;
    for (const auto& id : s.ids) ids += 4 + id.id.size() + 8 + 8;
    starts.push_back(starts.back() + ids);  // the checksum
    return starts;
}

TEST(StateFile, RoundTrips) {
    const SavedState state = sample();
    const std::string bytes = encode_state(state, kWritten);
    const auto decoded = decode_state(bytes);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->state, state);
    EXPECT_EQ(decoded->written_unix_ms, kWritten);
}

TEST(StateFile, AnEmptyHistoryRoundTrips) {
    SavedState state;
    state.epoch = "e";
    const auto decoded = decode_state(encode_state(state, kWritten));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->state, state);
}

TEST(StateFile, TruncatedAtEverySectionAndEveryByteIsRefused) {
    const std::string bytes = encode_state(sample(), kWritten);
    const auto starts = section_starts(sample());
    ASSERT_EQ(starts.back() + 32, bytes.size());
    for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
        const std::size_t start = starts[i];
        ASSERT_EQ(bytes[start], "PERI"[i]);
        EXPECT_EQ(decode_state(std::string_view(bytes).substr(0, start)).error(),
                  StateFileError::kTruncated)
            << "cut before section at " << start;
        EXPECT_EQ(decode_state(std::string_view(bytes).substr(0, start + 1)).error(),
                  StateFileError::kTruncated)
            << "cut after the tag at " << start;
    }
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        const auto decoded = decode_state(std::string_view(bytes).substr(0, cut));
        ASSERT_FALSE(decoded.has_value()) << "cut at " << cut;
        EXPECT_EQ(decoded.error(), StateFileError::kTruncated) << "cut at " << cut;
    }
}

TEST(StateFile, EveryFlippedByteIsRefused) {
    const std::string bytes = encode_state(sample(), kWritten);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(bad[i] ^ 0x20);
        const auto decoded = decode_state(bad);
        ASSERT_FALSE(decoded.has_value()) << "byte " << i;
        if (i < 8) {
            EXPECT_EQ(decoded.error(), StateFileError::kNotAStateFile);
        } else if (i < 12) {
            EXPECT_EQ(decoded.error(), StateFileError::kWrongVersion);
        } else if (i >= 20 && i < 28) {
            // The body length: longer than the file is truncated, shorter leaves trailing bytes.
            EXPECT_TRUE(decoded.error() == StateFileError::kTruncated ||
                        decoded.error() == StateFileError::kMalformed);
        } else {
            EXPECT_EQ(decoded.error(), StateFileError::kBadChecksum) << "byte " << i;
        }
    }
}

TEST(StateFile, AnotherFormatVersionIsRefused) {
    std::string bytes = encode_state(sample(), kWritten);
    bytes[8] = static_cast<char>(kStateFormatVersion + 1);
    EXPECT_EQ(decode_state(bytes).error(), StateFileError::kWrongVersion);
    EXPECT_EQ(decode_state("not a state file at all, but long enough to hold a header").error(),
              StateFileError::kNotAStateFile);
}

TEST(StateFile, AContentThatCannotExistIsRefusedEvenWithAGoodChecksum) {
    const auto refused = [](SavedState s) {
        return decode_state(encode_state(s, kWritten)).error();
    };
    SavedState s = sample();
    std::swap(s.events[0], s.events[1]);  // out of sequence order
    EXPECT_EQ(refused(s), StateFileError::kMalformed);
    s = sample();
    s.events[2].seq = 43;  // past the position handed out
    EXPECT_EQ(refused(s), StateFileError::kMalformed);
    s = sample();
    s.epoch = "a:b";
    EXPECT_EQ(refused(s), StateFileError::kMalformed);
    s = sample();
    s.events[1].rooms.clear();
    EXPECT_EQ(refused(s), StateFileError::kMalformed);
    s = sample();
    s.events[0].spread_ms = 60001;  // past the documented maximum
    EXPECT_EQ(refused(s), StateFileError::kMalformed);
    s = sample();
    s.rooms[0].trimmed_through = 99;
    EXPECT_EQ(refused(s), StateFileError::kMalformed);
}

TEST(StateFile, LoadAgesEverythingByTheDowntime) {
    const auto loaded = load_state(encode_state(sample(), kWritten), kWritten + 2000, 120s);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->events[0].age, 3500ms);
    EXPECT_EQ(loaded->events[2].age, 2000ms);
    EXPECT_EQ(loaded->rooms[1].emptied_age, 7000ms);
    EXPECT_EQ(loaded->rooms[0].emptied_age, 0ms);  // not empty: no tombstone age
    EXPECT_EQ(loaded->ids[0].remaining, 248000ms);
    EXPECT_EQ(loaded->epoch, "Ab3_x-9Z");
    EXPECT_EQ(loaded->seq, 42U);
}

TEST(StateFile, IdsWhoseWindowEndedDuringTheDowntimeAreDropped) {
    const auto loaded = load_state(encode_state(sample(), kWritten), kWritten + 260000, 300s);
    ASSERT_TRUE(loaded.has_value());
    ASSERT_EQ(loaded->ids.size(), 1U);
    EXPECT_EQ(loaded->ids[0].id, "k2");
}

TEST(StateFile, AStaleFileIsRefused) {
    const std::string bytes = encode_state(sample(), kWritten);
    EXPECT_TRUE(load_state(bytes, kWritten + 120000, 120s).has_value());
    EXPECT_EQ(load_state(bytes, kWritten + 120001, 120s).error(), StateFileError::kStale);
    // Written "in the future" by more than the window: the clock jumped, the downtime is unknown.
    EXPECT_EQ(load_state(bytes, kWritten - 120001, 120s).error(), StateFileError::kStale);
    // A small step back counts as no downtime.
    const auto back = load_state(bytes, kWritten - 1000, 120s);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->events[0].age, 1500ms);
}

TEST(StateFile, EveryErrorHasADescription) {
    for (const auto e :
         {StateFileError::kTruncated, StateFileError::kNotAStateFile, StateFileError::kWrongVersion,
          StateFileError::kBadChecksum, StateFileError::kMalformed, StateFileError::kStale}) {
        EXPECT_FALSE(describe(e).empty());
    }
}

}  // namespace
}  // namespace nudge::broker
