#include "cdc/postgres.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>

#include <algorithm>
#include <string_view>

namespace nudge::cdc {

namespace {

struct ResultDeleter {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's messages end in a newline and may span lines ("...failed: Connection refused\n\tIs
// the server running..."): one line for the log.
std::string trimmed(const char* text) {
    std::string out;
    bool space = false;
    for (const char* c = text == nullptr ? "" : text; *c != '\0'; ++c) {
        if (*c == '\n' || *c == '\t' || *c == ' ') {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += *c;
    }
    return out;
}

// libpq reports authentication and privilege problems only as text at connect time.
bool mentions(std::string_view text, std::string_view what) {
    return text.find(what) != std::string_view::npos;
}

Result<PgConn, PgError> open(const std::string& url, bool replication) {
    std::vector<const char*> keys{"dbname", "application_name"};
    std::vector<const char*> values{url.c_str(), "nudge-cdc"};
    if (replication) {
        keys.push_back("replication");
        values.push_back("database");
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    // expand_dbname: the URL's own parameters apply; the later keys override it.
    PgConn conn(PQconnectdbParams(keys.data(), values.data(), 1));
    if (!conn) return fail(PgError{"out of memory opening a Postgres connection", false});
    if (PQstatus(conn.get()) == CONNECTION_OK) return conn;
    const std::string why = trimmed(PQerrorMessage(conn.get()));
    if (mentions(why, "password authentication failed") || mentions(why, "no password supplied") ||
        mentions(why, "role \"") || mentions(why, "does not exist") ||
        mentions(why, "no pg_hba.conf entry")) {
        return fail(PgError{fmt::format("Postgres refused the login ({}); check the user, password "
                                        "and database in --postgres", why), true});
    }
    if (replication && (mentions(why, "replication role") || mentions(why, "WAL sender") ||
                        mentions(why, "permission denied to start"))) {
        return fail(PgError{fmt::format("the role in --postgres may not read the replication "
                                        "stream ({}); run ALTER ROLE <name> WITH REPLICATION as a "
                                        "superuser (managed services: see "
                                        "docs/events-from-the-database.md)", why), true});
    }
    if (mentions(why, "invalid connection option") || mentions(why, "invalid URI") ||
        mentions(why, "missing \"=\"")) {
        return fail(PgError{fmt::format("--postgres is not a valid connection URL ({})", why), true});
    }
    return fail(PgError{fmt::format("cannot connect to Postgres ({}); is it running and "
                                    "reachable at the address in --postgres?", why), false});
}

std::string quote_ident(PGconn* conn, const std::string& name) {
    char* quoted = PQescapeIdentifier(conn, name.c_str(), name.size());
    if (quoted == nullptr) return "\"\"";
    std::string out = quoted;
    PQfreemem(quoted);
    return out;
}

// "schema.table" as a quoted identifier pair.
std::string quote_table(PGconn* conn, const std::string& table) {
    const auto dot = table.find('.');
    return quote_ident(conn, table.substr(0, dot)) + "." + quote_ident(conn, table.substr(dot + 1));
}

PgError query_error(PGconn* conn, const PGresult* result, std::string_view doing) {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const std::string why = trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
    // 42501 insufficient_privilege: a retry cannot help.
    const bool privilege = state != nullptr && std::string_view(state) == "42501";
    return PgError{fmt::format("{} failed: {}", doing, why), privilege};
}

Result<PgResult, PgError> exec(PGconn* conn, const std::string& sql, std::string_view doing,
                               ExecStatusType expected = PGRES_TUPLES_OK,
                               const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    PgResult result(params.empty() ? PQexec(conn, sql.c_str())
                                   : PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()),
                                                  nullptr, values.data(), nullptr, nullptr, 0));
    if (!result || PQresultStatus(result.get()) != expected) return fail(query_error(conn, result.get(), doing));
    return result;
}

// A text[] literal for ANY($1).
std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ',';
        out += '"';
        for (const char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

}  // namespace

std::string describe_target(PGconn* conn) {
    return fmt::format("{}@{}:{}/{}", PQuser(conn), PQhost(conn), PQport(conn), PQdb(conn));
}

Result<PgCatalog, PgError> PgCatalog::connect(const std::string& url) {
    auto conn = open(url, false);
    if (!conn) return fail(conn.error());
    return PgCatalog(std::move(*conn));
}

Result<cdc::Catalog, PgError> PgCatalog::tables(const std::vector<std::string>& names) {
    // One row per live column; `key` when the column is in the replica identity's index (the
    // primary key by default, the chosen index for REPLICA IDENTITY USING INDEX).
    static constexpr const char* kSql =
        "SELECT n.nspname || '.' || c.relname, c.relreplident::text, a.attname, "
        "       COALESCE(bool_or(a.attnum = ANY(i.indkey)), false) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "LEFT JOIN pg_index i ON i.indrelid = c.oid AND "
        "     (CASE c.relreplident WHEN 'i' THEN i.indisreplident ELSE i.indisprimary END) "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1::text[]) "
        "GROUP BY 1, 2, a.attname, a.attnum ORDER BY 1, a.attnum";
    auto result = exec(conn_.get(), kSql, "reading the tables of the rules", PGRES_TUPLES_OK,
                       {text_array(names)});
    if (!result) return fail(result.error());
    cdc::Catalog catalog;
    for (int row = 0; row < PQntuples(result->get()); ++row) {
        auto& info = catalog[PQgetvalue(result->get(), row, 0)];
        info.replica_identity = PQgetvalue(result->get(), row, 1)[0];
        const std::string column = PQgetvalue(result->get(), row, 2);
        if (PQgetvalue(result->get(), row, 3)[0] == 't') info.key_columns.push_back(column);
        info.columns.push_back(column);
    }
    return catalog;
}

Result<void, PgError> PgCatalog::ensure_publication(const std::string& publication,
                                                  const std::vector<std::string>& tables,
                                                  bool create) {
    PGconn* conn = conn_.get();
    auto found = exec(conn, "SELECT puballtables FROM pg_publication WHERE pubname = $1",
                      "looking up the publication", PGRES_TUPLES_OK, {publication});
    if (!found) return fail(found.error());
    std::vector<std::string> quoted;
    quoted.reserve(tables.size());
    for (const auto& table : tables) quoted.push_back(quote_table(conn, table));
    const auto privilege_hint = [&](PgError error, std::string_view statement) {
        if (error.fatal) {
            error.message += fmt::format(
                ". The role needs CREATE on the database and must own the tables; or have an "
                "owner run: {}", statement);
        }
        error.fatal = true;  // a failing CREATE/ALTER fails the same way next time
        return error;
    };
    if (PQntuples(found->get()) == 0) {
        const auto statement = fmt::format("CREATE PUBLICATION {} FOR TABLE {}",
                                           quote_ident(conn, publication), fmt::join(quoted, ", "));
        if (!create) return fail(PgError{fmt::format("publication \"{}\" does not exist; run: {}", publication, statement), true});
        auto made = exec(conn, statement, fmt::format("creating publication \"{}\"", publication), PGRES_COMMAND_OK);
        if (!made) return fail(privilege_hint(made.error(), statement));
        return {};
    }
    if (PQgetvalue(found->get(), 0, 0)[0] == 't') return {};  // FOR ALL TABLES
    auto published = exec(conn,
                          "SELECT schemaname || '.' || tablename FROM pg_publication_tables "
                          "WHERE pubname = $1", "reading the publication's tables", PGRES_TUPLES_OK,
                          {publication});
    if (!published) return fail(published.error());
    std::vector<std::string> missing;
    for (std::size_t t = 0; t < tables.size(); ++t) {
        bool in = false;
        for (int row = 0; row < PQntuples(published->get()) && !in; ++row) {
            in = tables[t] == PQgetvalue(published->get(), row, 0);
        }
        if (!in) missing.push_back(quoted[t]);
    }
    if (missing.empty()) return {};
    const auto statement = fmt::format("ALTER PUBLICATION {} ADD TABLE {}",
                                       quote_ident(conn, publication), fmt::join(missing, ", "));
    if (!create) return fail(PgError{fmt::format("publication \"{}\" lacks tables the rules read; run: {}", publication, statement), true});
    auto added = exec(conn, statement, fmt::format("adding tables to publication \"{}\"", publication), PGRES_COMMAND_OK);
    if (!added) return fail(privilege_hint(added.error(), statement));
    return {};
}

Result<bool, PgError> PgCatalog::slot_exists(const std::string& slot) {
    auto found = exec(conn_.get(),
                      "SELECT plugin, database = current_database() FROM pg_replication_slots "
                      "WHERE slot_name = $1", "looking up the replication slot", PGRES_TUPLES_OK, {slot});
    if (!found) return fail(found.error());
    if (PQntuples(found->get()) == 0) return false;
    if (std::string_view(PQgetvalue(found->get(), 0, 0)) != "pgoutput" ||
        PQgetvalue(found->get(), 0, 1)[0] != 't') {
        return fail(PgError{fmt::format("replication slot \"{}\" exists but is not a pgoutput slot "
                                        "of this database; choose another --slot", slot), true});
    }
    return true;
}

Result<ReplicationStream, PgError> ReplicationStream::connect(const std::string& url) {
    auto conn = open(url, true);
    if (!conn) return fail(conn.error());
    return ReplicationStream(std::move(*conn));
}

ReplicationStream::~ReplicationStream() {
    if (buffer_ != nullptr) PQfreemem(buffer_);
}

Result<void, PgError> ReplicationStream::create_slot(const std::string& slot) {
    const auto sql = fmt::format("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput",
                                 quote_ident(conn_.get(), slot));
    auto made = exec(conn_.get(), sql, fmt::format("creating replication slot \"{}\"", slot));
    if (!made) {
        PgError error = made.error();
        error.fatal = true;
        error.message += "; the role needs the REPLICATION attribute and a free slot "
                         "(max_replication_slots)";
        return fail(std::move(error));
    }
    return {};
}

Result<void, PgError> ReplicationStream::start(const std::string& slot, const std::string& publication) {
    // 0/0: from the slot's confirmed position. The publication name is a string literal.
    char* literal = PQescapeLiteral(conn_.get(), publication.c_str(), publication.size());
    if (literal == nullptr) return fail(PgError{trimmed(PQerrorMessage(conn_.get())), false});
    const auto sql = fmt::format(
        "START_REPLICATION SLOT {} LOGICAL 0/0 (proto_version '1', publication_names {})",
        quote_ident(conn_.get(), slot), literal);
    PQfreemem(literal);
    auto started = exec(conn_.get(), sql, fmt::format("starting replication from slot \"{}\"", slot),
                        PGRES_COPY_BOTH);
    if (!started) return fail(started.error());
    return {};
}

Result<std::optional<std::span<const std::uint8_t>>, PgError> ReplicationStream::read_buffered() {
    using Received = std::optional<std::span<const std::uint8_t>>;
    if (buffer_ != nullptr) {
        PQfreemem(buffer_);
        buffer_ = nullptr;
    }
    const int length = PQgetCopyData(conn_.get(), &buffer_, 1);
    if (length > 0) {
        return Received(std::span(reinterpret_cast<const std::uint8_t*>(buffer_), static_cast<std::size_t>(length)));
    }
    if (length == -1) {
        return fail(PgError{"the server ended the replication stream (is it shutting down?)", false});
    }
    if (length == -2) {
        return fail(PgError{fmt::format("the replication connection failed: {}",
                                        trimmed(PQerrorMessage(conn_.get()))), false});
    }
    return Received{};
}

Result<std::optional<std::span<const std::uint8_t>>, PgError> ReplicationStream::read(
    std::chrono::milliseconds wait) {
    using Received = std::optional<std::span<const std::uint8_t>>;
    for (bool received = false;; received = true) {
        auto buffered = read_buffered();
        if (!buffered || *buffered || received) return buffered;
        // With no wait, one non-blocking recv (in PQconsumeInput) says as much as a poll would.
        if (wait.count() > 0) {
            pollfd fd{PQsocket(conn_.get()), POLLIN, 0};
            // 0: nothing within the wait; < 0: EINTR. Either way the caller loops.
            if (::poll(&fd, 1, static_cast<int>(wait.count())) <= 0) return Received{};
        }
        if (PQconsumeInput(conn_.get()) == 0) {
            return fail(PgError{fmt::format("the replication connection failed: {}",
                                            trimmed(PQerrorMessage(conn_.get()))), false});
        }
    }
}

Result<void, PgError> ReplicationStream::confirm(Lsn flushed) {
    // Postgres' epoch is 2000-01-01; the time only shows in pg_stat_replication.
    constexpr std::int64_t kEpochOffsetUs = 946'684'800LL * 1'000'000;
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count() - kEpochOffsetUs;
    const auto message = encode_status(flushed, now_us);
    if (PQputCopyData(conn_.get(), reinterpret_cast<const char*>(message.data()),
                      static_cast<int>(message.size())) != 1 ||
        PQflush(conn_.get()) != 0) {
        return fail(PgError{fmt::format("sending the confirmed position failed: {}",
                                        trimmed(PQerrorMessage(conn_.get()))), false});
    }
    return {};
}

}  // namespace nudge::cdc
