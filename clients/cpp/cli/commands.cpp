#include "commands.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/near_miss.hpp"
#include "nudge/emitter.hpp"
#include "token.hpp"

namespace nudge::cli {

namespace {

struct EmitArgs {
    std::string url = "http://127.0.0.1:8080";
    std::string api_key;
    std::vector<std::string> room;   // --room, repeatable
    std::vector<std::string> rooms;  // --rooms a,b
    std::vector<std::string> except;
    double timeout_s = 5;
    std::optional<unsigned> retries;  // unset: the retry budget alone decides
    double retry_budget_s = 30;
    std::string event;
    std::optional<std::string> data_json;
    std::string version;                // --event-version, empty: none
    std::optional<std::string> spread;  // --spread MS, checked here to name the flag
};

struct RoomsArgs {
    std::string url = "http://127.0.0.1:8080";
    std::string api_key;
    std::string action;               // join, leave or disconnect
    std::vector<std::string> room;    // --room, repeatable: the sockets acted on
    std::vector<std::string> except;
    std::vector<std::string> targets; // rooms to join or leave
};

struct TokenArgs {
    std::string secret;
    TokenClaims claims;
    unsigned ttl_s = 3600;
    std::string issuer;
    std::string audience;
};

int usage_error(std::ostream& err, const std::string& message) {
    err << "nudge: " << message << "\nrun 'nudge --help' for usage\n";
    return kExitUsage;
}

int exit_code(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::kInvalidArgument:
            return kExitUsage;
        case ErrorKind::kUnreachable:
        case ErrorKind::kTimeout:
        case ErrorKind::kUnavailable:
            return kExitUnreachable;
        case ErrorKind::kUnauthorized:
        case ErrorKind::kRejected:
        case ErrorKind::kTooLarge:
            return kExitRejected;
        case ErrorKind::kBadResponse:
            return kExitUnexpected;
    }
    return kExitUnexpected;
}

void add_emit(CLI::App& app, EmitArgs& args) {
    CLI::App* emit = app.add_subcommand("emit", "publish one event through POST /api/v1/emit");
    emit->add_option("--url", args.url, "the hub, http://host:port")
        ->envname("NUDGE_URL")
        ->capture_default_str();
    emit->add_option("--api-key", args.api_key, "the hub's --api-key")
        ->envname("NUDGE_API_KEY")
        ->required();
    // One value per flag, so `--room user_1 balance_updated` leaves the event positional.
    emit->add_option("--room", args.room, "a room to send to; repeat for more")
        ->allow_extra_args(false);
    emit->add_option("--rooms", args.rooms, "rooms to send to, comma-separated")
        ->delimiter(',')
        ->allow_extra_args(false);
    emit->add_option("--except", args.except,
                     "rooms whose members must not get it, comma-separated")
        ->delimiter(',')
        ->allow_extra_args(false);
    emit->add_option("--timeout", args.timeout_s, "seconds to wait for the hub, per attempt")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    emit->add_option("--retry-budget", args.retry_budget_s,
                     "seconds from the first attempt during which 5xx or no answer is retried")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    emit->add_option("--retries", args.retries,
                     "at most this many retries within the budget (default: no limit)")
        ->check(CLI::Range(0U, 100U));
    emit->add_option("--event-version", args.version,
                     "the event's position in the database: a Postgres LSN (0/16B3748) or an "
                     "integer; clients refetch data at least this new")
        ->type_name("V");
    emit->add_option("--spread", args.spread,
                     "clients spread their refetches over this many ms (0 to 60000)")
        ->type_name("MS");
    emit->add_option("EVENT", args.event, "event name, e.g. balance_updated")->required();
    emit->add_option("DATA_JSON", args.data_json, "the event's argument, any JSON");
}

void add_rooms(CLI::App& app, RoomsArgs& args) {
    CLI::App* rooms = app.add_subcommand(
        "rooms", "join, leave or disconnect the sockets in rooms (POST /api/v1/rooms/ACTION)");
    rooms->add_option("--url", args.url, "the hub, http://host:port")
        ->envname("NUDGE_URL")
        ->capture_default_str();
    rooms->add_option("--api-key", args.api_key, "the hub's --api-key")
        ->envname("NUDGE_API_KEY")
        ->required();
    rooms->add_option("--room", args.room, "act on the sockets in this room; repeat for more")
        ->allow_extra_args(false)
        ->required();
    rooms->add_option("--except", args.except, "but not on those in these rooms, comma-separated")
        ->delimiter(',')
        ->allow_extra_args(false);
    rooms->add_option("ACTION", args.action, "join, leave or disconnect")
        ->required()
        ->check(CLI::IsMember({"join", "leave", "disconnect"}));
    rooms->add_option("ROOMS", args.targets, "the rooms to join or leave");
}

void add_token(CLI::App& app, TokenArgs& args) {
    CLI::App* token =
        app.add_subcommand("token", "print an HS256 JWT the hub accepts (development)");
    token->add_option("--secret", args.secret, "the hub's --jwt-secret")
        ->envname("NUDGE_JWT_SECRET")
        ->required();
    token->add_option("--sub", args.claims.subject, "user id (the client joins user_<id>)")
        ->required();
    token->add_option("--rooms", args.claims.rooms, "extra rooms, comma-separated")
        ->delimiter(',')
        ->allow_extra_args(false);
    token->add_option("--ttl", args.ttl_s, "seconds until it expires")
        ->capture_default_str()
        ->check(CLI::Range(1U, 10U * 365 * 24 * 3600));
    token->add_option("--iss", args.issuer, "issuer claim (for --jwt-issuer)");
    token->add_option("--aud", args.audience, "audience claim (for --jwt-audience)");
}

int run_emit(EmitArgs& args, std::ostream& out, std::ostream& err) {
    std::vector<std::string> rooms = std::move(args.room);
    rooms.insert(rooms.end(), args.rooms.begin(), args.rooms.end());
    if (rooms.empty()) return usage_error(err, "give at least one room: --room R or --rooms a,b");
    if (args.event.empty()) return usage_error(err, "EVENT must not be empty");
    std::optional<boost::json::value> data;
    if (args.data_json) {
        auto parsed = parse_json(*args.data_json);
        if (!parsed) return usage_error(err, "DATA_JSON: " + parsed.error().message);
        data = std::move(*parsed);
    }
    Event event{std::move(rooms), args.event, std::move(data), args.except};
    event.version = args.version;
    if (args.spread) {
        const std::string& text = *args.spread;
        const bool digits = !text.empty() && text.size() <= 5 &&
                            text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoul(text) > kMaxSpreadMs) {
            return usage_error(err, "--spread must be an integer number of ms from 0 to " +
                                        std::to_string(kMaxSpreadMs) + ", got \"" + text + "\"");
        }
        event.spread_ms = static_cast<std::uint32_t>(std::stoul(text));
    }
    EmitterOptions options;
    options.url = args.url;
    options.api_key = args.api_key;
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(args.timeout_s));
    options.retry_budget = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(args.retry_budget_s));
    options.max_retries = args.retries;
    // Say at once that the hub is not answering, and for how long nudge keeps trying, rather
    // than blocking silently for the whole budget.
    options.on_retry = [&err, retries = args.retries, said = false](
                           const EmitError& error, std::chrono::milliseconds left) mutable {
        if (std::exchange(said, true)) return;
        const auto seconds =
            static_cast<long long>(std::ceil(static_cast<double>(left.count()) / 1000.0));
        // One write, so a reader of the pipe gets both lines together.
        std::ostringstream notice;
        notice << "nudge: " << error.describe() << "\nnudge: ";
        if (retries) {
            notice << "retrying at most " << *retries
                   << (*retries == 1 ? " more time" : " more times") << " within " << seconds
                   << " s (--retries N, --retry-budget SECONDS)";
        } else {
            notice << "retrying for up to " << seconds
                   << " s (--retry-budget SECONDS, 0: do not retry)";
        }
        notice << "; Ctrl-C stops\n";
        err << notice.str() << std::flush;
    };
    auto emitter = Emitter::create(std::move(options));
    if (!emitter) return usage_error(err, emitter.error().message);
    auto sent = emitter->emit(event);
    if (!sent && sent.error().kind == ErrorKind::kInvalidArgument &&
        sent.error().message.starts_with("version ")) {
        return usage_error(err, "--event-version: " + sent.error().message);
    }
    if (!sent) {
        err << "nudge: " << sent.error().describe() << "\n";
        return exit_code(sent.error().kind);
    }
    out << "accepted " << sent->events << "\n";
    return kExitOk;
}

