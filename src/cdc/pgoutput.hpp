// The pgoutput decoder: bytes of one replication CopyData message in, a typed message out.
// Pure (no sockets, no logging), so it is unit-tested with captured bytes and fuzzed directly.
//
// Two layers, both from the Postgres docs:
//   - the walsender envelope ("Streaming Replication Protocol", START_REPLICATION): XLogData
//     ('w': start LSN, server WAL end, send time, then one pgoutput message) and the primary
//     keepalive ('k': WAL end, send time, reply-requested); and the client's standby status
//     update ('r'), which is the only thing that moves the slot's confirmed position;
//   - pgoutput protocol version 1 ("Logical Replication Message Formats"): Begin, Commit,
//     Origin, Relation, Type, Insert, Update, Delete, Truncate, Message.
// Every input is untrusted: a short or malformed message is an Error value, never a crash.
// Strings in the returned messages are copies; nothing points into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace nudge::cdc {

using Lsn = std::uint64_t;

// "16/B374D848", the way Postgres prints an LSN.
[[nodiscard]] std::string format_lsn(Lsn lsn);
// The inverse; nullopt unless "X/Y" with 1-8 hex digits on each side.
[[nodiscard]] std::optional<Lsn> parse_lsn(std::string_view text);

enum class DecodeError {
    kTruncated,       // the message ends inside a field
    kTrailingBytes,   // bytes left after a complete message
    kUnknownMessage,  // a type byte this protocol version does not have
    kBadTuple,        // a tuple column kind other than n, u, t, b, or a bad column count
    kBadString,       // a string without its terminating NUL
    kBadUpdate,       // an Update whose old-tuple marker is not K, O or N
};

[[nodiscard]] std::string_view message(DecodeError error) noexcept;

// One column of a tuple: SQL NULL, an unchanged TOASTed value (not sent), or its text form
// (binary mode is never requested, so 'b' is decoded the same way as 't').
struct Datum {
    enum class Kind : std::uint8_t { kNull, kUnchangedToast, kText };
    Kind kind = Kind::kNull;
    std::string text;
    friend bool operator==(const Datum&, const Datum&) = default;
};
using Tuple = std::vector<Datum>;

struct Begin {
    Lsn final_lsn = 0;  // the LSN of the transaction's commit record
    std::int64_t commit_time = 0;  // microseconds since 2000-01-01
    std::uint32_t xid = 0;
};
struct Commit {
    std::uint8_t flags = 0;
    Lsn commit_lsn = 0;
    Lsn end_lsn = 0;  // confirming this position acknowledges the whole transaction
    std::int64_t commit_time = 0;
};
struct Origin {
    Lsn lsn = 0;
    std::string name;
};
struct Column {
    bool key = false;  // part of the replica identity
    std::string name;
    std::uint32_t type_oid = 0;
    std::int32_t type_modifier = 0;
    friend bool operator==(const Column&, const Column&) = default;
};
struct Relation {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
    char replica_identity = 'd';  // d default (primary key), n nothing, f full, i index
    std::vector<Column> columns;
};
struct Type {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
};
struct Insert {
    std::uint32_t relation = 0;
    Tuple new_tuple;
};
struct Update {
    std::uint32_t relation = 0;
    // 'K' (only the replica identity's key columns, others NULL), 'O' (the whole old row,
    // REPLICA IDENTITY FULL) or 0 when Postgres sent no old tuple.
    char old_kind = 0;
    Tuple old_tuple;
    Tuple new_tuple;
};
struct Delete {
    std::uint32_t relation = 0;
    char old_kind = 'K';  // 'K' or 'O' as for Update
    Tuple old_tuple;
};
struct Truncate {
    std::uint8_t options = 0;  // bit 0 CASCADE, bit 1 RESTART IDENTITY
    std::vector<std::uint32_t> relations;
};
struct LogicalMessage {
    bool transactional = false;
    Lsn lsn = 0;
    std::string prefix;
    std::string content;
};

using Message = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete,
                             Truncate, LogicalMessage>;

// One pgoutput message (the payload of an XLogData).
[[nodiscard]] Result<Message, DecodeError> decode_message(std::span<const std::uint8_t> bytes);

// The walsender envelope.
struct XLogData {
    Lsn start = 0;
    Lsn wal_end = 0;
    std::int64_t send_time = 0;
    std::span<const std::uint8_t> payload;  // points into the input
};
struct Keepalive {
    Lsn wal_end = 0;
    std::int64_t send_time = 0;
    bool reply_requested = false;
};
using StreamMessage = std::variant<XLogData, Keepalive>;

[[nodiscard]] Result<StreamMessage, DecodeError> decode_stream(std::span<const std::uint8_t> bytes);

// The standby status update ('r'): written = flushed = applied = `flushed`, `now_us` in
// microseconds since 2000-01-01, no reply requested. 34 bytes.
[[nodiscard]] std::vector<std::uint8_t> encode_status(Lsn flushed, std::int64_t now_us);

}  // namespace nudge::cdc
