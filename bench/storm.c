// SPDX-License-Identifier: BSD-2-Clause
/* storm: N calls of a cheap syscall path, for the benchmark.
 *   storm mkdir N DIR   mkdir(DIR) on an existing directory (EEXIST)
 *   storm open N DIR    openat(DIR/missing) (ENOENT)
 * Prints "ready PID", waits for a line on stdin (the tracer attaches in
 * between), runs, then prints "calls N seconds S rate R". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char path[4096], line[16];
	long n, i;
	double t0, t1;
	int is_open;

	if (argc != 4 || (strcmp(argv[1], "mkdir") && strcmp(argv[1], "open"))) {
		fprintf(stderr, "usage: storm mkdir|open N DIR\n");
		return 2;
	}
	is_open = !strcmp(argv[1], "open");
	n = atol(argv[2]);
	snprintf(path, sizeof(path), is_open ? "%s/missing" : "%s", argv[3]);
	mkdir(argv[3], 0755);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now();
	for (i = 0; i < n; i++) {
		if (is_open)
			openat(AT_FDCWD, path, O_RDONLY);
		else
			mkdir(path, 0755);
	}
	t1 = now();
	printf("calls %ld seconds %.6f rate %.0f\n", n, t1 - t0, n / (t1 - t0));
	return 0;
}
