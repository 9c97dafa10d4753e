#include "nudge/emit_error.hpp"

namespace nudge {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::kInvalidArgument:
            return "invalid_argument";
        case ErrorKind::kUnreachable:
            return "unreachable";
        case ErrorKind::kTimeout:
            return "timeout";
        case ErrorKind::kUnauthorized:
            return "unauthorized";
        case ErrorKind::kRejected:
            return "rejected";
        case ErrorKind::kTooLarge:
            return "too_large";
        case ErrorKind::kUnavailable:
            return "unavailable";
        case ErrorKind::kBadResponse:
            return "bad_response";
    }
    return "unknown";
}

bool is_transient(ErrorKind kind) noexcept {
    return kind == ErrorKind::kUnreachable || kind == ErrorKind::kTimeout ||
           kind == ErrorKind::kUnavailable;
}

std::string EmitError::describe() const {
    std::string text;
    switch (kind) {
        case ErrorKind::kInvalidArgument:
            text = "invalid argument";
            break;
        case ErrorKind::kUnreachable:
            text = "cannot reach the hub at " + url;
            break;
        case ErrorKind::kTimeout:
            text = "no answer in time from the hub at " + url;
            break;
        case ErrorKind::kUnauthorized:
            text = "the hub at " + url + " refused the API key";
            break;
        case ErrorKind::kRejected:
            text = "the hub at " + url + " rejected the request";
            break;
        case ErrorKind::kTooLarge:
            text = "the hub at " + url + " refused the request as too large";
            break;
        case ErrorKind::kUnavailable:
            text = "the hub at " + url + " is unavailable";
            break;
        case ErrorKind::kBadResponse:
            text = "unexpected answer from " + url;
            break;
    }
    if (status != 0) {
        text += " (" + std::to_string(status);
        if (!code.empty()) text += " " + code;
        text += ")";
    }
    if (!message.empty()) text += ": " + message;
    if (kind == ErrorKind::kTooLarge) text += "; send fewer or smaller events per request";
    if (attempts > 1) {
        text += " (after " + std::to_string(attempts) + " attempts";
        if (retry_budget_spent) {
            text +=
                ", retry budget of " + std::to_string(retry_budget_spent->count()) + " ms spent";
        }
        text += ")";
    }
    if (accepted > 0) {
        text += "; the " + std::to_string(accepted) + " events before it were accepted";
    }
    return text;
}

}  // namespace nudge
