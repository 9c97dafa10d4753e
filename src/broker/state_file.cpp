#include "broker/state_file.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "hub/emit.hpp"

namespace nudge::broker {

namespace {

constexpr std::string_view kMagic = "NUDGESTF";
constexpr std::size_t kHeaderSize = 8 + 4 + 8 + 8;
constexpr std::size_t kChecksumSize = 32;

std::array<unsigned char, kChecksumSize> sha256(std::string_view bytes) {
    std::array<unsigned char, kChecksumSize> digest{};
    unsigned int size = 0;
    // EVP_Digest fails only when OpenSSL cannot allocate: then the digest stays zero and the
    // file is refused on load (a resync), never trusted.
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return digest;
}

class Writer {
public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(std::uint32_t v) { fixed(v, 4); }
    void u64(std::uint64_t v) { fixed(v, 8); }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }
    void strs(const std::vector<std::string>& list) {
        u32(static_cast<std::uint32_t>(list.size()));
        for (const auto& s : list) str(s);
    }
    void ms(std::chrono::milliseconds d) {
        u64(static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0)));
    }
    std::string& out() { return out_; }

private:
    void fixed(std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    std::string out_;
};

// Every read checks the bytes left; a failed read latches `ok` false and yields zeros.
class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    std::uint8_t u8() { return static_cast<std::uint8_t>(fixed(1)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
    std::uint64_t u64() { return fixed(8); }
    std::chrono::milliseconds ms() {
        const std::uint64_t v = u64();
        // At most ~68 years in ms: an age or window past that is not one this hub wrote.
        constexpr std::uint64_t kMaxMs = std::uint64_t{std::numeric_limits<std::int32_t>::max()} * 1000;
        if (v > kMaxMs) ok_ = false;
        return std::chrono::milliseconds(ok_ ? static_cast<std::int64_t>(v) : 0);
    }
    std::string str() {
        const std::uint32_t size = u32();
        if (!ok_ || size > in_.size()) {
            ok_ = false;
            return {};
        }
        std::string s(in_.substr(0, size));
        in_.remove_prefix(size);
        return s;
    }
    // A count of items each at least `min_item` bytes long: more than the bytes left allow is
    // malformed (and never becomes a huge allocation).
    std::uint32_t count(std::size_t min_item) {
        const std::uint32_t n = u32();
        if (ok_ && n > in_.size() / min_item) ok_ = false;
        return ok_ ? n : 0;
    }
    std::vector<std::string> strs() {
        std::vector<std::string> list(count(4));
        for (auto& s : list) s = str();
        return list;
    }
    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] bool done() const { return in_.empty(); }

private:
    std::uint64_t fixed(int bytes) {
        if (!ok_ || in_.size() < static_cast<std::size_t>(bytes)) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) {
            v |= static_cast<std::uint64_t>(
                     static_cast<unsigned char>(in_[static_cast<std::size_t>(i)]))
                 << (8 * i);
        }
        in_.remove_prefix(static_cast<std::size_t>(bytes));
        return v;
    }
    std::string_view in_;
    bool ok_ = true;
};

void write_body(Writer& w, const SavedState& state) {
    w.u8('P');
    w.str(state.epoch);
    w.u64(state.seq);
    w.u64(state.forgotten_through);
    w.u8('E');
    w.u32(static_cast<std::uint32_t>(state.events.size()));
    for (const auto& e : state.events) {
        w.u64(e.seq);
        w.ms(e.age);
        w.str(e.event);
        w.str(e.data_json);
        w.strs(e.rooms);
        w.strs(e.except);
        w.str(e.version);
        w.u32(e.spread_ms);
    }
    w.u8('R');
    w.u32(static_cast<std::uint32_t>(state.rooms.size()));
    for (const auto& r : state.rooms) {
        w.str(r.name);
        w.u64(r.trimmed_through);
        w.u8(r.empty ? 1 : 0);
        w.ms(r.emptied_age);
    }
    w.u8('I');
    w.u32(static_cast<std::uint32_t>(state.ids.size()));
    for (const auto& id : state.ids) {
        w.str(id.id);
        w.u64(id.seq);
        w.ms(id.remaining);
    }
}

