// SPDX-License-Identifier: BSD-2-Clause
// A paced UDP sender and a counting receiver, for the packet filter's
// rate-limit test.
//   udpflood send SRC DST PORT PPS SECONDS   prints "sent N"
//   udpflood recv PORT SECONDS [IDLE]        prints "SRC COUNT" per source, then "done";
//                                            ends after SECONDS, or IDLE seconds after the last packet
// The receiver prints "ready" once it is bound.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int sender(const char *src, const char *dst, int port, double pps, double seconds)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	long sent = 0;
	double start, end;

	if (fd < 0 || inet_pton(AF_INET, src, &from.sin_addr) != 1 || inet_pton(AF_INET, dst, &to.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0) {
		perror("udpflood send");
		return 1;
	}
	start = now();
	end = start + seconds;
	for (;;) {
		double t = now();
		/* Send what is due by now, then sleep a little: paced, not bursty. */
		long due = (long)((t - start) * pps);

		if (t >= end)
			break;
		while (sent < due) {
			if (sendto(fd, "flood", 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5)
				sent++;
			else
				break;
		}
		usleep(200);
	}
	printf("sent %ld\n", sent);
	return 0;
}

struct source {
	struct in_addr addr;
	long count;
};

static int receiver(int port, double seconds, double idle)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), size = 8 << 20, n = 0;
	struct source sources[64];
	double end;
	char buf[64];

	/* Room for a second of flood while this process is not scheduled. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
		perror("udpflood recv");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	end = now() + seconds;
	double last = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - now();

		if (idle > 0 && last > 0 && now() - last > idle)
			break;
		if (idle > 0 && last > 0 && left > idle)
			left = idle;
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		int i;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)(left * 1000) + 1) != 1)
			continue;
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) < 0)
			continue;
		last = now();
		for (i = 0; i < n && sources[i].addr.s_addr != from.sin_addr.s_addr; i++)
			;
		if (i == n && n < 64)
			sources[n++] = (struct source){ from.sin_addr, 0 };
		if (i < n)
			sources[i].count++;
	}
	for (int i = 0; i < n; i++)
		printf("%s %ld\n", inet_ntoa(sources[i].addr), sources[i].count);
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "send"))
		return sender(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), atof(argv[6]));
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "recv"))
		return receiver(atoi(argv[2]), atof(argv[3]), argc == 5 ? atof(argv[4]) : 0);
	fprintf(stderr, "usage: udpflood send SRC DST PORT PPS SECONDS | udpflood recv PORT SECONDS [IDLE]\n");
	return 2;
}
