#include "ws/frame_parser.hpp"

#include <algorithm>
#include <cstring>

#include "ws/utf8.hpp"

namespace nudge::ws {
namespace {

bool is_control(Opcode opcode) noexcept { return (static_cast<std::uint8_t>(opcode) & 0x8) != 0; }

bool is_known(std::uint8_t opcode) noexcept {
    return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

// §7.4.1 and §7.4.2 (plus the IANA registrations 1012-1014): codes a peer may send.
bool is_valid_close_code(std::uint16_t code) noexcept {
    if (code >= 3000) return code <= 4999;
    if (code < 1000 || code > 1014) return false;
    return code != 1004 && code != 1005 && code != 1006;
}

// §5.5.1: empty, or a two-byte code followed by a UTF-8 reason.
Result<void, Error> check_close_payload(std::string_view payload) {
    if (payload.empty()) return {};
    if (payload.size() == 1) return fail(Error::kBadClosePayload);
    const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                 static_cast<unsigned char>(payload[1]));
    if (!is_valid_close_code(code)) return fail(Error::kBadClosePayload);
    if (!is_valid_utf8(payload.substr(2))) return fail(Error::kInvalidUtf8);
    return {};
}

// §5.3: byte i of the payload is XORed with mask[i % 4]; `offset` is the index of the
// first byte of `bytes` within the frame's payload. Works a 64-bit word at a time.
void unmask(std::span<char> bytes, const std::array<unsigned char, 4>& mask,
            std::size_t offset) noexcept {
    std::array<unsigned char, 8> pattern{};
    for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = mask[(offset + i) % 4];
    std::uint64_t word_mask;
    std::memcpy(&word_mask, pattern.data(), sizeof word_mask);

    char* const data = bytes.data();
    const std::size_t size = bytes.size();
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, data + i, sizeof word);
        word ^= word_mask;
        std::memcpy(data + i, &word, sizeof word);
    }
    for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ static_cast<char>(pattern[i % 8]));
}

}  // namespace

FrameParser::FrameParser(std::size_t max_message_size) : max_message_size_(max_message_size) {}

bool FrameParser::idle() const noexcept {
    return header_size_ == 0 && !in_payload_ && !in_message_;
}

void FrameParser::discard() noexcept {
    *this = FrameParser(max_message_size_);
    // Move assignment keeps the target string's heap buffer (libstdc++): free it explicitly.
    std::string().swap(partial_message_);
}

std::size_t FrameParser::buffered_bytes() const noexcept {
    // An empty string's inline capacity is part of the object, not heap.
    const std::size_t capacity = partial_message_.capacity();
    const std::size_t heap = capacity > std::string().capacity() ? capacity : 0;
    return heap + (control_ ? kMaxControlPayload : 0);
}

Result<FrameParser::Step, Error> FrameParser::step(std::span<char> data) {
    if (error_) return fail(*error_);
    auto result = in_payload_ ? take_payload(data, 0) : start_frame(data);
    if (!result) {
        // The parser is dead; keep no memory around until its owner destroys it.
        error_ = result.error();
        std::string().swap(partial_message_);
        control_.reset();
        release_after_delivery_ = false;
        joined_ = nullptr;
        storage_ = Storage::kNone;
        return result;
    }
    // A message joined in the caller's buffer cannot outlive this feed() call.
    if (result->consumed == data.size() && storage_ == Storage::kBuffer) own_message();
    return result;
}