// The body's content, or false when it is not what write_body writes for a state that could
// exist (so a bug or a forged file cannot make the broker replay out of order).
bool read_body(Reader& r, SavedState& state) {
    if (r.u8() != 'P') return false;
    state.epoch = r.str();
    state.seq = r.u64();
    state.forgotten_through = r.u64();
    if (!r.ok() || state.epoch.empty() || state.epoch.find(':') != std::string::npos) return false;
    if (r.u8() != 'E') return false;
    state.events.resize(r.count(8 + 8 + 4 + 4 + 4 + 4 + 4 + 4));
    std::uint64_t previous = 0;
    for (auto& e : state.events) {
        e.seq = r.u64();
        e.age = r.ms();
        e.event = r.str();
        e.data_json = r.str();
        e.rooms = r.strs();
        e.except = r.strs();
        e.version = r.str();
        e.spread_ms = r.u32();
        if (!r.ok() || e.seq <= previous || e.seq > state.seq || e.event.empty() ||
            e.rooms.empty() || e.spread_ms > hub::kMaxSpreadMs) {
            return false;
        }
        previous = e.seq;
    }
    if (r.u8() != 'R') return false;
    state.rooms.resize(r.count(4 + 8 + 1 + 8));
    for (auto& room : state.rooms) {
        room.name = r.str();
        room.trimmed_through = r.u64();
        const std::uint8_t empty = r.u8();
        room.emptied_age = r.ms();
        room.empty = empty == 1;
        if (!r.ok() || empty > 1 || room.trimmed_through > state.seq) return false;
    }
    if (r.u8() != 'I') return false;
    state.ids.resize(r.count(4 + 8 + 8));
    for (auto& id : state.ids) {
        id.id = r.str();
        id.seq = r.u64();
        id.remaining = r.ms();
        if (!r.ok() || id.id.empty() || id.seq > state.seq) return false;
    }
    return r.ok() && state.forgotten_through <= state.seq && r.done();
}

}  // namespace

std::string_view describe(StateFileError error) {
    switch (error) {
        case StateFileError::kTruncated:
            return "the file is truncated";
        case StateFileError::kNotAStateFile:
            return "the file is not a nudged state file";
        case StateFileError::kWrongVersion:
            return "the file was written by another format version";
        case StateFileError::kBadChecksum:
            return "the checksum does not match (the file is corrupt)";
        case StateFileError::kMalformed:
            return "the content is malformed";
        case StateFileError::kStale:
            return "the file is older than the history window";
    }
    return "unknown error";
}

void age_state(SavedState& state, std::chrono::milliseconds downtime) {
    for (auto& e : state.events) e.age += downtime;
    for (auto& room : state.rooms) {
        if (room.empty) room.emptied_age += downtime;
    }
    std::erase_if(state.ids, [&](const SavedId& id) { return id.remaining <= downtime; });
    for (auto& id : state.ids) id.remaining -= downtime;
}

std::string encode_state(const SavedState& state, std::int64_t written_unix_ms) {
    Writer w;
    w.out().append(kMagic);
    w.u32(kStateFormatVersion);
    w.u64(static_cast<std::uint64_t>(written_unix_ms));
    w.u64(0);  // the body's length, patched below
    write_body(w, state);
    std::string& out = w.out();
    const std::uint64_t length = out.size() - kHeaderSize;
    for (std::size_t i = 0; i < 8; ++i) {
        out[kHeaderSize - 8 + i] = static_cast<char>((length >> (8 * i)) & 0xFF);
    }
    const auto digest = sha256(out);
    out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    return out;
}

Result<DecodedState, StateFileError> decode_state(std::string_view bytes) {
    if (bytes.size() < kMagic.size()) return fail(StateFileError::kTruncated);
    if (bytes.substr(0, kMagic.size()) != kMagic) return fail(StateFileError::kNotAStateFile);
    if (bytes.size() < kHeaderSize + kChecksumSize) return fail(StateFileError::kTruncated);
    Reader header(bytes.substr(kMagic.size(), kHeaderSize - kMagic.size()));
    const std::uint32_t version = header.u32();
    const std::uint64_t written = header.u64();
    const std::uint64_t length = header.u64();
    if (version != kStateFormatVersion) return fail(StateFileError::kWrongVersion);
    const std::size_t available = bytes.size() - kHeaderSize - kChecksumSize;
    if (length > available) return fail(StateFileError::kTruncated);
    if (length < available) return fail(StateFileError::kMalformed);
    const std::string_view signed_part = bytes.substr(0, kHeaderSize + length);
    const auto digest = sha256(signed_part);
    if (std::memcmp(digest.data(), bytes.data() + signed_part.size(), kChecksumSize) != 0) {
        return fail(StateFileError::kBadChecksum);
    }
    DecodedState decoded;
    decoded.written_unix_ms = static_cast<std::int64_t>(written);
    Reader body(bytes.substr(kHeaderSize, length));
    if (!read_body(body, decoded.state) || decoded.written_unix_ms < 0) {
        return fail(StateFileError::kMalformed);
    }
    return decoded;
}

Result<SavedState, StateFileError> load_state(std::string_view bytes, std::int64_t now_unix_ms,
                                              std::chrono::milliseconds window) {
    auto decoded = decode_state(bytes);
    if (!decoded) return fail(decoded.error());
    const std::int64_t downtime = now_unix_ms - decoded->written_unix_ms;
    if (downtime > window.count() || -downtime > window.count()) {
        return fail(StateFileError::kStale);
    }
    // A clock that went back a little: count no downtime (events are kept a little longer than
    // the window, which only ever replays events the client really missed).
    age_state(decoded->state, std::chrono::milliseconds(std::max<std::int64_t>(downtime, 0)));
    return std::move(decoded->state);
}

}  // namespace nudge::broker
