// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
// bashreadline: a uretprobe on readline() in the bash binary.
#include "common.bpf.h"
#include "bashreadline.h"

SWIFTBPF_EVENT(readline_event);

SEC("uretprobe")
int BPF_KRETPROBE(readline_return, const char *line)
{
	struct readline_event *e;
	long len;

	if (!line || !task_selected())
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	fill_task(&e->task);
	len = bpf_probe_read_user_str(e->line, sizeof(e->line), line);
	if (len <= 0) {
		discard_event(e);
		return 0;
	}
	e->len = len - 1;
	e->truncated = len == sizeof(e->line);
	submit_event(e);
	return 0;
}
