// ScriptedHub: a stand-in for nudged's publish API in tests. An HTTP/1.1 server on 127.0.0.1
// (port chosen by the kernel) that answers each request with the next Step of its script and
// records what it received. Runs on its own thread; requests() may be called from the test.
// Past the end of the script it answers 500 "script_exhausted", which fails any test that
// did not expect that request.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nudge::fakes {

// A request body without the ids the emitter gave its events (each checked to be 32 hex
// digits), so tests can compare the rest exactly.
inline boost::json::value without_ids(const std::string& body) {
    boost::json::value value = boost::json::parse(body);
    const auto strip = [](boost::json::object& event) {
        const auto* id = event.if_contains("id");
        EXPECT_TRUE(id != nullptr && id->is_string() && id->as_string().size() == 32) << event;
        event.erase("id");
    };
    if (auto* events = value.as_object().if_contains("events")) {
        for (auto& event : events->as_array()) strip(event.as_object());
    } else {
        strip(value.as_object());
    }
    return value;
}


struct Step {
    enum class Action {
        kAnswer,              // answer and keep the connection open
        kAnswerThenClose,     // answer, then close (as after --http-idle-timeout)
        kCloseWithoutAnswer,  // read the request and close the connection
        kStall,               // read the request and never answer
    };
    Action action = Action::kAnswer;
    unsigned status = 202;
    std::string body;
    std::string retry_after;

    static Step answer(unsigned status, std::string body, std::string retry_after = {}) {
        return Step{Action::kAnswer, status, std::move(body), std::move(retry_after)};
    }
    static Step accepted(std::size_t events) {
        return answer(202, "{\"accepted\":" + std::to_string(events) + "}");
    }
    static Step error(unsigned status, std::string_view code, std::string_view message) {
        return answer(status, R"({"error":{"code":")" + std::string(code) + R"(","message":")" +
                                  std::string(message) + R"("}})");
    }
};

struct Received {
    std::size_t connection = 0;  // 1 for the first TCP connection accepted, 2 for the next ...
    std::string method;
    std::string target;
    std::string host;
    std::string authorization;
    std::string content_type;
    std::string body;
};

class ScriptedHub {
  public:
    explicit ScriptedHub(std::vector<Step> script);
    ~ScriptedHub();
    ScriptedHub(const ScriptedHub&) = delete;
    ScriptedHub& operator=(const ScriptedHub&) = delete;

    [[nodiscard]] std::string url() const;
    [[nodiscard]] std::vector<Received> requests() const;
    [[nodiscard]] std::size_t connections() const;

  private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket, std::size_t connection);

    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_;
    mutable std::mutex mutex_;  // guards everything below
    std::deque<Step> script_;
    std::vector<Received> received_;
    std::size_t connections_ = 0;
    std::thread thread_;  // last: starts after everything it uses exists
};

// http://127.0.0.1:<port> where nothing listens (the port was just bound and released).
[[nodiscard]] std::string unused_url();

}  // namespace nudge::fakes
