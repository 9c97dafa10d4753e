#include "nudge/emit_error.hpp"

#include <gtest/gtest.h>

#include <system_error>

namespace nudge {
namespace {

EmitError error(ErrorKind kind) {
    EmitError e;
    e.kind = kind;
    e.url = "http://hub:8080";
    e.attempts = 1;
    return e;
}

TEST(EmitError, DescribeNamesTheHubTheStatusTheCodeAndTheMessage) {
    EmitError rejected = error(ErrorKind::kRejected);
    rejected.status = 400;
    rejected.code = "reserved_event";
    rejected.message = R"(event: "connect" is reserved by Socket.IO)";
    EXPECT_EQ(rejected.describe(),
              R"(the hub at http://hub:8080 rejected the request (400 reserved_event): )"
              R"(event: "connect" is reserved by Socket.IO)");

    EmitError key = error(ErrorKind::kUnauthorized);
    key.status = 401;
    key.code = "unauthorized";
    key.message = "missing or wrong API key";
    EXPECT_EQ(key.describe(),
              "the hub at http://hub:8080 refused the API key (401 unauthorized): missing or wrong "
              "API key");

    EmitError large = error(ErrorKind::kTooLarge);
    large.status = 413;
    large.code = "payload_too_large";
    large.message = "body over --max-body";
    EXPECT_EQ(
        large.describe(),
        "the hub at http://hub:8080 refused the request as too large (413 payload_too_large): "
        "body over --max-body; send fewer or smaller events per request");
}

TEST(EmitError, DescribeCountsAttemptsAndAcceptedEvents) {
    EmitError down = error(ErrorKind::kUnreachable);
    down.message = "connect: Connection refused";
    down.system_error = std::make_error_code(std::errc::connection_refused);
    down.attempts = 4;
    EXPECT_EQ(
        down.describe(),
        "cannot reach the hub at http://hub:8080: connect: Connection refused (after 4 attempts)");

    EmitError busy = error(ErrorKind::kUnavailable);
    busy.status = 503;
    busy.code = "overloaded";
    busy.message = "behind";
    busy.accepted = 1000;
    EXPECT_EQ(busy.describe(),
              "the hub at http://hub:8080 is unavailable (503 overloaded): behind; the 1000 events "
              "before it were accepted");

    EmitError slow = error(ErrorKind::kTimeout);
    slow.message = "receive: nothing within 200 ms";
    EXPECT_EQ(slow.describe(),
              "no answer in time from the hub at http://hub:8080: receive: nothing within 200 ms");
}

TEST(EmitError, InvalidArgumentsNeedNoHub) {
    EmitError bad;
    bad.message = "the API key is empty (the hub's --api-key)";
    EXPECT_EQ(bad.describe(), "invalid argument: the API key is empty (the hub's --api-key)");
}

TEST(EmitError, KindNamesAndTransience) {
    const std::pair<ErrorKind, std::string_view> kinds[] = {
        {ErrorKind::kInvalidArgument, "invalid_argument"},
        {ErrorKind::kUnreachable, "unreachable"},
        {ErrorKind::kTimeout, "timeout"},
        {ErrorKind::kUnauthorized, "unauthorized"},
        {ErrorKind::kRejected, "rejected"},
        {ErrorKind::kTooLarge, "too_large"},
        {ErrorKind::kUnavailable, "unavailable"},
        {ErrorKind::kBadResponse, "bad_response"},
    };
    for (const auto& [kind, name] : kinds) {
        EXPECT_EQ(to_string(kind), name);
        const bool transient = kind == ErrorKind::kUnreachable || kind == ErrorKind::kTimeout ||
                               kind == ErrorKind::kUnavailable;
        EXPECT_EQ(is_transient(kind), transient) << name;
    }
}

}  // namespace
}  // namespace nudge
