// JwksRefresher: keeps an auth::KeySet current from --jwt-jwks (a file, an http:// or an
// https:// URL).
//
// load_now() fetches once, blocking (startup: a hub that cannot read its keys does not
// start). start() runs a thread of its own that fetches again every `refresh` and, when a
// worker saw a token with an unknown kid (request_refresh(), non-blocking), sooner — but never
// more often than every `min_refresh`, so a flood of made-up kids costs at most one fetch per
// interval. A document that fails to fetch or parse is logged and the last good set stays.
// Only the configured source is ever fetched (token headers such as jku are never read).
//
// https: the server's certificate chain is verified (against --jwt-jwks-ca when given, else the
// system's CA store) and must name the URL's host (DNS name or IP address, RFC 6125); SNI is
// sent for DNS names. There is no insecure mode. Redirects are never followed: a 3xx answer is
// a failed fetch naming its Location, so a compromised or misconfigured server cannot move the
// hub to another origin (or from https down to http).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "auth/jwks.hpp"
#include "common/result.hpp"

namespace nudge::net {

struct JwksConfig {
    std::string source;                    // file path, http:// or https:// URL; empty: none
    std::string ca_file;                   // PEM bundle trusted for https instead of the system's
    std::chrono::seconds refresh{300};     // scheduled refetch
    std::chrono::seconds min_refresh{10};  // at most one fetch per this, unknown kids included
    std::chrono::milliseconds timeout{5000};  // per HTTP fetch
};

// Where an http:// or https:// --jwt-jwks URL points. Pure: nothing is resolved.
struct JwksUrl {
    bool tls = false;       // https://
    std::string host;       // DNS name or IP address (IPv6 without brackets): connect, verify, SNI
    std::string port;       // "80" / "443" unless the URL names one
    std::string authority;  // the URL's host[:port], for the Host header
    std::string target;     // path and query ("/" when the URL has no path); no fragment
};

[[nodiscard]] Result<JwksUrl, std::string> parse_jwks_url(std::string_view url);

// The document's text from a file or an http(s):// URL (status 200, at most 1 MiB).
[[nodiscard]] Result<std::string, std::string> fetch_jwks_document(const JwksConfig& config);

class JwksRefresher {
public:
    JwksRefresher(JwksConfig config, std::shared_ptr<auth::KeySet> keys);
    ~JwksRefresher();
    JwksRefresher(const JwksRefresher&) = delete;
    JwksRefresher& operator=(const JwksRefresher&) = delete;

    // Fetch and install now; the error says why nothing was installed.
    [[nodiscard]] Result<std::size_t, std::string> load_now();
    void start();
    // Thread-safe, never blocks on I/O.
    void request_refresh();

private:
    void run();

    JwksConfig config_;
    std::shared_ptr<auth::KeySet> keys_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    bool requested_ = false;
    std::chrono::steady_clock::time_point last_fetch_{};
    std::thread thread_;
};

}  // namespace nudge::net
