// The `nudge` command line, as a function so tests run it in-process:
//
//   nudge emit [--url URL] [--api-key KEY] (--room R ... | --rooms a,b) [--except a,b]
//              [--timeout SECONDS] [--retries N] [--event-version V] [--spread MS]
//              EVENT [DATA_JSON]
//       publishes one event; prints "accepted N"
//   nudge rooms [--url URL] [--api-key KEY] --room R ... [--except a,b] ACTION [ROOMS...]
//       ACTION join|leave ROOMS, or disconnect: the sockets in R (Socket.IO's socketsJoin,
//       socketsLeave, disconnectSockets); prints "accepted ACTION"
//   nudge token --secret S --sub ID [--rooms a,b] [--ttl SECONDS] [--iss I] [--aud A]
//       prints an HS256 JWT the hub (--jwt-secret S) accepts
//
// NUDGE_URL, NUDGE_API_KEY and NUDGE_JWT_SECRET fill --url, --api-key and --secret when the
// flag is not given (the hub reads the same NUDGE_API_KEY).
#pragma once

#include <ostream>

namespace nudge::cli {

// Exit statuses, distinct so scripts can tell "try again later" from "fix the request".
enum ExitCode : int {
    kExitOk = 0,
    kExitUnexpected = 1,   // the answer was not the hub's (wrong URL behind a proxy?)
    kExitUsage = 2,        // bad command line or arguments; nothing was sent
    kExitUnreachable = 3,  // no answer (connection failed, timeout) or 5xx after the retries
    kExitRejected = 4,     // the hub refused the request: 401 wrong key, 400 bad field, 413
};

// Runs the command line (argv[0] is the program name); output to `out`, errors to `err`.
[[nodiscard]] int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace nudge::cli
