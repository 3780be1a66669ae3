// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * relay_common.c - what the relaying backends share besides offload.c
 *
 * See relay_common.h.  Nothing here keeps state of its own: every
 * function works on what the backend passes, so two stacks (and two
 * plugins, each with its own copy of this file) never share anything.
 */
#include "relay_common.h"

int relay_stats(struct relay_counters *c, struct vde_stack_stats *st)
{
	st->rx_frames = atomic_load(&c->rx_frames);
	st->rx_bytes = atomic_load(&c->rx_bytes);
	st->tx_frames = atomic_load(&c->tx_frames);
	st->tx_bytes = atomic_load(&c->tx_bytes);
	st->rx_dropped = atomic_load(&c->rx_dropped);
	st->tx_dropped = atomic_load(&c->tx_dropped);
	st->errors = atomic_load(&c->errors);
	return 0;
}
