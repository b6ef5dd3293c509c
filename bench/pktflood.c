// SPDX-License-Identifier: BSD-2-Clause
// pktflood: sends one prebuilt Ethernet/IPv4/UDP frame over and over out of
// an interface, through an AF_PACKET SOCK_RAW socket with
// PACKET_QDISC_BYPASS (no qdisc, no tc egress: straight to the driver's
// xmit), for a given number of seconds, as fast as it can or paced. The
// yardstick sender of bench/droprate.py.
//
//   pktflood --iface IF --dst-mac MAC --src IP --dst IP --dport PORT
//            [--netns /run/netns/NAME] [--seconds S] [--cpu N] [--rate PPS]
//            [--method mmsg|ring] [--batch N] [--payload BYTES] [--sport PORT]
//            [--no-bypass]
//
// --method mmsg: sendmmsg() of --batch messages that all point at the same
//   frame; the kernel allocates and fills one skb per message (packet_snd).
// --method ring: PACKET_TX_RING (TPACKET_V2), every slot prefilled once;
//   a batch of slots is marked for sending, then one send() hands them over
//   (tpacket_snd), and waits until the kernel has released them.
// The default is mmsg, the faster of the two on a veth here (droprate.py's
// docstring has the numbers; measure with --method to compare).
//
// Prints one JSON line on standard output: packets sent (accepted by the
// driver), sends the kernel refused (ENOBUFS: the driver dropped it or its
// queue was stopped), seconds, the rate, and this process's CPU time.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define RING_FRAME_SIZE 256
#define RING_BLOCK_SIZE 4096
#define RING_BLOCKS 64

static void die(const char *what) {
    fprintf(stderr, "pktflood: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(const char *msg) {
    fprintf(stderr, "pktflood: %s\n"
            "usage: pktflood --iface IF --dst-mac MAC --src IP --dst IP --dport PORT\n"
            "                [--netns PATH] [--seconds S] [--cpu N] [--rate PPS] [--method mmsg|ring]\n"
            "                [--batch N] [--payload BYTES] [--sport PORT] [--no-bypass]\n", msg);
    exit(2);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

// The Internet checksum (RFC 1071) over len bytes, starting from sum.
static uint32_t csum_add(uint32_t sum, const void *data, size_t len) {
    const uint8_t *p = data;
    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)p[0] << 8 | p[1];
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

// Ethernet (14) + IPv4 without options (20) + UDP (8) + payload, checksums
// filled in. Returns the frame's length.
static size_t build_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], struct in_addr src,
                          struct in_addr dst, uint16_t sport, uint16_t dport, size_t payload) {
    size_t ip_len = 20 + 8 + payload;
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    put16(f + 12, ETHERTYPE_IP);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;                  // version 4, 5 words
    put16(ip + 2, ip_len);         // total length
    put16(ip + 6, 0x4000);         // don't fragment
    ip[8] = 64;                    // TTL
    ip[9] = IPPROTO_UDP;
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst, 4);
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t *udp = ip + 20;
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, 8 + payload);
    put16(udp + 6, 0);
    for (size_t i = 0; i < payload; i++)
        udp[8 + i] = (uint8_t)('a' + i % 26);
    // Pseudo-header: source, destination, zero and protocol, UDP length.
    uint8_t pseudo[12];
    memcpy(pseudo, &src, 4);
    memcpy(pseudo + 4, &dst, 4);
    pseudo[8] = 0;
    pseudo[9] = IPPROTO_UDP;
    put16(pseudo + 10, 8 + payload);
    uint16_t c = csum_fold(csum_add(csum_add(0, pseudo, 12), udp, 8 + payload));
    put16(udp + 6, c ? c : 0xffff); // 0 means "no checksum" in UDP over IPv4
    return 14 + ip_len;
}

static int parse_mac(const char *s, uint8_t mac[6]) {
    unsigned v[6];
    char tail;
    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return -1;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255)
            return -1;
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

struct pacer {
    double start, rate; // rate 0: unpaced
};