Result<FrameParser::Header, Error> FrameParser::parse_header(std::span<const char> bytes) const {
    // §5.2. The checks that need only the first two bytes run as soon as they are here, the
    // same way whether the header arrives whole or split.
    if (bytes.size() < 2) return Header{0, 0};
    const auto byte0 = static_cast<unsigned char>(bytes[0]);
    const auto byte1 = static_cast<unsigned char>(bytes[1]);
    if ((byte0 & 0x70) != 0) return fail(Error::kReservedBits);
    const auto raw_opcode = static_cast<std::uint8_t>(byte0 & 0x0F);
    if (!is_known(raw_opcode)) return fail(Error::kUnknownOpcode);
    if ((byte1 & 0x80) == 0) return fail(Error::kUnmaskedFrame);
    const auto opcode = static_cast<Opcode>(raw_opcode);
    const bool fin = (byte0 & 0x80) != 0;
    const unsigned length7 = byte1 & 0x7Fu;
    std::size_t prior = 0;  // bytes of the same message already accepted
    if (is_control(opcode)) {
        // §5.5: control frames are never fragmented and their length fits in 7 bits.
        if (!fin) return fail(Error::kFragmentedControlFrame);
        if (length7 > kMaxControlPayload) return fail(Error::kControlFrameTooLong);
    } else if (opcode == Opcode::kContinuation) {
        if (!in_message_) return fail(Error::kUnexpectedContinuation);
        prior = message_size_;
    } else if (in_message_) {
        return fail(Error::kExpectedContinuation);  // §5.4: no interleaved data messages
    }

    const std::size_t extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
    const std::size_t size = 2 + extended + 4;
    if (bytes.size() < size) return Header{0, 0};
    std::uint64_t length = length7;
    if (extended != 0) {
        length = 0;
        for (std::size_t i = 0; i < extended; ++i) {
            length = (length << 8) | static_cast<unsigned char>(bytes[2 + i]);
        }
        if ((length >> 63) != 0) return fail(Error::kBadLength);
    }
    // Refuse before buffering anything: a peer must not make us hold what we will reject.
    // Invariant: prior <= max_message_size_.
    if (length > max_message_size_ - prior) return fail(Error::kMessageTooBig);
    return Header{size, static_cast<std::size_t>(length)};
}

Result<FrameParser::Step, Error> FrameParser::start_frame(std::span<char> data) {
    // Gather the header: straight from `data` when it starts there, else continue the bytes
    // kept from earlier calls (at most 14, so they live inside the parser, not on the heap).
    std::array<char, kMaxFrameHeader> scratch{};
    const char* header = data.data();
    std::size_t taken = 0;  // bytes of `data` that belong to the header
    Header parsed{};
    if (header_size_ == 0) {
        auto result = parse_header(data);
        if (!result) return fail(result.error());
        parsed = *result;
        if (parsed.size == 0) {
            std::copy_n(data.data(), data.size(), header_.data());
            header_size_ = static_cast<std::uint8_t>(data.size());
            return Step{false, {}, data.size()};
        }
        taken = parsed.size;
    } else {
        const std::size_t add = std::min(kMaxFrameHeader - header_size_, data.size());
        std::copy_n(header_.data(), header_size_, scratch.data());
        std::copy_n(data.data(), add, scratch.data() + header_size_);
        auto result = parse_header(std::span<const char>(scratch.data(), header_size_ + add));
        if (!result) return fail(result.error());
        parsed = *result;
        if (parsed.size == 0) {
            // Incomplete although we offered every byte up to the longest header: so `add`
            // was all of `data`.
            std::copy_n(data.data(), add, header_.data() + header_size_);
            header_size_ = static_cast<std::uint8_t>(header_size_ + add);
            return Step{false, {}, add};
        }
        header = scratch.data();
        taken = parsed.size - header_size_;
        header_size_ = 0;
    }

    const auto byte0 = static_cast<unsigned char>(header[0]);
    frame_fin_ = (byte0 & 0x80) != 0;
    frame_opcode_ = static_cast<Opcode>(byte0 & 0x0F);
    const char* mask = header + parsed.size - mask_.size();
    for (std::size_t i = 0; i < mask_.size(); ++i) mask_[i] = static_cast<unsigned char>(mask[i]);
    frame_size_ = parsed.payload_size;
    frame_received_ = 0;
    in_payload_ = true;
    if (frame_opcode_ == Opcode::kText || frame_opcode_ == Opcode::kBinary) {
        in_message_ = true;
        message_opcode_ = frame_opcode_;
        message_size_ = frame_size_;
    } else if (frame_opcode_ == Opcode::kContinuation) {
        message_size_ += frame_size_;
    }
    return take_payload(data.subspan(taken), taken);
}

