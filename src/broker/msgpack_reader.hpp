// What socketio_emitter.cpp and msgpack_json.cpp share to read @socket.io/redis-emitter's
// msgpack: a bounded Reader (never reads past its end, whatever the input claims) and small
// helpers. Internal to src/broker; pure.
#pragma once

#include <msgpuck.h>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "broker/socketio_emitter.hpp"

namespace nudge::broker::msgpack_detail {

using Err = EmitterError;
template <class T>
using Decoded = Result<T, EmitterError>;

inline std::uint8_t byte_at(const char* p) noexcept { return static_cast<std::uint8_t>(*p); }

inline std::uint64_t load_be(const char* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8U) | byte_at(p + i);
    return v;
}


template <class T>
inline void append_number(std::string& out, T value) {
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    if (ec == std::errc{}) out.append(buf.data(), end);
}


// A bounded reader over msgpack bytes. MsgPuck's mp_decode_* trust their input, so every value
// is checked against the end first: a scalar or string whole with mp_check (O(1) for those), a
// container by its header here. mp_check is not used on containers we descend into: it adds
// 32-bit element counts into an int, so a forged count can make it accept a truncated array.
class Reader {
public:
    explicit Reader(std::string_view bytes) noexcept
        : pos_(bytes.data()), end_(bytes.data() + bytes.size()) {}
    Reader(const char* pos, const char* end) noexcept : pos_(pos), end_(end) {}

    [[nodiscard]] bool at_end() const noexcept { return pos_ == end_; }
    [[nodiscard]] const char* pos() const noexcept { return pos_; }
    [[nodiscard]] const char* end() const noexcept { return end_; }

    [[nodiscard]] Decoded<mp_type> peek() const noexcept {
        if (pos_ == end_) return fail(Err::kMalformed);
        return mp_typeof(*pos_);
    }

    [[nodiscard]] Decoded<std::uint32_t> array() noexcept { return header(false); }
    [[nodiscard]] Decoded<std::uint32_t> map() noexcept { return header(true); }

    [[nodiscard]] Decoded<std::string_view> str() noexcept {
        auto ok = check_one(MP_STR);
        if (!ok) return fail(ok.error());
        std::uint32_t len = 0;
        const char* data = mp_decode_str(&pos_, &len);
        return std::string_view(data, len);
    }

    [[nodiscard]] Decoded<bool> boolean() noexcept {
        auto ok = check_one(MP_BOOL);
        if (!ok) return fail(ok.error());
        return mp_decode_bool(&pos_);
    }

    [[nodiscard]] Decoded<void> nil() noexcept {
        auto ok = check_one(MP_NIL);
        if (!ok) return fail(ok.error());
        mp_decode_nil(&pos_);
        return {};
    }

    [[nodiscard]] Decoded<std::uint64_t> uint() noexcept {
        auto ok = check_one(MP_UINT);
        if (!ok) return fail(ok.error());
        return mp_decode_uint(&pos_);
    }

    [[nodiscard]] Decoded<std::int64_t> negative_int() noexcept {
        auto ok = check_one(MP_INT);
        if (!ok) return fail(ok.error());
        return mp_decode_int(&pos_);
    }

    // An integer of either msgpack family; unsigned values above INT64_MAX saturate.
    [[nodiscard]] Decoded<std::int64_t> integer() noexcept {
        auto type = peek();
        if (!type) return fail(type.error());
        if (*type == MP_INT) return negative_int();
        auto u = uint();
        if (!u) return fail(u.error());
        constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        return static_cast<std::int64_t>(*u > kMax ? kMax : *u);
    }

    [[nodiscard]] Decoded<double> floating() noexcept {
        auto type = peek();
        if (!type) return fail(type.error());
        auto ok = check_one(*type);
        if (!ok) return fail(ok.error());
        if (*type == MP_FLOAT) return static_cast<double>(mp_decode_float(&pos_));
        return mp_decode_double(&pos_);
    }

    // The bytes of one extension value (type byte and data), checked against the end.
    struct Ext {
        std::int8_t type;
        std::string_view data;
    };
    [[nodiscard]] Decoded<Ext> ext() noexcept {
        auto ok = check_one(MP_EXT);
        if (!ok) return fail(ok.error());
        const std::uint8_t c = byte_at(pos_);
        std::size_t header = 0;
        std::size_t len = 0;
        switch (c) {
            case 0xd4:
                header = 1;
                len = 1;
                break;
            case 0xd5:
                header = 1;
                len = 2;
                break;
            case 0xd6:
                header = 1;
                len = 4;
                break;
            case 0xd7:
                header = 1;
                len = 8;
                break;
            case 0xd8:
                header = 1;
                len = 16;
                break;
            case 0xc7:
                header = 2;
                len = byte_at(pos_ + 1);
                break;
            case 0xc8:
                header = 3;
                len = load_be(pos_ + 1, 2);
                break;
            case 0xc9:
                header = 5;
                len = load_be(pos_ + 1, 4);
                break;
            default:
                return fail(Err::kExtension);  // 0xc1, never used
        }
        const auto type = static_cast<std::int8_t>(byte_at(pos_ + header));
        Ext out{type, std::string_view(pos_ + header + 1, len)};
        pos_ = next_;
        return out;
    }

    // Skips one value of any type, elements included.
    [[nodiscard]] Decoded<void> skip() noexcept {
        const char* p = pos_;
        if (p == end_ || mp_check(&p, end_) != 0) return fail(Err::kMalformed);
        pos_ = p;
        return {};
    }

private:
    // Checks that one non-container value of `type` starts at pos_ and ends by end_.
    [[nodiscard]] Decoded<void> check_one(mp_type type) noexcept {
        if (pos_ == end_ || mp_typeof(*pos_) != type) return fail(Err::kMalformed);
        const char* p = pos_;
        if (mp_check(&p, end_) != 0) return fail(Err::kMalformed);
        next_ = p;
        return {};
    }

    [[nodiscard]] Decoded<std::uint32_t> header(bool is_map) noexcept {
        if (pos_ == end_) return fail(Err::kMalformed);
        const std::uint8_t c = byte_at(pos_);
        std::size_t need = 1;
        if (c == (is_map ? 0xde : 0xdc)) {
            need = 3;
        } else if (c == (is_map ? 0xdf : 0xdd)) {
            need = 5;
        } else if ((c & 0xf0U) != (is_map ? 0x80U : 0x90U)) {
            return fail(Err::kMalformed);
        }
        if (static_cast<std::size_t>(end_ - pos_) < need) return fail(Err::kMalformed);
        const std::uint32_t count = is_map ? mp_decode_map(&pos_) : mp_decode_array(&pos_);
        // Every element takes at least a byte: a count the rest cannot hold is a lie, and must
        // not size an allocation.
        const auto left = static_cast<std::size_t>(end_ - pos_);
        if (count > (is_map ? left / 2 : left)) return fail(Err::kMalformed);
        return count;
    }

    const char* pos_;
    const char* end_;
    const char* next_ = nullptr;  // end of the value check_one last accepted
};


}  // namespace nudge::broker::msgpack_detail
