// WsGather: one gathered write of the WebSocket transport, built at write time from shared
// packets without copying them. A server frame is its header — 2, 4 or 10 bytes, a function
// of the payload's length alone, since servers never mask (RFC 6455 §5.2) — then the payload:
// a packet takes two buffers, its header (kept here) and the shared packet itself; an entry
// the transport framed itself (SendQueue::Kind::kWire: the 101 answer, pongs, close frames)
// takes one. At most kMaxEntries entries, so kMaxBuffers buffers (EpollSocket::kMaxBuffers).
//
// A write may end anywhere, in a header or in a payload: progress() says how many entries
// went out whole and how many bytes of the next one's frame did, which is where the next
// gather starts it (`skip`). The header bytes must outlive only the synchronous write_some
// they are handed to, so one gather per worker serves every connection's writes in turn
// (Worker::write_gather(): constructing 128 buffer slots for each write cost ten times more
// than filling them).
//
// for_write() hands the kernel one buffer when the whole gather is small (the common case: one
// event frame of a few dozen bytes): the entries are copied into a flat block kept here, so the
// write is a send() instead of a sendmsg() over an iovec, whose setup (copying and checking the
// msghdr and the iovec) costs more in the kernel than copying a couple of KiB here.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>

#include "ws/frame_writer.hpp"

namespace nudge::net {

class WsGather {
public:
    static constexpr std::size_t kMaxEntries = 64;
    static constexpr std::size_t kMaxBuffers = 2 * kMaxEntries;
    static constexpr std::size_t kFlatBytes = 2048;

    struct Progress {
        std::size_t done;    // entries written whole
        std::size_t offset;  // bytes of the next entry's frame written, its earlier skip included
    };

    void clear() noexcept { entries_ = buffers_used_ = bytes_ = 0; }
    [[nodiscard]] bool full() const noexcept { return entries_ == kMaxEntries; }

    // Adds an entry: a packet (framed here as a text frame) or bytes sent as they are, of
    // which `skip` bytes (of the frame) were written already. False when full.
    bool add(const std::string& bytes, bool packet, std::size_t skip = 0) noexcept {
        if (full()) return false;
        std::size_t header = 0;
        if (packet) {
            header = ws::write_header(ws::Opcode::kText, bytes.size(), headers_[entries_]);
            if (skip < header) {
                buffers_[buffers_used_++] =
                    boost::asio::const_buffer(headers_[entries_].data() + skip, header - skip);
            }
        }
        const std::size_t in_payload = skip > header ? skip - header : 0;
        if (in_payload < bytes.size()) {
            buffers_[buffers_used_++] =
                boost::asio::const_buffer(bytes.data() + in_payload, bytes.size() - in_payload);
        }
        left_[entries_] = header + bytes.size() - skip;
        bytes_ += left_[entries_];
        if (entries_ == 0) first_skip_ = skip;
        ++entries_;
        return true;
    }

    [[nodiscard]] std::span<const boost::asio::const_buffer> buffers() const noexcept {
        return {buffers_.data(), buffers_used_};
    }

    // The same bytes for the write itself: one buffer (flattened here) when they are few.
    [[nodiscard]] std::span<const boost::asio::const_buffer> for_write() noexcept {
        if (buffers_used_ < 2 || bytes_ > kFlatBytes) return buffers();
        std::size_t at = 0;
        for (std::size_t i = 0; i < buffers_used_; ++i) {
            std::memcpy(flat_.data() + at, buffers_[i].data(), buffers_[i].size());
            at += buffers_[i].size();
        }
        flat_buffer_ = boost::asio::const_buffer(flat_.data(), at);
        return {&flat_buffer_, 1};
    }

    // Where a write of `written` bytes of buffers() ended.
    [[nodiscard]] Progress progress(std::size_t written) const noexcept {
        std::size_t done = 0;
        while (done < entries_ && written >= left_[done]) written -= left_[done++];
        return Progress{done, done == 0 ? first_skip_ + written : written};
    }

private:
    // Headers and counts are not zeroed on construction: add() writes each before anything
    // reads it.
    std::array<std::array<char, ws::kMaxHeaderSize>, kMaxEntries> headers_;
    std::array<boost::asio::const_buffer, kMaxBuffers> buffers_;
    std::array<std::size_t, kMaxEntries> left_;  // frame bytes of each entry still to write
    std::array<char, kFlatBytes> flat_;
    boost::asio::const_buffer flat_buffer_;
    std::size_t entries_ = 0;
    std::size_t buffers_used_ = 0;
    std::size_t bytes_ = 0;  // of all buffers
    std::size_t first_skip_ = 0;
};

}  // namespace nudge::net
