// SPDX-License-Identifier: BSD-2-Clause
/* Known work for the stack tools' tests; built by the tests with frame
 * pointers (-O0 -fno-omit-frame-pointer), so every frame is walkable.
 *   stackwork hot SECONDS         ~70% in hot_leaf_a, ~30% in hot_leaf_b, under hot_parent
 *   stackwork sleep COUNT MS      after SIGUSR1, COUNT nanosleeps of MS ms in blocked_here,
 *                                 then "slept US us": how long they took
 *   stackwork mkdir DIR N M       N mkdirs from mkdir_from_alpha, M from mkdir_from_beta, then 2 s asleep */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

volatile uint64_t sink;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) void hot_leaf_a(void) { for (long i = 0; i < 700000; i++) sink += i; }
__attribute__((noinline)) void hot_leaf_b(void) { for (long i = 0; i < 300000; i++) sink += i; }
__attribute__((noinline)) void hot_parent(void) { hot_leaf_a(); hot_leaf_b(); }

/* nanosleep(2) made here, for the same reason as raw_mkdir below. */
static inline __attribute__((always_inline)) void raw_nanosleep(const struct timespec *t)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(35L), "D"(t), "S"(0L) : "rcx", "r11", "memory");
}

__attribute__((noinline)) void blocked_here(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	raw_nanosleep(&t);
}

/* Says "ready" and waits for SIGUSR1, so a tool can attach first. */
__attribute__((noinline)) void wait_for_go(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
}

/* mkdir(2) made here, not in libc: libc has no frame pointers, and from
 * inside its mkdir the caller's frame would be skipped. x86-64 only. */
static inline __attribute__((always_inline)) long raw_mkdir(const char *path, long mode)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(83L), "D"(path), "S"(mode) : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noinline)) void mkdir_from_alpha(const char *dir, int i)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/a%d", dir, i);
	raw_mkdir(path, 0755);
}

__attribute__((noinline)) void mkdir_from_beta(const char *dir, int i)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/b%d", dir, i);
	raw_mkdir(path, 0755);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "hot")) {
		double end = now() + atof(argv[2]);

		while (now() < end)
			hot_parent();
	} else if (argc == 4 && !strcmp(argv[1], "sleep")) {
		double start;

		wait_for_go();
		start = now();
		for (int i = 0; i < atoi(argv[2]); i++)
			blocked_here(atol(argv[3]));
		/* What the sleeps took here: more than asked under emulation. */
		printf("slept %.0f us\n", (now() - start) * 1e6);
		fflush(stdout);
	} else if (argc == 5 && !strcmp(argv[1], "mkdir")) {
		for (int i = 0; i < atoi(argv[3]); i++)
			mkdir_from_alpha(argv[2], i);
		for (int i = 0; i < atoi(argv[4]); i++)
			mkdir_from_beta(argv[2], i);
		/* Alive long enough for the tool to read its memory map. */
		struct timespec t = { 2, 0 };
		nanosleep(&t, NULL);
	} else {
		fprintf(stderr, "usage: stackwork hot SECONDS | sleep COUNT MS | mkdir DIR N M\n");
		return 2;
	}
	return 0;
}
