/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * relay_common.h - what the relaying backends share besides offload.c
 *
 * tap, vhost-net and macvtap each give the stack a TAP and move its frames
 * with one thread of their own.  What they do alike is here: the counters
 * behind stats().
 *
 * Compiled into every plugin (SHARED in backends/SConscript), hidden like
 * the rest of it: a plugin still exports only its descriptor.
 */
#ifndef VDESTACK_RELAY_COMMON_H
#define VDESTACK_RELAY_COMMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <vdestack_backend.h>

/* ------------------------------------------------------------ counters */

/**
 * struct relay_counters - what stats() reports
 *
 * rx is toward the stack, tx toward the other side; frames and bytes as
 * that other side (VDE, the macvtap) sees them.  Updated by the relay
 * thread, read by stats() in any thread: relaxed atomics are enough.
 */
struct relay_counters {
	_Atomic uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	_Atomic uint64_t rx_dropped, tx_dropped, errors;
};

/**
 * relay_count() - add @n to one counter
 * @c:	a field of struct relay_counters
 * @n:	amount
 */
static inline void relay_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/**
 * relay_stats() - the counters, for a backend's stats() op
 * @c:	counters
 * @st:	filled
 * Context: any thread, while the relay runs.
 * Return: 0.
 */
int relay_stats(struct relay_counters *c, struct vde_stack_stats *st);

#endif