Result<FrameParser::Step, Error> FrameParser::take_payload(std::span<char> data,
                                                           std::size_t consumed) {
    // Zero copy: the whole payload is in the caller's buffer, unmask it where it lies.
    if (frame_received_ == 0 && data.size() >= frame_size_) {
        const auto payload = data.first(frame_size_);
        unmask(payload, mask_, 0);
        in_payload_ = false;
        return finish_frame(payload, true, consumed + frame_size_);
    }

    // The frame spans feed() calls: copy what is here. No reserve() from the declared
    // length: a peer that sends a large header and then trickles would make every
    // connection hold the maximum; growth follows the bytes actually received.
    const std::size_t size = std::min(frame_size_ - frame_received_, data.size());
    const auto chunk = data.first(size);
    unmask(chunk, mask_, frame_received_);
    if (is_control(frame_opcode_)) {
        if (!control_) control_ = std::make_unique<std::array<char, kMaxControlPayload>>();
        std::copy_n(chunk.data(), chunk.size(), control_->data() + frame_received_);
    } else {
        own_message();
        partial_message_.append(chunk.data(), chunk.size());
    }
    frame_received_ += size;
    consumed += size;
    if (frame_received_ < frame_size_) return Step{false, {}, consumed};

    in_payload_ = false;
    if (is_control(frame_opcode_)) {
        return finish_frame(std::span<char>(control_->data(), frame_size_), false, consumed);
    }
    return finish_frame({}, false, consumed);
}

Result<FrameParser::Step, Error> FrameParser::finish_frame(std::span<char> payload, bool in_buffer,
                                                           std::size_t consumed) {
    if (is_control(frame_opcode_)) {
        if (frame_opcode_ == Opcode::kClose) {
            auto checked = check_close_payload(std::string_view(payload.data(), payload.size()));
            if (!checked) return fail(checked.error());
        }
        return Step{true, Message{frame_opcode_, std::string_view(payload.data(), payload.size())},
                    consumed};
    }

    // A data frame: join its payload to the message (take_payload() already appended it
    // when it was copied).
    if (in_buffer) {
        switch (storage_) {
            case Storage::kNone:
                joined_ = payload.data();
                joined_size_ = payload.size();
                storage_ = Storage::kBuffer;
                break;
            case Storage::kBuffer:
                // Fragments later in the buffer slide down over the headers in between, so
                // the message ends up contiguous where its first fragment started.
                std::memmove(joined_ + joined_size_, payload.data(), payload.size());
                joined_size_ += payload.size();
                break;
            case Storage::kOwned:
                partial_message_.append(payload.data(), payload.size());
                break;
        }
    }
    if (!frame_fin_) return Step{false, {}, consumed};

    std::string_view message;
    if (storage_ == Storage::kBuffer) {
        message = std::string_view(joined_, joined_size_);
    } else {
        message = partial_message_;
        release_after_delivery_ = true;
    }
    joined_ = nullptr;
    joined_size_ = 0;
    message_size_ = 0;
    storage_ = Storage::kNone;
    in_message_ = false;
    if (message_opcode_ == Opcode::kText && !is_valid_utf8(message)) {
        return fail(Error::kInvalidUtf8);
    }
    return Step{true, Message{message_opcode_, message}, consumed};
}

void FrameParser::own_message() {
    if (storage_ == Storage::kBuffer) partial_message_.assign(joined_, joined_size_);
    joined_ = nullptr;
    joined_size_ = 0;
    storage_ = Storage::kOwned;
}

void FrameParser::after_message(bool stopped) {
    if (release_after_delivery_) {
        // Swap, not clear(): clear() keeps the capacity, and an idle parser owns nothing.
        std::string().swap(partial_message_);
        release_after_delivery_ = false;
    }
    // A delivered control payload that had spanned feeds is done with (a frame still in
    // progress keeps control_: it is only ever allocated by the frame being received).
    if (control_ && !in_payload_) control_.reset();
    if (stopped && storage_ == Storage::kBuffer) own_message();
}

}  // namespace nudge::ws
