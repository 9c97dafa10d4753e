#include "hub_answer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cstdint>

namespace nudge::detail {

namespace {

namespace json = boost::json;

constexpr std::size_t kQuotedBodyBytes = 200;

std::string_view view(const json::string& s) { return {s.data(), s.size()}; }

EmitError failure(ErrorKind kind, const HubAnswer& answer) {
    EmitError error;
    error.kind = kind;
    error.status = answer.status;
    std::error_code ec;
    const json::value parsed =
        json::parse(json::string_view(answer.body.data(), answer.body.size()), ec);
    const json::value* inner = nullptr;
    if (!ec && parsed.is_object()) inner = parsed.get_object().if_contains("error");
    if (inner != nullptr && inner->is_object()) {
        const json::object& details = inner->get_object();
        if (const json::value* code = details.if_contains("code"); code && code->is_string()) {
            error.code = std::string(view(code->get_string()));
        }
        if (const json::value* message = details.if_contains("message");
            message && message->is_string()) {
            error.message = std::string(view(message->get_string()));
        }
    }
    if (error.code.empty() && error.message.empty()) {
        // Not the hub's error format: quote the answer so the reader can tell who sent it.
        error.message = answer.body.size() > kQuotedBodyBytes
                            ? answer.body.substr(0, kQuotedBodyBytes) + "…"
                            : answer.body;
        if (error.message.empty()) error.message = "(empty body)";
    }
    return error;
}

}  // namespace

tl::expected<Accepted, EmitError> interpret(const HubAnswer& answer, std::size_t events_sent) {
    const unsigned status = answer.status;
    if (status >= 200 && status < 300) {
        std::error_code ec;
        const json::value parsed =
            json::parse(json::string_view(answer.body.data(), answer.body.size()), ec);
        const json::value* count = nullptr;
        if (!ec && parsed.is_object()) count = parsed.get_object().if_contains("accepted");
        if (events_sent == 0 && count != nullptr && count->is_bool() && count->get_bool()) {
            return Accepted{0};
        }
        if (count != nullptr && count->is_int64() && count->get_int64() >= 0 &&
            static_cast<std::size_t>(count->get_int64()) == events_sent) {
            return Accepted{events_sent};
        }
        EmitError error = failure(ErrorKind::kBadResponse, answer);
        error.message =
            "expected {\"accepted\":" +
            (events_sent == 0 ? std::string("true") : std::to_string(events_sent)) + "}, got " +
            error.message;
        return tl::make_unexpected(std::move(error));
    }
    ErrorKind kind = ErrorKind::kBadResponse;
    if (status == 401) {
        kind = ErrorKind::kUnauthorized;
    } else if (status == 413) {
        kind = ErrorKind::kTooLarge;
    } else if (status >= 400 && status < 500) {
        kind = ErrorKind::kRejected;
    } else if (status >= 500 && status < 600) {
        kind = ErrorKind::kUnavailable;
    }
    return tl::make_unexpected(failure(kind, answer));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
    const auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!value.empty() && is_blank(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_blank(value.back())) value.remove_suffix(1);
    std::uint32_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) {
        return std::nullopt;
    }
    return std::chrono::seconds(seconds);
}

}  // namespace nudge::detail
