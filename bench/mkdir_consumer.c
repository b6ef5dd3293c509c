// SPDX-License-Identifier: BSD-2-Clause
/* mkdir_consumer: the smallest C libbpf consumer of swift-bpf's own mkdir
 * probe (the object the build plugin compiled), formatting one text line per
 * event like mkdirtrace does. The benchmark's lower bound on consumer cost.
 *   mkdir_consumer OBJECT   (prints "attached" on stderr, runs until SIGINT) */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../probes/mkdirtrace.h"

static volatile sig_atomic_t stop;
static unsigned long long events;

static void on_signal(int sig) { stop = 1; }

static int handle(void *ctx, void *data, size_t size)
{
	const struct path_event *e = data;
	struct tm tm;
	time_t t = time(NULL);
	char clock[16];

	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	printf("%-8s %-7u %-7u %-6u %-16s %04o %-12d %.*s\n", clock, e->task.pid, e->task.ppid, e->task.uid, e->task.comm,
	       e->mode, e->ret, (int)e->path_len, e->path);
	events++;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct ring_buffer *rb;
	unsigned long long lost = 0;
	int ncpus = libbpf_num_possible_cpus(), zero = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mkdir_consumer OBJECT\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "cannot attach %s\n", bpf_program__name(prog));
			return 1;
		}
	}
	rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), handle, NULL, NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "attached\n");
	while (!stop)
		ring_buffer__poll(rb, 100);
	ring_buffer__consume(rb);
	{
		unsigned long long values[ncpus];
		if (!bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "lost_events")), &zero, values))
			for (int i = 0; i < ncpus; i++)
				lost += values[i];
	}
	fflush(stdout);
	fprintf(stderr, "%llu events, %llu lost\n", events, lost);
	return 0;
}
