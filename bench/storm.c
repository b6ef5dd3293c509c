// SPDX-License-Identifier: BSD-2-Clause
/* storm: N calls of a cheap syscall path, for the benchmark.
 *   storm mkdir N DIR     mkdir(DIR) on an existing directory (EEXIST)
 *   storm open N DIR      openat(DIR/missing) (ENOENT)
 *   storm getppid N DIR   getppid() (DIR unused)
 *   storm exec N DIR      fork, exec /bin/true, wait (DIR unused)
 * With RATE (calls per second) in the environment, the calls are paced.
 * Prints "ready PID", waits for a line on stdin (the tracer attaches in
 * between), runs, then prints "calls N seconds S rate R". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void call(const char *kind, const char *path)
{
	pid_t child;

	switch (kind[0]) {
	case 'o':
		openat(AT_FDCWD, path, O_RDONLY);
		break;
	case 'm':
		mkdir(path, 0755);
		break;
	case 'g':
		getppid();
		break;
	case 'e':
		child = fork();
		if (child == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (child > 0)
			waitpid(child, NULL, 0);
		break;
	}
}

int main(int argc, char **argv)
{
	static const char *kinds[] = { "mkdir", "open", "getppid", "exec" };
	char path[4096], line[16];
	const char *rate_env = getenv("RATE");
	double t0, t1, rate = rate_env ? atof(rate_env) : 0;
	long n, i, k;
	int known = 0;

	for (k = 0; k < 4; k++)
		known |= argc == 4 && !strcmp(argv[1], kinds[k]);
	if (!known) {
		fprintf(stderr, "usage: storm mkdir|open|getppid|exec N DIR\n");
		return 2;
	}
	n = atol(argv[2]);
	snprintf(path, sizeof(path), !strcmp(argv[1], "open") ? "%s/missing" : "%s", argv[3]);
	mkdir(argv[3], 0755);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now();
	for (i = 0; i < n; i++) {
		call(argv[1], path);
		/* Paced: every 1,000 calls, sleep until they are due. */
		if (rate > 0 && i % 1000 == 999) {
			double due = t0 + (i + 1) / rate, left = due - now();

			if (left > 0)
				usleep((useconds_t)(left * 1e6));
		}
	}
	t1 = now();
	printf("calls %ld seconds %.6f rate %.0f\n", n, t1 - t0, n / (t1 - t0));
	return 0;
}
