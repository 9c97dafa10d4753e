/* targeted_floor: the fewest system calls a hub can spend on targeted events, on this machine.
 *
 *   targeted_floor CLIENTS CONNECTIONS EVENTS_PER_REQUEST EVENTS
 *
 * Opens CLIENTS "client" and CONNECTIONS "publisher" loopback TCP connections; their far ends
 * live in a forked child, which sends publish requests on every publisher connection in series
 * (a keep-alive HTTP/1.1 POST shaped like bench/run.mjs's: one event, or a batch of them) and
 * drains the clients. This process, single-threaded on epoll, does per request exactly what
 * the hub cannot do without: one read() of the request, one write() of one WebSocket frame to
 * a random client per event in it, one write() of the 202 answer. No parsing beyond finding
 * the end of the request, no JSON, no rooms, no locks. Prints JSON: CPU µs per event (user +
 * system of this process, from the first request to the last answer) and the wall time.
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

enum { kMaxRequest = 65536 };

static void die(const char *what) { die_as("targeted_floor", what); }

static void write_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("write");
        data += n;
        size -= (size_t)n;
    }
}

/* The request one publisher connection sends: `batch` events to random user_<i> rooms. */
static size_t build_request(char *out, int batch, int users) {
    static char body[kMaxRequest - 512];
    size_t len = 0;
    if (batch > 1) len += (size_t)sprintf(body + len, "{\"events\":[");
    for (int i = 0; i < batch; i++) {
        len += (size_t)sprintf(body + len, "%s{\"room\":\"user_%d\",\"event\":\"balance_updated\",\"data\":{\"n\":%d}}",
                               i ? "," : "", rand() % users, i);
    }
    if (batch > 1) len += (size_t)sprintf(body + len, "]}");
    return (size_t)sprintf(out,
                           "POST /api/v1/emit HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-api-key\r\n"
                           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%.*s",
                           len, (int)len, body);
}

static const char kAnswer[] =
    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"delivered\":1}";

