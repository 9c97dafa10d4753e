#include "cdc/pgoutput.hpp"

#include <fmt/format.h>

#include <charconv>
#include <utility>

namespace nudge::cdc {

namespace {

// A cursor over untrusted bytes: every read checks the length first and records the first
// failure; callers check ok() once per message (Postgres sends big-endian integers).
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    template <class T>
    T integer() {
        if (!take(sizeof(T))) return T{};
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) value = (value << 8U) | bytes_[pos_ - sizeof(T) + i];
        return static_cast<T>(value);
    }
    char byte() { return static_cast<char>(integer<std::uint8_t>()); }
    std::string string() {
        if (error_) return {};
        for (std::size_t i = pos_; i < bytes_.size(); ++i) {
            if (bytes_[i] == 0) {
                std::string text(reinterpret_cast<const char*>(bytes_.data() + pos_), i - pos_);
                pos_ = i + 1;
                return text;
            }
        }
        fail_with(DecodeError::kBadString);
        return {};
    }
    std::string bytes(std::size_t n) {
        if (!take(n)) return {};
        return {reinterpret_cast<const char*>(bytes_.data() + pos_ - n), n};
    }
    std::span<const std::uint8_t> rest() {
        auto tail = bytes_.subspan(pos_);
        pos_ = bytes_.size();
        return tail;
    }
    void fail_with(DecodeError error) {
        if (!error_) error_ = error;
    }
    [[nodiscard]] bool ok() const { return !error_; }
    [[nodiscard]] std::size_t remaining() const { return bytes_.size() - pos_; }
    // The outcome of a whole message: its first error, or kTrailingBytes if bytes are left.
    template <class T>
    Result<Message, DecodeError> finish(T&& message) {
        if (!error_ && pos_ != bytes_.size()) error_ = DecodeError::kTrailingBytes;
        if (error_) return fail(*error_);
        return Message{std::forward<T>(message)};
    }
    [[nodiscard]] std::optional<DecodeError> error() const { return error_; }

private:
    bool take(std::size_t n) {
        if (error_) return false;
        if (bytes_.size() - pos_ < n) {
            error_ = DecodeError::kTruncated;
            pos_ = bytes_.size();
            return false;
        }
        pos_ += n;
        return true;
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
    std::optional<DecodeError> error_;
};

// TupleData: Int16 column count, then per column a kind byte and, for 't'/'b', Int32 length
// and the value. A negative length or count is malformed.
Tuple read_tuple(Reader& in) {
    const auto count = in.integer<std::int16_t>();
    Tuple tuple;
    if (!in.ok()) return tuple;
    if (count < 0) {
        in.fail_with(DecodeError::kBadTuple);
        return tuple;
    }
    // Each column takes at least one byte: a count beyond the bytes left is a lie, and
    // reserving for it would let 2 bytes of input allocate 32,767 columns.
    if (static_cast<std::size_t>(count) > in.remaining()) {
        in.fail_with(DecodeError::kTruncated);
        return tuple;
    }
    tuple.reserve(static_cast<std::size_t>(count));
    for (std::int16_t i = 0; i < count && in.ok(); ++i) {
        Datum datum;
        switch (in.byte()) {
            case 'n': datum.kind = Datum::Kind::kNull; break;
            case 'u': datum.kind = Datum::Kind::kUnchangedToast; break;
            case 't':
            case 'b': {
                const auto length = in.integer<std::int32_t>();
                if (length < 0) {
                    in.fail_with(DecodeError::kBadTuple);
                    break;
                }
                datum.kind = Datum::Kind::kText;
                datum.text = in.bytes(static_cast<std::size_t>(length));
                break;
            }
            default:
                if (in.ok()) in.fail_with(DecodeError::kBadTuple);
        }
        tuple.push_back(std::move(datum));
    }
    return tuple;
}

Result<Message, DecodeError> decode_relation(Reader& in) {
    Relation relation;
    relation.oid = in.integer<std::uint32_t>();
    relation.schema = in.string();
    relation.name = in.string();
    relation.replica_identity = in.byte();
    const auto count = in.integer<std::int16_t>();
    if (in.ok() && (count < 0 || static_cast<std::size_t>(count) > in.remaining())) {
        in.fail_with(count < 0 ? DecodeError::kBadTuple : DecodeError::kTruncated);
    }
    for (std::int16_t i = 0; i < count && in.ok(); ++i) {
        Column column;
        column.key = (in.integer<std::uint8_t>() & 1U) != 0;
        column.name = in.string();
        column.type_oid = in.integer<std::uint32_t>();
        column.type_modifier = in.integer<std::int32_t>();
        relation.columns.push_back(std::move(column));
    }
    return in.finish(std::move(relation));
}

Result<Message, DecodeError> decode_update(Reader& in) {
    Update update;
    update.relation = in.integer<std::uint32_t>();
    char marker = in.byte();
    if (in.ok() && (marker == 'K' || marker == 'O')) {
        update.old_kind = marker;
        update.old_tuple = read_tuple(in);
        marker = in.byte();
    }
    if (in.ok() && marker != 'N') in.fail_with(DecodeError::kBadUpdate);
    update.new_tuple = read_tuple(in);
    return in.finish(std::move(update));
}

}  // namespace

std::string format_lsn(Lsn lsn) {
    return fmt::format("{:X}/{:X}", lsn >> 32U, lsn & 0xFFFFFFFFU);
}