int run_rooms(RoomsArgs& args, std::ostream& out, std::ostream& err) {
    if ((args.action == "disconnect") != args.targets.empty()) {
        return usage_error(err, args.action == "disconnect"
                                    ? "disconnect takes no ROOMS"
                                    : args.action + " needs the ROOMS to " + args.action);
    }
    EmitterOptions options;
    options.url = args.url;
    options.api_key = args.api_key;
    auto emitter = Emitter::create(std::move(options));
    if (!emitter) return usage_error(err, emitter.error().message);
    auto done = args.action == "join"    ? emitter->sockets_join(args.room, args.targets, args.except)
                : args.action == "leave" ? emitter->sockets_leave(args.room, args.targets, args.except)
                                         : emitter->disconnect_sockets(args.room, args.except);
    if (!done) {
        err << "nudge: " << done.error().describe() << "\n";
        return exit_code(done.error().kind);
    }
    out << "accepted " << args.action << "\n";
    return kExitOk;
}

int run_token(TokenArgs& args, std::ostream& out, std::ostream& err) {
    if (args.secret.empty()) return usage_error(err, "--secret must not be empty");
    if (args.claims.subject.empty()) return usage_error(err, "--sub must not be empty");
    args.claims.ttl = std::chrono::seconds(args.ttl_s);
    if (!args.issuer.empty()) args.claims.issuer = args.issuer;
    if (!args.audience.empty()) args.claims.audience = args.audience;
    out << mint_hs256(args.secret, args.claims, std::chrono::system_clock::now()) << "\n";
    return kExitOk;
}

