#include "broker/state_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace nudge::broker {

int FileCalls::open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
ssize_t FileCalls::write(int fd, const void* data, std::size_t size) {
    return ::write(fd, data, size);
}
ssize_t FileCalls::read(int fd, void* data, std::size_t size) { return ::read(fd, data, size); }
int FileCalls::fsync(int fd) { return ::fsync(fd); }
int FileCalls::close(int fd) { return ::close(fd); }
int FileCalls::rename(const char* from, const char* to) { return ::rename(from, to); }
int FileCalls::unlink(const char* path) { return ::unlink(path); }

namespace {

std::string failed(std::string_view what, const std::string& path) {
    return fmt::format("cannot {} {}: {}", what, path, std::strerror(errno));
}

}  // namespace

StateStore::StateStore(std::string dir, FileCalls* calls)
    : dir_(std::move(dir)),
      path_(dir_ + "/nudged.state"),
      tmp_path_(dir_ + "/nudged.state.tmp"),
      calls_(calls != nullptr ? calls : &default_calls_) {}

Result<void, std::string> StateStore::check_dir(const std::string& dir) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) return fail(failed("use the state directory", dir));
    if (!S_ISDIR(info.st_mode)) {
        return fail(fmt::format("the state directory {} is not a directory", dir));
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        return fail(failed("write to the state directory", dir));
    }
    return {};
}

Result<void, std::string> StateStore::sync_dir() {
    const int fd = calls_->open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) return fail(failed("open the state directory", dir_));
    const bool synced = calls_->fsync(fd) == 0;
    std::string error = synced ? std::string() : failed("fsync the state directory", dir_);
    calls_->close(fd);
    if (!synced) return fail(std::move(error));
    return {};
}

Result<void, std::string> StateStore::save(std::string_view bytes) {
    const int fd = calls_->open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail(failed("create", tmp_path_));
    std::string error;
    while (!bytes.empty() && error.empty()) {
        const ssize_t n = calls_->write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            error = failed("write", tmp_path_);
        } else {
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    if (error.empty() && calls_->fsync(fd) != 0) error = failed("fsync", tmp_path_);
    if (calls_->close(fd) != 0 && error.empty()) error = failed("close", tmp_path_);
    if (error.empty() && calls_->rename(tmp_path_.c_str(), path_.c_str()) != 0) {
        error = failed("rename the state file to", path_);
    }
    if (!error.empty()) {
        // Best effort: a stray .tmp is never read, and the next save replaces it.
        calls_->unlink(tmp_path_.c_str());
        return fail(std::move(error));
    }
    return sync_dir();
}

Result<std::optional<std::string>, std::string> StateStore::take() {
    const int fd = calls_->open(path_.c_str(), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT) return std::optional<std::string>();
        return fail(failed("open", path_));
    }
    std::string bytes;
    std::string error;
    char buffer[65536];
    for (;;) {
        const ssize_t n = calls_->read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = failed("read", path_);
        if (n <= 0) break;
        bytes.append(buffer, static_cast<std::size_t>(n));
    }
    calls_->close(fd);
    // Removed whether or not it was readable: used at most once, and a bad file is not
    // reported again at every start.
    if (calls_->unlink(path_.c_str()) != 0) {
        return fail(error.empty() ? failed("remove", path_) : error);
    }
    if (auto synced = sync_dir(); !synced) return fail(synced.error());
    if (!error.empty()) return fail(std::move(error));
    return std::optional<std::string>(std::move(bytes));
}

}  // namespace nudge::broker
