/* bench/floor.c — the machine's floor for a UDP DNS server: turn each query into an empty
 * reply and do nothing else.  Whatever a resolver spends per cached answer above this
 * program's CPU per query is its own work; this is the part no resolver can avoid.
 *
 *   cc -O2 -o floor bench/floor.c
 *   floor ADDR PORT single         one blocking recvmsg() + one sendmsg() per query
 *   floor ADDR PORT batch [N]      recvmmsg() up to N (default 64, at most 256) queries per
 *                                  call (MSG_WAITFORONE: blocks for the first only), one
 *                                  sendmmsg() for all their replies
 *
 * The reply is the query cut after its question, with QR set, RCODE NOERROR (opcode, ID, RD
 * kept, RA set, AA/TC cleared) and ANCOUNT = NSCOUNT = ARCOUNT = 0 (so an EDNS OPT is dropped).
 * A datagram shorter than a header, with QDCOUNT != 1 or an unparseable question name, is
 * dropped.  One thread, a blocking IPv4 socket, no event loop, no allocation after start.
 * Runs until killed (SIGTERM/SIGINT: default action).  Prints "floor: ready" once bound.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_BATCH 256
#define BUF_SIZE 4096

/* Turn the query in buf[0..len) into the empty reply in place; return the reply length,
 * or 0 to drop the datagram. */
static size_t make_reply(unsigned char *buf, size_t len) {
    size_t off = 12;
    if (len < 12 || buf[4] != 0 || buf[5] != 1) {
        return 0;
    }
    for (;;) { /* the question name: plain labels only (no compression in a question) */
        unsigned lab;
        if (off >= len) {
            return 0;
        }
        lab = buf[off];
        if (lab == 0) {
            off++;
            break;
        }
        if (lab > 63) {
            return 0;
        }
        off += 1 + lab;
    }
    if (off + 4 > len) {
        return 0;
    }
    off += 4; /* QTYPE, QCLASS */
    buf[2] = (unsigned char)((buf[2] & 0x79) | 0x80); /* QR=1, opcode + RD kept, AA=TC=0 */
    buf[3] = 0x80;                                    /* RA=1, Z=AD=CD=0, RCODE NOERROR */
    memset(buf + 6, 0, 6);                            /* AN, NS, AR counts */
    return off;
}

static int run_single(int fd) {
    static unsigned char buf[BUF_SIZE];
    struct sockaddr_in peer;
    struct iovec iov;
    struct msghdr mh;
    for (;;) {
        ssize_t n;
        size_t rl;
        memset(&mh, 0, sizeof(mh));
        iov.iov_base = buf;
        iov.iov_len = sizeof(buf);
        mh.msg_name = &peer;
        mh.msg_namelen = sizeof(peer);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        n = recvmsg(fd, &mh, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("floor: recvmsg");
            return 1;
        }
        rl = make_reply(buf, (size_t)n);
        if (rl == 0) {
            continue;
        }
        iov.iov_len = rl;
        if (sendmsg(fd, &mh, 0) < 0 && errno != EAGAIN && errno != EINTR) {
            perror("floor: sendmsg");
        }
    }
}

static int run_batch(int fd, unsigned batch) {
    static unsigned char bufs[MAX_BATCH][BUF_SIZE];
    static struct sockaddr_in peers[MAX_BATCH];
    static struct iovec iovs[MAX_BATCH], out_iovs[MAX_BATCH];
    static struct mmsghdr in[MAX_BATCH], out[MAX_BATCH];
    for (;;) {
        int n, i, nout = 0;
        for (i = 0; i < (int)batch; i++) {
            iovs[i].iov_base = bufs[i];
            iovs[i].iov_len = BUF_SIZE;
            memset(&in[i], 0, sizeof(in[i]));
            in[i].msg_hdr.msg_name = &peers[i];
            in[i].msg_hdr.msg_namelen = sizeof(peers[i]);
            in[i].msg_hdr.msg_iov = &iovs[i];
            in[i].msg_hdr.msg_iovlen = 1;
        }
        n = recvmmsg(fd, in, batch, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("floor: recvmmsg");
            return 1;
        }
        for (i = 0; i < n; i++) {
            size_t rl = make_reply(bufs[i], in[i].msg_len);
            if (rl == 0) {
                continue;
            }
            out_iovs[nout].iov_base = bufs[i];
            out_iovs[nout].iov_len = rl;
            memset(&out[nout], 0, sizeof(out[nout]));
            out[nout].msg_hdr.msg_name = &peers[i];
            out[nout].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
            out[nout].msg_hdr.msg_iov = &out_iovs[nout];
            out[nout].msg_hdr.msg_iovlen = 1;
            nout++;
        }
        for (i = 0; i < nout;) { /* sendmmsg may send fewer than asked */
            int s = sendmmsg(fd, out + i, (unsigned)(nout - i), 0);
            if (s < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno != EAGAIN) {
                    perror("floor: sendmmsg");
                }
                break;
            }
            i += s;
        }
    }
}

int main(int argc, char **argv) {
    struct sockaddr_in sa;
    unsigned batch = 64;
    long port;
    int fd, one = 1;
    if (argc < 4 || (strcmp(argv[3], "single") != 0 && strcmp(argv[3], "batch") != 0)) {
        fprintf(stderr, "usage: %s ADDR PORT single|batch [N]\n", argv[0]);
        return 2;
    }
    port = strtol(argv[2], NULL, 10);
    if (port < 1 || port > 65535) {
        fprintf(stderr, "floor: bad port %s\n", argv[2]);
        return 2;
    }
    if (argc > 4) {
        long b = strtol(argv[4], NULL, 10);
        if (b < 1 || b > MAX_BATCH) {
            fprintf(stderr, "floor: batch must be 1..%d\n", MAX_BATCH);
            return 2;
        }
        batch = (unsigned)b;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "floor: bad IPv4 address %s\n", argv[1]);
        return 2;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("floor: socket");
        return 1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("floor: bind");
        return 1;
    }
    if (strcmp(argv[3], "single") == 0) {
        fprintf(stderr, "floor: ready on %s:%ld, single (1 query per call)\n", argv[1], port);
    } else {
        fprintf(stderr, "floor: ready on %s:%ld, batch (up to %u queries per call)\n", argv[1],
                port, batch);
    }
    if (strcmp(argv[3], "single") == 0) {
        return run_single(fd);
    }
    return run_batch(fd, batch);
}
