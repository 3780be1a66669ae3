/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake.h - pieces of the fake backends the loader tests load
 *
 * Each tests/plugins/<name>.c is built into build/<variant>/tests/plugins/
 * <name>.so, next to a copy of the tap backend and a few files that are not
 * shared objects at all (see tests/SConscript).  The good fakes never
 * forward anything: their create() fails on purpose with a reason that
 * echoes what the core passed, so a test can see the selection and the
 * options without a network.
 */
#ifndef TESTS_PLUGINS_FAKE_H
#define TESTS_PLUGINS_FAKE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vdestack_backend.h>

#define FAKE_EXPORT __attribute__((visibility("default")))

/* FAKE_DESCRIPTOR() sets defaults that a plugin overrides */
#pragma GCC diagnostic ignored "-Woverride-init"

static __attribute__((unused)) int fake_probe_ok(char *reason, size_t len)
{
	(void)reason;
	(void)len;
	return 0;
}

/* create() that reports what it got and fails with ENOTSUP */
static __attribute__((unused)) int
fake_create(const struct vdestack_backend_args *a, void **priv)
{
	(void)priv;
	snprintf(a->reason, VDESTACK_REASON_MAX,
		 "fake create: vdenet '%s' conn %s ifname '%s' mtu %u "
		 "options '%s'",
		 a->vdenet, a->conn ? "yes" : "no", a->ifname, a->mtu,
		 a->options);
	return -ENOTSUP;
}

static __attribute__((unused)) void fake_destroy(void *priv)
{
	(void)priv;
}

#define FAKE_DESCRIPTOR(...)                                                   \
	FAKE_EXPORT const struct vdestack_backend vdestack_backend = {         \
		.abi = VDESTACK_BACKEND_ABI,                                   \
		.size = sizeof(struct vdestack_backend),                       \
		.summary = "test backend",                                     \
		.priority = 1,                                                 \
		.max_mtu = 1500,                                               \
		.probe = fake_probe_ok,                                        \
		.create = fake_create,                                         \
		.destroy = fake_destroy,                                       \
		__VA_ARGS__}

#endif
