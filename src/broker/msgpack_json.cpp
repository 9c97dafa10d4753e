#include "broker/msgpack_json.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <limits>

#include "ws/utf8.hpp"

namespace nudge::broker::msgpack_detail {

namespace {

void append_double(std::string& out, double value) {
    // JSON has no NaN or infinities; JSON.stringify writes them as null.
    if (!std::isfinite(value)) {
        out.append("null");
        return;
    }
    append_number(out, value);  // shortest form that reads back the same double
}

// `text` (valid UTF-8) as a JSON string literal (RFC 8259 §7).
void append_json_string(std::string& out, std::string_view text) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    out.push_back('"');
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            default:
                if (u < 0x20) {
                    out.append("\\u00");
                    out.push_back(kHex[u >> 4U]);
                    out.push_back(kHex[u & 0x0fU]);
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

void append_padded(std::string& out, long long value, int width) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    if (ec != std::errc{}) return;
    for (auto len = static_cast<int>(end - buf.data()); len < width; ++len) out.push_back('0');
    out.append(buf.data(), end);
}


// A msgpack timestamp (extension type -1) as Date.prototype.toJSON writes it:
// "YYYY-MM-DDTHH:mm:ss.sssZ". Years outside 0..9999 (which JSON.stringify writes with a sign and
// six digits) are refused as an unsupported extension.
Decoded<void> append_timestamp(std::string& out, std::string_view data) {
    std::int64_t seconds = 0;
    std::uint64_t nanos = 0;
    if (data.size() == 4) {
        seconds = static_cast<std::int64_t>(load_be(data.data(), 4));
    } else if (data.size() == 8) {
        const std::uint64_t v = load_be(data.data(), 8);
        nanos = v >> 34U;
        seconds = static_cast<std::int64_t>(v & 0x3ffffffffULL);
    } else if (data.size() == 12) {
        nanos = load_be(data.data(), 4);
        seconds = static_cast<std::int64_t>(load_be(data.data() + 4, 8));
    } else {
        return fail(Err::kMalformed);
    }
    if (nanos >= 1'000'000'000U) return fail(Err::kMalformed);
    constexpr std::int64_t kYear0 = -62167219200;    // 0000-01-01T00:00:00Z
    constexpr std::int64_t kYear10k = 253402300800;  // 10000-01-01T00:00:00Z
    if (seconds < kYear0 || seconds >= kYear10k) return fail(Err::kExtension);

    using namespace std::chrono;
    const sys_seconds at{std::chrono::seconds{seconds}};
    const auto day = floor<days>(at);
    const year_month_day date{day};
    const hh_mm_ss time{at - day};
    out.push_back('"');
    append_padded(out, static_cast<int>(date.year()), 4);
    out.push_back('-');
    append_padded(out, static_cast<unsigned>(date.month()), 2);
    out.push_back('-');
    append_padded(out, static_cast<unsigned>(date.day()), 2);
    out.push_back('T');
    append_padded(out, time.hours().count(), 2);
    out.push_back(':');
    append_padded(out, time.minutes().count(), 2);
    out.push_back(':');
    append_padded(out, time.seconds().count(), 2);
    out.push_back('.');
    append_padded(out, static_cast<long long>(nanos / 1'000'000U), 3);
    out.append("Z\"");
    return {};
}

class JsonWriter {
public:
    JsonWriter(Reader& in, const EmitterLimits& limits) noexcept : in_(in), limits_(limits) {}

    // Converts the next msgpack value into JSON text appended to `out`.
    Decoded<void> value(std::string& out, std::size_t depth) {  // NOLINT(misc-no-recursion)
        auto type = in_.peek();
        if (!type) return fail(type.error());
        switch (*type) {
            case MP_NIL: {
                auto ok = in_.nil();
                if (!ok) return ok;
                out.append("null");
                break;
            }
            case MP_BOOL: {
                auto b = in_.boolean();
                if (!b) return fail(b.error());
                out.append(*b ? "true" : "false");
                break;
            }
            case MP_UINT: {
                auto u = in_.uint();
                if (!u) return fail(u.error());
                append_number(out, *u);
                break;
            }
            case MP_INT: {
                auto i = in_.negative_int();
                if (!i) return fail(i.error());
                append_number(out, *i);
                break;
            }
            case MP_FLOAT:
            case MP_DOUBLE: {
                auto d = in_.floating();
                if (!d) return fail(d.error());
                append_double(out, *d);
                break;
            }
            case MP_STR: {
                auto text = string();
                if (!text) return fail(text.error());
                if (auto ok = append_string(out, *text); !ok) return ok;
                break;
            }
            case MP_BIN:
                return fail(Err::kBinary);
            case MP_EXT: {
                auto e = in_.ext();
                if (!e) return fail(e.error());
                if (e->type != -1) return fail(Err::kExtension);
                auto ok = append_timestamp(out, e->data);
                if (!ok) return ok;
                break;
            }
            case MP_ARRAY: {
                if (depth >= limits_.max_depth) return fail(Err::kTooDeep);
                auto n = in_.array();
                if (!n) return fail(n.error());
                out.push_back('[');
                for (std::uint32_t i = 0; i < *n; ++i) {
                    if (i != 0) out.push_back(',');
                    auto ok = value(out, depth + 1);
                    if (!ok) return ok;
                }
                out.push_back(']');
                break;
            }
            case MP_MAP: {
                if (depth >= limits_.max_depth) return fail(Err::kTooDeep);
                auto n = in_.map();
                if (!n) return fail(n.error());
                out.push_back('{');
                for (std::uint32_t i = 0; i < *n; ++i) {
                    if (i != 0) out.push_back(',');
                    auto key_type = in_.peek();
                    if (!key_type) return fail(key_type.error());
                    if (*key_type != MP_STR) return fail(Err::kBadMapKey);
                    auto key = string();
                    if (!key) return fail(key.error());
                    if (auto ok = append_string(out, *key); !ok) return ok;
                    out.push_back(':');
                    auto ok = value(out, depth + 1);
                    if (!ok) return ok;
                }
                out.push_back('}');
                break;
            }
        }
        if (out.size() > limits_.max_data_bytes) return fail(Err::kTooLarge);
        return {};
    }

private:
    Decoded<void> append_string(std::string& out, std::string_view text) const {
        // Escaping only grows a string: refuse before copying what cannot fit.
        if (out.size() + text.size() > limits_.max_data_bytes) return fail(Err::kTooLarge);
        append_json_string(out, text);
        return {};
    }

    Decoded<std::string_view> string() noexcept {
        auto s = in_.str();
        if (!s) return s;
        if (!ws::is_valid_utf8(*s)) return fail(Err::kBadString);
        return s;
    }

    Reader& in_;
    const EmitterLimits& limits_;
};

}  // namespace

Decoded<void> append_json_value(Reader& in, const EmitterLimits& limits, std::string& out) {
    JsonWriter writer(in, limits);
    return writer.value(out, 0);
}

}  // namespace nudge::broker::msgpack_detail