// Every long option name of `command` ("--api-key"), --help included.
std::vector<std::string> long_names(const CLI::App& command) {
    std::vector<std::string> names;
    for (const CLI::Option* option : command.get_options()) {
        for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    }
    return names;
}

// What to tell a person whose command line CLI11 refused: an unknown command or flag with its
// near miss ("did you mean --api-key?"); empty when every word is known.
std::string near_miss_hint(const CLI::App& app, int argc, const char* const* argv) {
    const CLI::App* command = nullptr;
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands(std::function<bool(const CLI::App*)>{})) {
        commands.push_back(sub->get_name());
    }
    std::string hint;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") break;
        if (command == nullptr && !arg.starts_with("-")) {
            if (std::find(commands.begin(), commands.end(), arg) == commands.end()) {
                const auto suggestion = near_miss(arg, commands);
                return "unknown command '" + std::string(arg) + "'" +
                       (suggestion ? " (did you mean '" + *suggestion + "'?)"
                                   : "; the commands are emit, rooms and token");
            }
            command = app.get_subcommand(std::string(arg));
            continue;
        }
        if (!arg.starts_with("--")) continue;
        const auto flag = arg.substr(0, arg.find('='));
        const CLI::App& scope = command != nullptr ? *command : app;
        const auto names = long_names(scope);
        if (std::find(names.begin(), names.end(), flag) != names.end()) continue;
        const auto suggestion = near_miss(flag, names);
        hint += (hint.empty() ? "" : "\nnudge: ") + std::string("unknown flag ") +
                std::string(flag) +
                (command != nullptr ? " for 'nudge " + command->get_name() + "'" : std::string()) +
                (suggestion ? " (did you mean " + *suggestion + "?)" : std::string());
    }
    if (hint.empty() && command == nullptr) {
        hint = "give a command: emit, rooms or token";
    }
    return hint;
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"nudge: publish events to a nudge hub, mint development tokens", "nudge"};
    app.set_version_flag("--version", "nudge " NUDGE_VERSION);
    app.footer(
        "exit status: 0 ok, 2 usage, 3 hub unreachable or unavailable (retry later), "
        "4 rejected by the hub (401, 400, 413), 1 unexpected answer\n");
    app.require_subcommand(1);
    EmitArgs emit_args;
    TokenArgs token_args;
    RoomsArgs rooms_args;
    add_emit(app, emit_args);
    add_rooms(app, rooms_args);
    add_token(app, token_args);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            return app.exit(error, out, err);  // --help
        }
        const std::string hint = near_miss_hint(app, argc, argv);
        return usage_error(err, hint.empty() ? std::string(error.what()) : hint);
    }
    if (app.got_subcommand("emit")) return run_emit(emit_args, out, err);
    if (app.got_subcommand("rooms")) return run_rooms(rooms_args, out, err);
    return run_token(token_args, out, err);
}

}  // namespace nudge::cli
