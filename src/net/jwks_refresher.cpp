#include "net/jwks_refresher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fstream>
#include <sstream>

#include "metrics/metrics.hpp"
#include "net/subscribe_hook.hpp"

namespace nudge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

Result<std::string, std::string> read_jwks_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("--jwt-jwks: cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string document = text.str();
    if (document.size() > auth::kMaxJwksBytes) return fail("--jwt-jwks: " + path + " is over 1 MiB");
    return document;
}

Result<std::string, std::string> get_jwks_url(const JwksConfig& config) {
    auto target = resolve_http_url("--jwt-jwks", config.source);
    if (!target) return fail(std::move(target.error()));
    asio::io_context io;
    beast::tcp_stream stream(io);
    http::request<http::string_body> request{http::verb::get, target->target, 11};
    request.set(http::field::host, target->host);
    request.set(http::field::user_agent, "nudged");
    request.set(http::field::accept, "application/json");
    request.keep_alive(false);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(auth::kMaxJwksBytes);
    beast::error_code result;
    // One deadline for connect, write and read (the stream's timer), run on this thread.
    stream.expires_after(config.timeout);
    stream.async_connect(target->endpoints, [&](beast::error_code ec, const auto&) {
        if (ec) {
            result = ec;
            return;
        }
        http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
            if (write_ec) {
                result = write_ec;
                return;
            }
            http::async_read(stream, buffer, parser,
                             [&](beast::error_code read_ec, std::size_t) { result = read_ec; });
        });
    });
    io.run();
    if (result) return fail("--jwt-jwks: GET " + config.source + " failed: " + result.message());
    const unsigned status = parser.get().result_int();
    if (status != 200) {
        return fail("--jwt-jwks: GET " + config.source + " answered " + std::to_string(status));
    }
    return std::move(parser.get().body());
}

}  // namespace

Result<std::string, std::string> fetch_jwks_document(const JwksConfig& config) {
    if (config.source.starts_with("http://") || config.source.starts_with("https://")) {
        return get_jwks_url(config);
    }
    return read_jwks_file(config.source);
}

JwksRefresher::JwksRefresher(JwksConfig config, std::shared_ptr<auth::KeySet> keys)
    : config_(std::move(config)), keys_(std::move(keys)) {}

JwksRefresher::~JwksRefresher() {
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

Result<std::size_t, std::string> JwksRefresher::load_now() {
    auto document = fetch_jwks_document(config_);
    if (!document) return fail(std::move(document.error()));
    auto parsed = auth::parse_jwks(*document);
    if (!parsed) return fail("--jwt-jwks: " + config_.source + ": " + parsed.error());
    for (const auto& skipped : parsed->skipped) {
        spdlog::warn("jwks key skipped source={} detail=\"{}\"", config_.source, skipped);
    }
    const std::size_t count = parsed->keys.size();
    keys_->replace(std::move(parsed->keys));
    return count;
}

void JwksRefresher::start() {
    {
        const std::lock_guard lock(mutex_);
        last_fetch_ = std::chrono::steady_clock::now();
    }
    thread_ = std::thread([this] { run(); });
}

void JwksRefresher::request_refresh() {
    {
        const std::lock_guard lock(mutex_);
        if (requested_) return;
        requested_ = true;
    }
    wake_.notify_one();
}

void JwksRefresher::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        auto due = last_fetch_ + config_.refresh;
        if (requested_) due = std::min(due, last_fetch_ + config_.min_refresh);
        if (std::chrono::steady_clock::now() < due) {
            wake_.wait_until(lock, due);
            continue;
        }
        const bool asked = std::exchange(requested_, false);
        last_fetch_ = std::chrono::steady_clock::now();
        lock.unlock();
        auto loaded = load_now();
        if (loaded) {
            metrics::registry().jwks_refreshes.add(1);
            spdlog::info("jwks refreshed source={} keys={} reason={}", config_.source, *loaded,
                         asked ? "unknown_kid" : "schedule");
        } else {
            metrics::registry().jwks_refresh_failures.add(1);
            spdlog::warn("jwks refresh failed, keeping the last good keys: {}", loaded.error());
        }
        lock.lock();
    }
}

}  // namespace nudge::net
