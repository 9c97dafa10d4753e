// Link: one Redis connection as the Redis broker sees it, whatever carries its bytes.
//
// BasicConnection is a template over its stream (TCP in the hub, an in-memory test stream in
// tests); the broker holds its links through this interface so that the same broker code runs
// over either, and its tests can fail the n-th read or write of a link (tests/unit/broker).
// LinkOver<Stream> adapts a BasicConnection; see redis/connection.hpp for every contract
// (threading, modes, timeouts, callbacks).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "redis/connection.hpp"

namespace nudge::redis {

class Link {
public:
    using Callback = std::function<void(Reply)>;
    virtual ~Link() = default;

    virtual void connect(std::function<void(std::string error)> done) = 0;
    virtual void command(std::span<const std::string_view> args, Callback done) = 0;
    void command(std::initializer_list<std::string_view> args, Callback done) {
        command(std::span<const std::string_view>(args.begin(), args.size()), std::move(done));
    }
    virtual void set_push_handler(Callback handler) = 0;
    virtual void set_close_handler(std::function<void(std::string reason)> handler) = 0;
    virtual void close() = 0;
    virtual void pause_reading() = 0;
    virtual void resume_reading() = 0;
    [[nodiscard]] virtual std::size_t pending() const noexcept = 0;
};

using LinkPtr = std::shared_ptr<Link>;

template <class Stream>
class LinkOver final : public Link {
public:
    explicit LinkOver(std::shared_ptr<BasicConnection<Stream>> connection)
        : connection_(std::move(connection)) {}
    // Ends the connection when its owner lets go (a BasicConnection stays open otherwise).
    ~LinkOver() override { connection_->close(); }
    LinkOver(const LinkOver&) = delete;
    LinkOver& operator=(const LinkOver&) = delete;

    void connect(std::function<void(std::string)> done) override { connection_->connect(std::move(done)); }
    using Link::command;
    void command(std::span<const std::string_view> args, Callback done) override {
        connection_->command(args, std::move(done));
    }
    void set_push_handler(Callback handler) override { connection_->set_push_handler(std::move(handler)); }
    void set_close_handler(std::function<void(std::string)> handler) override {
        connection_->set_close_handler(std::move(handler));
    }
    void close() override { connection_->close(); }
    void pause_reading() override { connection_->pause_reading(); }
    void resume_reading() override { connection_->resume_reading(); }
    [[nodiscard]] std::size_t pending() const noexcept override { return connection_->pending(); }

private:
    std::shared_ptr<BasicConnection<Stream>> connection_;
};

// Makes the links of a broker: one per (endpoint, mode), not connected yet.
using LinkFactory = std::function<LinkPtr(const Endpoint& endpoint, Mode mode, const ConnectionOptions& options)>;

}  // namespace nudge::redis