// Sleeps until `sent` packets are due at the pacer's rate.
static void pace(const struct pacer *p, unsigned long long sent) {
    if (p->rate <= 0)
        return;
    double due = p->start + sent / p->rate;
    double t = now();
    if (due <= t)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double wait = due - t;
    ts.tv_sec += (time_t)wait;
    ts.tv_nsec += (long)((wait - (time_t)wait) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

// Batches to send before the next look at the clock: small when paced.
static unsigned batch_for(const struct pacer *p, unsigned batch) {
    if (p->rate <= 0)
        return batch;
    unsigned per_ms = (unsigned)(p->rate / 1000);
    return per_ms < 1 ? 1 : per_ms < batch ? per_ms : batch;
}

static void flood_mmsg(int fd, const uint8_t *frame, size_t len, unsigned batch, double seconds,
                       const struct pacer *pc, unsigned long long *sent, unsigned long long *failed) {
    static struct mmsghdr msgs[MAX_BATCH];
    static struct iovec iov;
    iov.iov_base = (void *)frame;
    iov.iov_len = len;
    for (unsigned i = 0; i < MAX_BATCH; i++) {
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    double end = pc->start + seconds;
    unsigned n = batch_for(pc, batch);
    while (now() < end) {
        pace(pc, *sent + *failed);
        int r = sendmmsg(fd, msgs, n, 0);
        if (r > 0) {
            *sent += r;
        } else if (errno == ENOBUFS || errno == EAGAIN) {
            (*failed)++; // the first message of the batch was refused
        } else {
            die("sendmmsg");
        }
    }
}

static void flood_ring(int fd, const uint8_t *frame, size_t len, unsigned batch, double seconds,
                       const struct pacer *pc, unsigned long long *sent, unsigned long long *failed) {
    int v = TPACKET_V2;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0)
        die("PACKET_VERSION");
    struct tpacket_req req = {
        .tp_block_size = RING_BLOCK_SIZE,
        .tp_block_nr = RING_BLOCKS,
        .tp_frame_size = RING_FRAME_SIZE,
        .tp_frame_nr = RING_BLOCKS * (RING_BLOCK_SIZE / RING_FRAME_SIZE),
    };
    if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0)
        die("PACKET_TX_RING");
    size_t ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
    uint8_t *ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (ring == MAP_FAILED)
        die("mmap");
    unsigned frames = req.tp_frame_nr;
    // Without PACKET_TX_HAS_OFF the data sits right after the header, where
    // a received frame's sockaddr_ll would be.
    size_t off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
    if (off + len > RING_FRAME_SIZE) {
        fprintf(stderr, "pktflood: a %zu-byte frame does not fit a %d-byte ring slot\n", len, RING_FRAME_SIZE);
        exit(2);
    }
    for (unsigned i = 0; i < frames; i++) {
        struct tpacket2_hdr *h = (void *)(ring + (size_t)i * RING_FRAME_SIZE);
        memcpy((uint8_t *)h + off, frame, len);
        h->tp_len = len;
        h->tp_status = TP_STATUS_AVAILABLE;
    }
    if (batch > frames)
        batch = frames;
    double end = pc->start + seconds;
    unsigned n = batch_for(pc, batch), slot = 0;
    while (now() < end) {
        pace(pc, *sent + *failed);
        unsigned queued = 0;
        for (; queued < n; queued++) {
            struct tpacket2_hdr *h = (void *)(ring + (size_t)slot * RING_FRAME_SIZE);
            unsigned st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
            if (st == TP_STATUS_WRONG_FORMAT) {
                fprintf(stderr, "pktflood: the kernel refused the ring frame's format\n");
                exit(1);
            }
            if (st != TP_STATUS_AVAILABLE)
                break; // still in flight: hand over what is queued
            __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
            slot = (slot + 1) % frames;
        }
        // Blocking: returns once every queued frame has been handed to the
        // driver and its skb released, so the slots are free again.
        ssize_t r = send(fd, NULL, 0, 0);
        if (r >= 0) {
            *sent += (unsigned long long)r / len;
        } else if (errno == ENOBUFS || errno == EAGAIN) {
            (*failed)++;
        } else {
            die("send (tx ring)");
        }
    }
    munmap(ring, ring_len);
}

int main(int argc, char **argv) {
    const char *netns = NULL, *iface = NULL, *method = "mmsg";
    const char *dst_mac_s = NULL, *src_s = NULL, *dst_s = NULL;
    long dport = -1, sport = 9, cpu = -1, batch = 64, payload = 18;
    double seconds = 5, rate = 0;
    int bypass = 1;
    static const struct option opts[] = {
        {"netns", required_argument, 0, 'n'},   {"iface", required_argument, 0, 'i'},
        {"dst-mac", required_argument, 0, 'm'}, {"src", required_argument, 0, 's'},
        {"dst", required_argument, 0, 'd'},     {"dport", required_argument, 0, 'p'},
        {"sport", required_argument, 0, 'P'},   {"seconds", required_argument, 0, 't'},
        {"cpu", required_argument, 0, 'c'},     {"rate", required_argument, 0, 'r'},
        {"method", required_argument, 0, 'M'},  {"batch", required_argument, 0, 'b'},
        {"payload", required_argument, 0, 'l'}, {"no-bypass", no_argument, 0, 'B'},
        {0, 0, 0, 0},
    };
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (o) {
        case 'n': netns = optarg; break;
        case 'i': iface = optarg; break;
        case 'm': dst_mac_s = optarg; break;
        case 's': src_s = optarg; break;
        case 'd': dst_s = optarg; break;
        case 'p': dport = strtol(optarg, NULL, 10); break;
        case 'P': sport = strtol(optarg, NULL, 10); break;
        case 't': seconds = strtod(optarg, NULL); break;
        case 'c': cpu = strtol(optarg, NULL, 10); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'M': method = optarg; break;
        case 'b': batch = strtol(optarg, NULL, 10); break;
        case 'l': payload = strtol(optarg, NULL, 10); break;
        case 'B': bypass = 0; break;
        default: usage("unknown option");
        }
    }
    uint8_t dst_mac[6];
    struct in_addr src, dst;
    if (!iface || !dst_mac_s || !src_s || !dst_s || dport < 0)
        usage("--iface, --dst-mac, --src, --dst and --dport are required");
    if (parse_mac(dst_mac_s, dst_mac) < 0)
        usage("bad --dst-mac");
    if (inet_pton(AF_INET, src_s, &src) != 1 || inet_pton(AF_INET, dst_s, &dst) != 1)
        usage("bad --src or --dst (IPv4 addresses)");
    if (dport > 65535 || sport < 0 || sport > 65535)
        usage("ports are 0-65535");
    if (seconds <= 0 || rate < 0)
        usage("--seconds must be positive and --rate not negative");
    if (batch < 1 || batch > MAX_BATCH)
        usage("--batch is 1-1024");
    if (payload < 18 || payload > 1472)
        usage("--payload is 18-1472 (18: the 60-byte minimum frame)");
    if (strcmp(method, "mmsg") != 0 && strcmp(method, "ring") != 0)
        usage("--method is mmsg or ring");

    if (netns) {
        int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
            die(netns);
        if (setns(nsfd, CLONE_NEWNET) < 0)
            die("setns");
        close(nsfd);
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            die("sched_setaffinity");
    }

    // Protocol 0: this socket receives nothing, it only sends.
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0)
        die("socket(AF_PACKET)");
    unsigned ifindex = if_nametoindex(iface);
    if (!ifindex)
        die(iface);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
        die("SIOCGIFHWADDR");
    if (bypass) {
        int one = 1;
        if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
            die("PACKET_QDISC_BYPASS");
    }
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = 0,
        .sll_ifindex = (int)ifindex,
    };
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
        die("bind");

    uint8_t frame[1514];
    size_t len = build_frame(frame, dst_mac, (uint8_t *)ifr.ifr_hwaddr.sa_data, src, dst, (uint16_t)sport,
                             (uint16_t)dport, (size_t)payload);

    unsigned long long sent = 0, failed = 0;
    struct pacer pc = {.start = now(), .rate = rate};
    if (strcmp(method, "mmsg") == 0)
        flood_mmsg(fd, frame, len, (unsigned)batch, seconds, &pc, &sent, &failed);
    else
        flood_ring(fd, frame, len, (unsigned)batch, seconds, &pc, &sent, &failed);
    double elapsed = now() - pc.start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"method\":\"%s\",\"batch\":%ld,\"frame_bytes\":%zu,\"qdisc_bypass\":%s,\"cpu\":%ld,"
           "\"sent\":%llu,\"failed\":%llu,\"seconds\":%.6f,\"pps\":%.0f,\"utime_s\":%.3f,\"stime_s\":%.3f}\n",
           method, batch, len, bypass ? "true" : "false", cpu, sent, failed, elapsed, sent / elapsed,
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    close(fd);
    return 0;
}
