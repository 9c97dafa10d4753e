/* send_floor: the physical limit of fan-out on this machine.
 *
 *   send_floor N ROUNDS BYTES
 *
 * Opens N loopback TCP connections (the receiving ends live in a forked child that drains
 * them in epoll, so each process stays under its descriptor limit), then ROUNDS times sends one
 * BYTES-byte message on every connection with one send() each — exactly what a hub must do
 * at least once per delivery. Prints JSON: CPU µs per send() (user+system of the sender) and
 * the wall time of one round (time until the last connection has been written).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

static void die(const char *what) { die_as("send_floor", what); }

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: send_floor N ROUNDS BYTES\n");
        return 2;
    }
    const int n = atoi(argv[1]), rounds = atoi(argv[2]), bytes = atoi(argv[3]);
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4096)) die("listen");
    socklen_t len = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &len);

    pid_t child = fork();
    if (child == 0) {
        /* Receiver: connect N, then read until every peer closes. It waits the way nudge-loadgen
         * (Asio) and real clients do, in epoll with edge-triggered registrations, because the
         * sender pays for waking its reader: a poll()-based reader, busy scanning 10k
         * descriptors, is woken less often and makes the floor look cheaper than it is. */
        int ep = epoll_create1(0);
        if (ep < 0) die("epoll_create1");
        for (int i = 0; i < n; i++) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (connect(fd, (struct sockaddr *)&addr, sizeof addr) && errno != EINPROGRESS) die("connect");
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = fd};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) die("epoll_ctl");
        }
        char buf[65536];
        struct epoll_event events[256];
        int open_count = n;
        while (open_count > 0) {
            int ready = epoll_wait(ep, events, 256, 10000);
            if (ready <= 0) break;
            for (int e = 0; e < ready; e++) {
                if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
                for (;;) {
                    ssize_t got = read(events[e].data.fd, buf, sizeof buf);
                    if (got > 0) continue;
                    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                    close(events[e].data.fd);
                    open_count--;
                    break;
                }
            }
        }
        _exit(0);
    }

    int *conns = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        conns[i] = accept(listener, NULL, NULL);
        if (conns[i] < 0) die("accept");
        int one = 1;
        setsockopt(conns[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char *message = malloc((size_t)bytes);
    memset(message, 'x', (size_t)bytes);
    double total_wall = 0;
    const double cpu0 = cpu_us();
    for (int r = 0; r < rounds; r++) {
        const double t0 = wall_us();
        for (int i = 0; i < n; i++) {
            if (send(conns[i], message, (size_t)bytes, MSG_NOSIGNAL) != bytes) die("send");
        }
        total_wall += wall_us() - t0;
        usleep(20000); /* let the receiver drain between rounds */
    }
    const double cpu = cpu_us() - cpu0;
    for (int i = 0; i < n; i++) close(conns[i]);
    waitpid(child, NULL, 0);
    printf("{\"connections\":%d,\"rounds\":%d,\"bytes\":%d,\"cpu_us_per_send\":%.3f,\"round_ms\":%.3f}\n", n, rounds,
           bytes, cpu / ((double)n * rounds), total_wall / rounds / 1000.0);
    return 0;
}
