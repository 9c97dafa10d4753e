#include "api/router.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

#include "metrics/metrics.hpp"

namespace nudge::api {

namespace {

std::array<unsigned char, 32> sha256(std::string_view data) {
    std::array<unsigned char, 32> digest{};
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return digest;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

bool bearer_matches(std::string_view authorization, std::string_view key) {
    constexpr std::string_view kScheme = "Bearer ";
    if (key.empty() || authorization.size() < kScheme.size()) return false;
    // The scheme is case-insensitive (RFC 7235 §2.1); it is not secret.
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(kScheme[i]))) {
            return false;
        }
    }
    // Comparing digests makes the comparison constant-time and independent of lengths.
    const auto given = sha256(authorization.substr(kScheme.size()));
    const auto expected = sha256(key);
    return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

Response error_response(unsigned status, std::string code, std::string message) {
    return {status, error_body(ApiError{static_cast<int>(status), std::move(code), std::move(message)})};
}

Router::Router(Config config, broker::Broker& broker, std::function<bool()> ready)
    : config_(std::move(config)), broker_(broker), ready_(std::move(ready)) {}

Response Router::handle(const Request& request) const {
    const std::string_view path = path_of(request.target);
    auto method_not_allowed = [&](std::string_view allow) {
        Response r = error_response(405, "method_not_allowed",
                                    fmt::format("{} does not accept {}", path, request.method));
        r.allow = allow;
        return r;
    };

    if (path == "/api/v1/emit") {
        if (request.method != "POST") return method_not_allowed("POST");
        return publish(request);
    }
    // Liveness and readiness are separate questions (the Kubernetes probe model): a draining
    // hub is alive (restarting it would cut its clients early) but should get no new clients.
    if (path == "/healthz") {
        if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
        return {200, R"({"status":"ok"})"};
    }
    if (path == "/readyz") {
        if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
        if (ready_ && !ready_()) return {503, R"({"status":"draining"})"};
        return {200, R"({"status":"ready"})"};
    }
    if (path == "/metrics") {
        if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
        return {200, metrics::registry().render(), "text/plain; version=0.0.4"};
    }
    return error_response(404, "not_found", fmt::format("no route for {}", path));
}

Response Router::publish(const Request& request) const {
    if (!bearer_matches(request.authorization, config_.api_key)) {
        return error_response(401, "unauthorized",
                              "missing or wrong API key (Authorization: Bearer <key>)");
    }
    auto batch = parse_publish(request.body, config_.limits);
    if (!batch) {
        return error_response(static_cast<unsigned>(batch.error().status), batch.error().code,
                              batch.error().message);
    }
    const std::size_t accepted = batch->size();
    if (broker_.publish(std::make_shared<const hub::EmitBatch>(std::move(*batch))) ==
        broker::PublishResult::kOverloaded) {
        Response busy = error_response(503, "overloaded",
                                       "the hub is behind on deliveries; retry shortly");
        busy.retry_after = "1";
        return busy;
    }
    metrics::registry().emits.add(static_cast<std::int64_t>(accepted));
    return {202, fmt::format(R"({{"accepted":{}}})", accepted)};
}

}  // namespace nudge::api
