// SPDX-License-Identifier: BSD-2-Clause
// One outbound network call, for egressguard's tests; prints "ok", or
// "err N" with the errno of the call that failed.
//   netprobe tcp ADDR PORT    connect()
//   netprobe udp ADDR PORT    sendto() on an unconnected socket
//   netprobe udpc ADDR PORT   connect(), then send()
//   netprobe raw ADDR         an ICMP echo request from a raw socket
//   netprobe rawip ADDR       socket(AF_INET, SOCK_RAW, IPPROTO_RAW)
//   netprobe lsrr ADDR PORT HOP      setsockopt(IP_OPTIONS) with a loose source route via HOP, then sendto
//   netprobe retopts ADDR PORT HOP   the same route as an IP_RETOPTS message of one sendmsg
// ADDR is IPv4 or IPv6 (numeric). Built statically, it runs in any container.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(void)
{
	printf("err %d\n", errno);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	int family, fd;

	if (argc < 3) {
		fprintf(stderr, "usage: netprobe tcp|udp|udpc|raw ADDR [PORT]\n");
		return 2;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[2], &a4->sin_addr) == 1) {
		family = AF_INET;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(argc > 3 ? atoi(argv[3]) : 0);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, argv[2], &a6->sin6_addr) == 1) {
		family = AF_INET6;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(argc > 3 ? atoi(argv[3]) : 0);
		len = sizeof(*a6);
	} else {
		fprintf(stderr, "netprobe: bad address %s\n", argv[2]);
		return 2;
	}
	if (!strcmp(argv[1], "tcp")) {
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
			return fail();
	} else if (!strcmp(argv[1], "udp")) {
		fd = socket(family, SOCK_DGRAM, 0);
		if (fd < 0 || sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) != 1)
			return fail();
	} else if (!strcmp(argv[1], "udpc")) {
		fd = socket(family, SOCK_DGRAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) || send(fd, "x", 1, 0) != 1)
			return fail();
	} else if (!strcmp(argv[1], "raw") && family == AF_INET) {
		struct icmphdr echo = { .type = ICMP_ECHO };
		unsigned sum = 0;
		unsigned short *w = (unsigned short *)&echo;

		echo.un.echo.id = htons(getpid() & 0xffff);
		echo.un.echo.sequence = htons(1);
		for (unsigned i = 0; i < sizeof(echo) / 2; i++)
			sum += w[i];
		sum = (sum >> 16) + (sum & 0xffff);
		echo.checksum = ~(sum + (sum >> 16));
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		if (fd < 0 || sendto(fd, &echo, sizeof(echo), 0, (struct sockaddr *)&ss, len) != sizeof(echo))
			return fail();
	} else if (!strcmp(argv[1], "rawip")) {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (fd < 0)
			return fail();
	} else if ((!strcmp(argv[1], "lsrr") || !strcmp(argv[1], "retopts")) && family == AF_INET && argc > 4) {
		unsigned char opt[8] = { IPOPT_NOP, IPOPT_LSRR, 7, 4 };

		if (inet_pton(AF_INET, argv[4], opt + 4) != 1)
			return 2;
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			return fail();
		if (!strcmp(argv[1], "lsrr")) {
			if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt)) || sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) != 1)
				return fail();
		} else {
			char control[CMSG_SPACE(sizeof(opt))];
			struct iovec iov = { "x", 1 };
			struct msghdr msg = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1,
					      .msg_control = control, .msg_controllen = sizeof(control) };
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

			memset(control, 0, sizeof(control));
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_RETOPTS;
			c->cmsg_len = CMSG_LEN(sizeof(opt));
			memcpy(CMSG_DATA(c), opt, sizeof(opt));
			if (sendmsg(fd, &msg, 0) != 1)
				return fail();
		}
	} else {
		fprintf(stderr, "netprobe: unknown call %s\n", argv[1]);
		return 2;
	}
	printf("ok\n");
	close(fd);
	return 0;
}