std::optional<Lsn> parse_lsn(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto half = [](std::string_view part) -> std::optional<std::uint32_t> {
        if (part.empty() || part.size() > 8) return std::nullopt;
        std::uint32_t value = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value, 16);
        if (ec != std::errc{} || end != part.data() + part.size()) return std::nullopt;
        return value;
    };
    const auto high = half(text.substr(0, slash));
    const auto low = half(text.substr(slash + 1));
    if (!high || !low) return std::nullopt;
    return (static_cast<Lsn>(*high) << 32U) | *low;
}

std::string_view message(DecodeError error) noexcept {
    switch (error) {
        case DecodeError::kTruncated: return "the message ends inside a field";
        case DecodeError::kTrailingBytes: return "bytes left after a complete message";
        case DecodeError::kUnknownMessage: return "unknown message type";
        case DecodeError::kBadTuple: return "malformed tuple data";
        case DecodeError::kBadString: return "a string without its terminating NUL";
        case DecodeError::kBadUpdate: return "an Update without its new tuple marker";
    }
    return "unknown decode error";
}

Result<Message, DecodeError> decode_message(std::span<const std::uint8_t> bytes) {
    Reader in(bytes);
    const char type = in.byte();
    if (!in.ok()) return fail(DecodeError::kTruncated);
    switch (type) {
        case 'B': {
            Begin begin;
            begin.final_lsn = in.integer<std::uint64_t>();
            begin.commit_time = in.integer<std::int64_t>();
            begin.xid = in.integer<std::uint32_t>();
            return in.finish(begin);
        }
        case 'C': {
            Commit commit;
            commit.flags = in.integer<std::uint8_t>();
            commit.commit_lsn = in.integer<std::uint64_t>();
            commit.end_lsn = in.integer<std::uint64_t>();
            commit.commit_time = in.integer<std::int64_t>();
            return in.finish(commit);
        }
        case 'O': {
            Origin origin;
            origin.lsn = in.integer<std::uint64_t>();
            origin.name = in.string();
            return in.finish(std::move(origin));
        }
        case 'R': return decode_relation(in);
        case 'Y': {
            Type type_message;
            type_message.oid = in.integer<std::uint32_t>();
            type_message.schema = in.string();
            type_message.name = in.string();
            return in.finish(std::move(type_message));
        }
        case 'I': {
            Insert insert;
            insert.relation = in.integer<std::uint32_t>();
            if (in.byte() != 'N' && in.ok()) in.fail_with(DecodeError::kBadUpdate);
            insert.new_tuple = read_tuple(in);
            return in.finish(std::move(insert));
        }
        case 'U': return decode_update(in);
        case 'D': {
            Delete del;
            del.relation = in.integer<std::uint32_t>();
            del.old_kind = in.byte();
            if (in.ok() && del.old_kind != 'K' && del.old_kind != 'O') {
                in.fail_with(DecodeError::kBadUpdate);
            }
            del.old_tuple = read_tuple(in);
            return in.finish(std::move(del));
        }
        case 'T': {
            Truncate truncate;
            const auto count = in.integer<std::int32_t>();
            truncate.options = in.integer<std::uint8_t>();
            if (in.ok() && (count < 0 || static_cast<std::size_t>(count) > in.remaining() / 4)) {
                in.fail_with(count < 0 ? DecodeError::kBadTuple : DecodeError::kTruncated);
            }
            for (std::int32_t i = 0; i < count && in.ok(); ++i) {
                truncate.relations.push_back(in.integer<std::uint32_t>());
            }
            return in.finish(std::move(truncate));
        }
        case 'M': {
            LogicalMessage logical;
            logical.transactional = in.integer<std::uint8_t>() != 0;
            logical.lsn = in.integer<std::uint64_t>();
            logical.prefix = in.string();
            const auto length = in.integer<std::int32_t>();
            if (in.ok() && length < 0) in.fail_with(DecodeError::kBadTuple);
            if (in.ok()) logical.content = in.bytes(static_cast<std::size_t>(length));
            return in.finish(std::move(logical));
        }
        default: return fail(DecodeError::kUnknownMessage);
    }
}

Result<StreamMessage, DecodeError> decode_stream(std::span<const std::uint8_t> bytes) {
    Reader in(bytes);
    const char type = in.byte();
    if (!in.ok()) return fail(DecodeError::kTruncated);
    if (type == 'w') {
        XLogData data;
        data.start = in.integer<std::uint64_t>();
        data.wal_end = in.integer<std::uint64_t>();
        data.send_time = in.integer<std::int64_t>();
        if (!in.ok()) return fail(*in.error());
        data.payload = in.rest();
        return StreamMessage{data};
    }
    if (type == 'k') {
        Keepalive keepalive;
        keepalive.wal_end = in.integer<std::uint64_t>();
        keepalive.send_time = in.integer<std::int64_t>();
        keepalive.reply_requested = in.integer<std::uint8_t>() != 0;
        if (!in.ok()) return fail(*in.error());
        if (in.remaining() != 0) return fail(DecodeError::kTrailingBytes);
        return StreamMessage{keepalive};
    }
    return fail(DecodeError::kUnknownMessage);
}

std::vector<std::uint8_t> encode_status(Lsn flushed, std::int64_t now_us) {
    std::vector<std::uint8_t> out;
    out.reserve(34);
    out.push_back('r');
    auto put = [&out](std::uint64_t value) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<std::uint8_t>(value >> static_cast<unsigned>(shift)));
        }
    };
    put(flushed);  // written
    put(flushed);  // flushed: what the slot's confirmed_flush_lsn becomes
    put(flushed);  // applied
    put(static_cast<std::uint64_t>(now_us));
    out.push_back(0);  // no reply requested
    return out;
}

}  // namespace nudge::cdc
