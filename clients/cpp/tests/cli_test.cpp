// The `nudge` command line run in-process against ScriptedHub: arguments, output, exit codes.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "auth/jwt_verifier.hpp"
#include "commands.hpp"
#include "scripted_hub.hpp"

namespace nudge::cli {
namespace {

namespace json = boost::json;
using fakes::ScriptedHub;
using fakes::Step;

// Sets (or unsets) an environment variable for one test and restores it afterwards.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        set(value);
    }
    ~ScopedEnv() { set(old_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    void set(const std::optional<std::string>& value) {
        if (value) {
            ::setenv(name_, value->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    const char* name_;
    std::optional<std::string> old_;
};

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

struct CliTest : ::testing::Test {
    // The developer's own NUDGE_* settings must not leak into these tests.
    ScopedEnv url_env{"NUDGE_URL", std::nullopt};
    ScopedEnv key_env{"NUDGE_API_KEY", std::nullopt};
    ScopedEnv secret_env{"NUDGE_JWT_SECRET", std::nullopt};

    static Outcome nudge(std::vector<std::string> args) {
        args.insert(args.begin(), "nudge");
        std::vector<const char*> argv;
        argv.reserve(args.size());
        for (const std::string& arg : args) argv.push_back(arg.c_str());
        std::ostringstream out;
        std::ostringstream err;
        const int code = run(static_cast<int>(argv.size()), argv.data(), out, err);
        return {code, out.str(), err.str()};
    }
};

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

TEST_F(CliTest, TheIssueExampleEmitsAndPrintsTheCount) {
    ScriptedHub hub({Step::accepted(1)});
    const Outcome r = nudge({"emit", "--url", hub.url(), "--api-key", "k", "--room", "user_1",
                             "balance_updated", R"({"x":1})"});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(r.out, "accepted 1\n");
    EXPECT_EQ(r.err, "");
    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].authorization, "Bearer k");
    EXPECT_EQ(fakes::without_ids(requests[0].body),
              json::parse(R"({"rooms":["user_1"],"event":"balance_updated","data":{"x":1}})"));
}

TEST_F(CliTest, RoomsAndExceptCombine) {
    ScriptedHub hub({Step::accepted(1)});
    const Outcome r = nudge({"emit", "--url", hub.url(), "--api-key", "k", "--room", "a", "--room",
                             "b", "--rooms", "c,d", "--except", "e,f", "loan_status_changed"});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(fakes::without_ids(hub.requests().at(0).body),
              json::parse(R"({"rooms":["a","b","c","d"],"event":"loan_status_changed",)"
                          R"("except":["e","f"]})"));
}

TEST_F(CliTest, TheEnvironmentFillsUrlAndKeyAndFlagsWin) {
    ScriptedHub hub({Step::accepted(1), Step::accepted(1)});
    const ScopedEnv url{"NUDGE_URL", hub.url()};
    const ScopedEnv key{"NUDGE_API_KEY", "from-env"};
    EXPECT_EQ(nudge({"emit", "--room", "a", "e"}).code, kExitOk);
    EXPECT_EQ(nudge({"emit", "--api-key", "from-flag", "--room", "a", "e"}).code, kExitOk);
    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 2U);
    EXPECT_EQ(requests[0].authorization, "Bearer from-env");
    EXPECT_EQ(requests[1].authorization, "Bearer from-flag");
}

TEST_F(CliTest, RejectionsExitWith4AndSayWhy) {
    ScriptedHub hub(
        {Step::error(401, "unauthorized", "missing or wrong API key"),
         Step::error(400, "reserved_event", R"(event: \"connect\" is reserved by Socket.IO)"),
         Step::error(413, "payload_too_large", "body over --max-body")});
    const Outcome key =
        nudge({"emit", "--url", hub.url(), "--api-key", "wrong", "--room", "a", "e"});
    EXPECT_EQ(key.code, kExitRejected);
    EXPECT_EQ(key.out, "");
    EXPECT_TRUE(contains(
        key.err, "nudge: the hub at " + hub.url() + " refused the API key (401 unauthorized)"))
        << key.err;
    const Outcome reserved =
        nudge({"emit", "--url", hub.url(), "--api-key", "k", "--room", "a", "connect"});
    EXPECT_EQ(reserved.code, kExitRejected);
    EXPECT_TRUE(contains(reserved.err, R"((400 reserved_event): event: "connect" is reserved)"))
        << reserved.err;
    const Outcome large = nudge({"emit", "--url", hub.url(), "--api-key", "k", "--room", "a", "e"});
    EXPECT_EQ(large.code, kExitRejected);
    EXPECT_TRUE(contains(large.err, "too large (413 payload_too_large)")) << large.err;
}

TEST_F(CliTest, AnUnreachableHubExitsWith3) {
    const std::string url = fakes::unused_url();
    const Outcome r =
        nudge({"emit", "--url", url, "--api-key", "k", "--retries", "0", "--room", "a", "e"});
    EXPECT_EQ(r.code, kExitUnreachable);
    EXPECT_TRUE(contains(r.err, "nudge: cannot reach the hub at " + url + ": connect: ")) << r.err;
}

TEST_F(CliTest, AnOverloadedHubExitsWith3AfterTheRetries) {
    const Step busy =
        Step::answer(503, R"({"error":{"code":"overloaded","message":"behind"}})", "0");
    ScriptedHub hub({busy, busy});
    const Outcome r =
        nudge({"emit", "--url", hub.url(), "--api-key", "k", "--retries", "1", "--room", "a", "e"});
    EXPECT_EQ(r.code, kExitUnreachable);
    EXPECT_TRUE(contains(r.err, "(503 overloaded): behind (after 2 attempts)")) << r.err;
    EXPECT_TRUE(contains(r.err, "\nnudge: retrying at most 1 more time within 30 s (--retries N, "
                                "--retry-budget SECONDS); Ctrl-C stops\n"))
        << r.err;
    EXPECT_EQ(hub.requests().size(), 2U);
}

TEST_F(CliTest, UsageErrorsExitWith2AndSendNothing) {
    ScriptedHub hub({});
    const std::vector<std::vector<std::string>> cases = {
        {},
        {"publish"},
        {"emit", "--url", hub.url(), "--api-key", "k", "e"},
        {"emit", "--url", hub.url(), "--api-key", "k", "--room", "a"},
        {"emit", "--url", hub.url(), "--room", "a", "e"},
        {"emit", "--url", hub.url(), "--api-key", "k", "--room", "a", "e", "{x:1}"},
        {"emit", "--url", hub.url(), "--api-key", "k", "--room", "a", "e", "{}", "extra"},
        {"emit", "--url", hub.url(), "--api-key", "k", "--room", "a", ""},
        {"emit", "--url", hub.url(), "--api-key", "k", "--timeout", "0", "--room", "a", "e"},
        {"emit", "--url", "https://hub", "--api-key", "k", "--room", "a", "e"},
        {"emit", "--url", hub.url(), "--api-key", "", "--room", "a", "e"},
        {"token", "--sub", "1"},
        {"token", "--secret", "s"},
        {"token", "--secret", "s", "--sub", "1", "--ttl", "0"},
    };
    for (const auto& args : cases) {
        const Outcome r = nudge(args);
        std::string joined;
        for (const auto& arg : args) joined += arg + " ";
        EXPECT_EQ(r.code, kExitUsage) << joined;
        EXPECT_TRUE(contains(r.err, "nudge: ")) << joined;
        EXPECT_EQ(r.out, "") << joined;
    }
    EXPECT_EQ(hub.connections(), 0U);
}

TEST_F(CliTest, NearMissesOfCommandsAndFlagsAreNamed) {
    const Outcome command = nudge({"emitt", "--room", "a", "e"});
    EXPECT_EQ(command.code, kExitUsage);
    EXPECT_EQ(command.err,
              "nudge: unknown command 'emitt' (did you mean 'emit'?)\nrun 'nudge --help' for usage\n");
    const Outcome flag = nudge({"emit", "--apikey", "k", "--room", "a", "e"});
    EXPECT_EQ(flag.code, kExitUsage);
    EXPECT_TRUE(contains(flag.err,
                         "nudge: unknown flag --apikey for 'nudge emit' (did you mean --api-key?)"))
        << flag.err;
    const Outcome far = nudge({"frobnicate"});
    EXPECT_TRUE(contains(far.err, "nudge: unknown command 'frobnicate'; the commands are emit, "
                                  "rooms and token"))
        << far.err;
    const Outcome none = nudge({});
    EXPECT_TRUE(contains(none.err, "nudge: give a command: emit, rooms or token")) << none.err;
    const Outcome value = nudge({"token", "--secret", "s", "--sub", "1", "--ttl", "soon"});
    EXPECT_EQ(value.code, kExitUsage);
    EXPECT_TRUE(contains(value.err, "nudge: ") && contains(value.err, "--ttl")) << value.err;
}

TEST_F(CliTest, VersionPrintsTheVersion) {
    const Outcome r = nudge({"--version"});
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_EQ(r.out.rfind("nudge ", 0), 0U) << r.out;
    EXPECT_EQ(r.out.back(), '\n');
}

TEST_F(CliTest, AnUnreachableHubIsSaidAtTheFirstRetryWithTheBudget) {
    const std::string url = fakes::unused_url();
    const Outcome r = nudge({"emit", "--url", url, "--api-key", "k", "--retry-budget", "1",
                             "--room", "a", "e"});
    EXPECT_EQ(r.code, kExitUnreachable);
    const std::string notice = "nudge: cannot reach the hub at " + url;
    EXPECT_EQ(r.err.rfind(notice, 0), 0U) << r.err;
    EXPECT_TRUE(contains(r.err, "\nnudge: retrying for up to 1 s (--retry-budget SECONDS, 0: do "
                                "not retry); Ctrl-C stops\n"))
        << r.err;
    // Said once, then the final error.
    EXPECT_EQ(r.err.find("retrying"), r.err.rfind("retrying")) << r.err;
    EXPECT_TRUE(contains(r.err, "retry budget of 1000 ms spent")) << r.err;
}

TEST_F(CliTest, BadDataJsonIsNamed) {
    const Outcome r = nudge({"emit", "--api-key", "k", "--room", "a", "e", "{x:1}"});
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_TRUE(contains(r.err, "DATA_JSON: data is not valid JSON")) << r.err;
}

TEST_F(CliTest, HelpExitsWith0) {
    const Outcome r = nudge({"--help"});
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_TRUE(contains(r.out, "emit")) << r.out;
    EXPECT_TRUE(contains(r.out, "token")) << r.out;
    const Outcome emit = nudge({"emit", "--help"});
    EXPECT_EQ(emit.code, kExitOk);
    EXPECT_TRUE(contains(emit.out, "--api-key")) << emit.out;
    EXPECT_TRUE(contains(emit.out, "--event-version")) << emit.out;
    EXPECT_TRUE(contains(emit.out, "--spread")) << emit.out;
}

TEST_F(CliTest, EventVersionAndSpreadAreSent) {
    ScriptedHub hub({Step::accepted(1), Step::accepted(1)});
    Outcome r = nudge({"emit", "--url", hub.url(), "--api-key", "k", "--room", "user_1",
                       "--event-version", "0/16B3748", "--spread", "3000", "balance_updated"});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    r = nudge({"emit", "--url", hub.url(), "--api-key", "k", "--room", "user_1", "--event-version",
               "18446744073709551615", "--spread", "0", "balance_updated"});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 2U);
    EXPECT_EQ(fakes::without_ids(requests[0].body),
              json::parse(R"({"rooms":["user_1"],"event":"balance_updated","version":"0/16B3748",)"
                          R"("spread":3000})"));
    EXPECT_EQ(fakes::without_ids(requests[1].body),
              json::parse(R"({"rooms":["user_1"],"event":"balance_updated",)"
                          R"("version":"18446744073709551615","spread":0})"));
}

TEST_F(CliTest, ABadEventVersionOrSpreadNamesTheFlagAndSendsNothing) {
    ScriptedHub hub({});
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--event-version", "0x10"}, "--event-version: version must be a Postgres LSN"},
        {{"--event-version", "1/"}, "--event-version: version must be"},
        {{"--event-version", "18446744073709551616"}, "--event-version: version must be"},
        {{"--event-version", "-1"}, "--event-version: version must be"},
        {{"--spread", "60001"}, "--spread must be an integer number of ms from 0 to 60000"},
        {{"--spread", "-5"}, "--spread must be"},
        {{"--spread", "1.5"}, "--spread must be"},
    };
    for (const auto& [flags, complaint] : cases) {
        std::vector<std::string> args{"emit", "--url", hub.url(), "--api-key", "k", "--room", "a"};
        args.insert(args.end(), flags.begin(), flags.end());
        args.emplace_back("e");
        const Outcome r = nudge(args);
        EXPECT_EQ(r.code, kExitUsage) << flags[1];
        EXPECT_TRUE(contains(r.err, "nudge: " + complaint)) << r.err;
    }
    EXPECT_EQ(hub.connections(), 0U);
}

TEST_F(CliTest, TokenPrintsAJwtTheHubAccepts) {
    const ScopedEnv secret{"NUDGE_JWT_SECRET", "env-secret"};
    const Outcome r = nudge({"token", "--sub", "456", "--rooms", "all,team_7", "--ttl", "120"});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    ASSERT_FALSE(r.out.empty());
    EXPECT_EQ(r.out.back(), '\n');
    auth::JwtConfig config;
    config.secret = "env-secret";
    auto hub = auth::JwtVerifier::create(config);
    ASSERT_TRUE(hub);
    const auto identity =
        hub->verify(r.out.substr(0, r.out.size() - 1), std::chrono::system_clock::now());
    ASSERT_TRUE(identity) << auth::reason(identity.error());
    EXPECT_EQ(identity->user_id, "456");
    EXPECT_EQ(identity->rooms, (std::vector<std::string>{"all", "team_7"}));
    ASSERT_TRUE(identity->expires_at);
}

}  // namespace
}  // namespace nudge::cli