/* The child: publishers in series per connection, every client drained. */
static void publish_and_drain(const int *pubs, int connections, const int *clients, int count, int batch, long events) {
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = 0; i < connections + count; i++) {
        int fd = i < connections ? pubs[i] : clients[i - connections];
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (unsigned long long)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    }
    static char request[kMaxRequest];
    const size_t request_len = build_request(request, batch, count);
    long requests = events / batch, sent = 0, answered = 0;
    size_t *got = calloc((size_t)connections, sizeof *got);
    for (int i = 0; i < connections && sent < requests; i++, sent++) write_all(pubs[i], request, request_len);
    struct epoll_event ready[256];
    static char sink[65536];
    while (answered < requests) {
        int n = epoll_wait(ep, ready, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("epoll_wait");
        for (int k = 0; k < n; k++) {
            int i = (int)ready[k].data.u64;
            int fd = i < connections ? pubs[i] : clients[i - connections];
            ssize_t r = read(fd, sink, sizeof sink);
            if (r < 0) die("read (child)");
            if (r == 0) {
                /* The parent closes every connection after its last answer: a client's end,
                 * or a publisher whose answers are all read, may see that before another
                 * publisher's last answer is read here. */
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                continue;
            }
            if (i >= connections) continue;
            got[i] += (size_t)r;
            while (got[i] >= sizeof kAnswer - 1) {
                got[i] -= sizeof kAnswer - 1;
                answered++;
                if (sent < requests) {
                    write_all(fd, request, request_len);
                    sent++;
                }
            }
        }
    }
    /* Frames still on their way: drain until the parent closes. */
    for (;;) {
        int n = epoll_wait(ep, ready, 256, 200);
        if (n <= 0) break;
        for (int k = 0; k < n; k++) {
            int i = (int)ready[k].data.u64;
            int fd = i < connections ? pubs[i] : clients[i - connections];
            if (read(fd, sink, sizeof sink) <= 0) epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: targeted_floor CLIENTS CONNECTIONS EVENTS_PER_REQUEST EVENTS\n");
        return 2;
    }
    const int count = atoi(argv[1]), connections = atoi(argv[2]), batch = atoi(argv[3]);
    const long events = atol(argv[4]);
    if (count < 1 || connections < 1 || batch < 1 || batch > 200 || events < batch) {
        fprintf(stderr, "targeted_floor: CLIENTS and CONNECTIONS must be at least 1, EVENTS_PER_REQUEST 1 to 200, EVENTS at least EVENTS_PER_REQUEST\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &alen) < 0) {
        die("listen");
    }
    const int total = connections + count;
    /* The far ends are the child's: each process holds one end of each connection, so both stay
     * under the descriptor limit. The child connects one at a time, publishers first, so the
     * accept order here is the connect order. */
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        close(listener);
        int *far = malloc(sizeof(int) * (size_t)total);
        for (int i = 0; i < total; i++) {
            far[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (far[i] < 0 || connect(far[i], (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
            int one = 1;
            setsockopt(far[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        publish_and_drain(far, connections, far + connections, count, batch, events);
        _exit(0);
    }
    int *near = malloc(sizeof(int) * (size_t)total);
    for (int i = 0; i < total; i++) {
        near[i] = accept(listener, NULL, NULL);
        if (near[i] < 0) die("accept");
        int one = 1;
        setsockopt(near[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    close(listener);

    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = 0; i < connections; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (unsigned long long)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, near[i], &ev) < 0) die("epoll_ctl");
    }
    /* One 42["balance_updated",{"n":1}] text frame: a 2-byte header and its payload. */
    static const char payload[] = "42[\"balance_updated\",{\"n\":1}]";
    char frame[2 + sizeof payload];
    frame[0] = (char)0x81;
    frame[1] = (char)(sizeof payload - 1);
    memcpy(frame + 2, payload, sizeof payload - 1);
    const size_t frame_len = 2 + sizeof payload - 1;

    char (*buffer)[kMaxRequest] = calloc((size_t)connections, kMaxRequest);
    size_t *have = calloc((size_t)connections, sizeof *have);
    const long requests = events / batch;
    long answered = 0;
    double cpu0 = 0, wall0 = 0;
    struct epoll_event ready[64];
    unsigned seed = 12345;
    while (answered < requests) {
        int n = epoll_wait(ep, ready, 64, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("epoll_wait");
        if (answered == 0 && wall0 == 0) {
            cpu0 = cpu_us();
            wall0 = wall_us();
        }
        for (int k = 0; k < n; k++) {
            int i = (int)ready[k].data.u64;
            ssize_t r = read(near[i], buffer[i] + have[i], kMaxRequest - have[i]);
            if (r <= 0) die("read");
            have[i] += (size_t)r;
            /* Whole requests: the head's end, then Content-Length bytes of body. */
            for (;;) {
                char *end = memmem(buffer[i], have[i], "\r\n\r\n", 4);
                if (!end) break;
                char *cl = memmem(buffer[i], (size_t)(end - buffer[i]), "Content-Length: ", 16);
                size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
                size_t whole = (size_t)(end + 4 - buffer[i]) + body;
                if (have[i] < whole) break;
                for (int e = 0; e < batch; e++) write_all(near[connections + (int)(rand_r(&seed) % (unsigned)count)], frame, frame_len);
                write_all(near[i], kAnswer, sizeof kAnswer - 1);
                answered++;
                memmove(buffer[i], buffer[i] + whole, have[i] - whole);
                have[i] -= whole;
            }
        }
    }
    const double cpu = cpu_us() - cpu0, wall = wall_us() - wall0;
    for (int i = 0; i < total; i++) close(near[i]);
    waitpid(child, NULL, 0);
    printf("{\"clients\":%d,\"connections\":%d,\"batch\":%d,\"events\":%ld,\"cpu_us_per_event\":%.3f,\"wall_ms\":%.1f}\n",
           count, connections, batch, requests * batch, cpu / (double)(requests * batch), wall / 1e3);
    return 0;
}
