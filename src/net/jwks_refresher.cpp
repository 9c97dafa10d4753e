#include "net/jwks_refresher.hpp"

#include "common/authority.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fstream>
#include <functional>
#include <sstream>

#include "metrics/metrics.hpp"

namespace nudge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

Result<std::string, std::string> read_jwks_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("--jwt-jwks: cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string document = text.str();
    if (document.size() > auth::kMaxJwksBytes) {
        return fail("--jwt-jwks: " + path + " is over 1 MiB");
    }
    return document;
}

// One GET on a connected stream (tcp_stream or ssl_stream over it): write, then read into
// `parser`. `done` gets the stage that failed ("request", "response") or an empty one.
template <class Stream>
void exchange(Stream& stream, const http::request<http::empty_body>& request,
              beast::flat_buffer& buffer, http::response_parser<http::string_body>& parser,
              const std::function<void(std::string_view, beast::error_code)>& done) {
    http::async_write(stream, request,
                      [&stream, &buffer, &parser, done](beast::error_code ec, std::size_t) {
                          if (ec) {
                              done("request", ec);
                              return;
                          }
                          http::async_read(stream, buffer, parser,
                                           [done](beast::error_code read_ec, std::size_t) {
                                               done(read_ec ? "response" : "", read_ec);
                                           });
                      });
}

// The certificate store https fetches trust: --jwt-jwks-ca, or the system's. TLS 1.2 at least.
Result<asio::ssl::context, std::string> make_tls_context(const JwksConfig& config) {
    asio::ssl::context context(asio::ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION) != 1) {
        return fail(std::string("--jwt-jwks: cannot require TLS 1.2"));
    }
    context.set_verify_mode(asio::ssl::verify_peer);
    beast::error_code ec;
    if (config.ca_file.empty()) {
        context.set_default_verify_paths(ec);
        if (ec) return fail("--jwt-jwks: cannot load the system CA store: " + ec.message());
    } else {
        context.load_verify_file(config.ca_file, ec);
        if (ec) {
            return fail("--jwt-jwks-ca: cannot load " + config.ca_file + ": " + ec.message());
        }
    }
    return context;
}

// Why a TLS handshake failed, in words: the certificate check's verdict when there is one
// ("self-signed certificate", "hostname mismatch", "certificate has expired"), else the error.
std::string tls_failure(SSL* ssl, const beast::error_code& ec) {
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) {
        return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verdict);
    }
    return ec.message();
}

Result<std::string, std::string> get_jwks_url(const JwksConfig& config) {
    auto url = parse_jwks_url(config.source);
    if (!url) return fail("--jwt-jwks: " + url.error());
    const std::string where =
        (url->host.find(':') == std::string::npos ? url->host : "[" + url->host + "]") + ":" +
        url->port;
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::error_code resolve_ec;
    const auto endpoints = resolver.resolve(url->host, url->port, resolve_ec);
    if (resolve_ec || endpoints.empty()) {
        return fail("--jwt-jwks: cannot resolve " + url->host + ": " + resolve_ec.message());
    }
    http::request<http::empty_body> request{http::verb::get, url->target, 11};
    request.set(http::field::host, url->authority);
    request.set(http::field::user_agent, "nudged");
    request.set(http::field::accept, "application/json");
    request.keep_alive(false);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(auth::kMaxJwksBytes);
    std::string failure;
    auto done = [&failure, &where](std::string_view stage, beast::error_code ec) {
        if (!stage.empty()) {
            failure = std::string(stage) + " to " + where + " failed: " + ec.message();
        }
    };

    // One deadline for connect, TLS handshake, write and read (the tcp_stream's timer, which
    // the TLS layer's operations run through), all run on this thread by io.run().
    if (!url->tls) {
        beast::tcp_stream stream(io);
        stream.expires_after(config.timeout);
        stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
            if (ec) {
                done("connect", ec);
                return;
            }
            exchange(stream, request, buffer, parser, done);
        });
        io.run();
    } else {
        auto context = make_tls_context(config);
        if (!context) return fail(std::move(context.error()));
        beast::ssl_stream<beast::tcp_stream> stream(io, *context);
        boost::system::error_code not_address;
        (void)asio::ip::make_address(url->host, not_address);
        // SNI carries DNS names only (RFC 6066 §3): never an IP address literal.
        if (not_address &&
            SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str()) != 1) {
            return fail("--jwt-jwks: cannot set TLS SNI for " + url->host);
        }
        // The chain must verify and its leaf must name the host; a mismatch is recorded as
        // the certificate error so the log says "hostname mismatch", not only "verify failed".
        stream.set_verify_callback(
            [check = asio::ssl::host_name_verification(url->host), ip = !not_address](
                bool preverified, asio::ssl::verify_context& verify) {
                if (check(preverified, verify)) return true;
                X509_STORE_CTX* store = verify.native_handle();
                if (preverified && X509_STORE_CTX_get_error(store) == X509_V_OK) {
                    X509_STORE_CTX_set_error(
                        store, ip ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH);
                }
                return false;
            });
        beast::get_lowest_layer(stream).expires_after(config.timeout);
        beast::get_lowest_layer(stream).async_connect(endpoints, [&](beast::error_code ec,
                                                                     const tcp::endpoint&) {
            if (ec) {
                done("connect", ec);
                return;
            }
            stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code hs_ec) {
                if (hs_ec) {
                    failure = "TLS handshake with " + where +
                              " failed: " + tls_failure(stream.native_handle(), hs_ec);
                    return;
                }
                exchange(stream, request, buffer, parser, done);
            });
        });
        io.run();
        // No TLS close_notify: the whole response is read (Content-Length or chunked framing;
        // a body cut short by the peer fails the read), and the connection is not reused.
    }
    if (!failure.empty()) return fail("--jwt-jwks: GET " + config.source + ": " + failure);
    const unsigned status = parser.get().result_int();
    if (status >= 300 && status < 400) {
        const auto location = parser.get()[http::field::location];
        return fail("--jwt-jwks: GET " + config.source + " answered " + std::to_string(status) +
                    " (redirects are not followed; set --jwt-jwks to the final URL, Location: " +
                    std::string(location.substr(0, 200)) + ")");
    }
    if (status != 200) {
        return fail("--jwt-jwks: GET " + config.source + " answered " + std::to_string(status));
    }
    return std::move(parser.get().body());
}

}  // namespace

Result<JwksUrl, std::string> parse_jwks_url(std::string_view url) {
    JwksUrl parsed;
    std::string_view rest;
    if (url.starts_with("https://")) {
        parsed.tls = true;
        parsed.port = "443";
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        parsed.port = "80";
        rest = url.substr(7);
    } else {
        return fail("expected http(s)://host[:port]/path, got \"" + std::string(url) + "\"");
    }
    rest = rest.substr(0, rest.find('#'));  // a fragment is never sent (RFC 9110 §4.2.4)
    const std::size_t path = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path);
    if (path == std::string_view::npos) {
        parsed.target = "/";
    } else {
        parsed.target = rest[path] == '/' ? std::string(rest.substr(path))
                                          : "/" + std::string(rest.substr(path));
    }
    const auto bad = [&url](std::string_view why) {
        return fail(std::string(why) + " in \"" + std::string(url) + "\"");
    };
    if (authority.find('@') != std::string_view::npos) return bad("credentials are not allowed");
    auto host_port = split_authority(authority);
    if (!host_port) return bad(host_port.error());
    if (host_port->port) parsed.port = std::to_string(*host_port->port);
    parsed.host = std::string(host_port->host);
    parsed.authority = std::string(authority);
    return parsed;
}

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
