// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz_options.c - libFuzzer target for core/options.c
 *
 * A successful parse must produce values in range and well-formed backend
 * options, print back to a string that parses to the same struct, be
 * idempotent when applied twice (the environment-then-explicit merge), and
 * pass vs_options_check_backend() with its own keys.  A failed parse must
 * leave the struct alone.  Built by build.sh.
 */
#include "../../core/options.c"

#include <stdint.h>
#include <stdlib.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

#define MAXKEYS 256

/**
 * same() - are two parsed structs equal (strings compared as strings)?
 * @a:	one
 * @b:	the other
 *
 * Return: true if so.
 */
static bool same(const struct vs_options *a, const struct vs_options *b)
{
	return !strcmp(a->backend, b->backend) && a->mtu == b->mtu &&
	       a->debug == b->debug &&
	       !strcmp(a->backend_opts, b->backend_opts);
}

/**
 * split_keys() - check the form of backend_opts and collect its keys
 * @opts:	"k=v/k=v"
 * @copy:	scratch buffer of at least sizeof(backend_opts)
 * @keys:	filled with pointers into @copy, NULL-terminated
 *
 * Return: the number of keys.
 */
static size_t split_keys(const char *opts, char *copy, const char **keys)
{
	size_t n = 0, i;
	char *p, *eq, *item, *save = NULL;

	CHECK(strlen(opts) < sizeof(((struct vs_options *)0)->backend_opts));
	strcpy(copy, opts);
	for (item = strtok_r(copy, "/", &save); item;
	     item = strtok_r(NULL, "/", &save)) {
		eq = strchr(item, '=');
		CHECK(eq && eq > item && eq[1]);
		*eq = '\0';
		CHECK(is_name(item, strlen(item)));
		for (p = eq + 1; *p; p++)
			CHECK(*p > ' ' && *p < 0x7f && *p != ',');
		for (i = 0; i < n; i++)
			CHECK(strcmp(keys[i], item));
		CHECK(n < MAXKEYS - 1);
		keys[n++] = item;
	}
	/* no empty items: "a=1//b=2", "/a=1" and "a=1/" are malformed */
	CHECK(!strstr(opts, "//") && opts[0] != '/' &&
	      (!*opts || opts[strlen(opts) - 1] != '/'));
	keys[n] = NULL;
	return n;
}

/**
 * print_back() - the options of @o as a string vs_options_parse() accepts
 * @o:		parsed options
 * @out:	buffer
 * @size:	its size
 */
static void print_back(const struct vs_options *o, char *out, size_t size)
{
	size_t l;
	char *p;

	l = snprintf(out, size, "debug=%d", o->debug);
	if (*o->backend)
		l += snprintf(out + l, size - l, ",backend=%s", o->backend);
	if (o->mtu)
		l += snprintf(out + l, size - l, ",mtu=%u", o->mtu);
	if (*o->backend_opts)
		l += snprintf(out + l, size - l, ",%s", o->backend_opts);
	CHECK(l < size);
	/* values cannot contain '/': every '/' is an item separator */
	for (p = strchr(out, '/'); p; p = strchr(p, '/'))
		*p = ',';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vs_options pre = {
		.backend = "tap", .mtu = 1500, .backend_opts = "zz=1"};
	struct vs_options o = {0}, zero = {0}, o2, o3;
	const char *keys[MAXKEYS];
	char *s = malloc(size + 1), err[256] = "", copy[512], back[1024];
	size_t nkeys;
	int ret;

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';

	/* any string as backend options must not crash the checker */
	vs_options_check_backend(s, (const char *const[]){"a", "queues", NULL},
				 err, sizeof(err));

	ret = vs_options_parse(s, &o, err, sizeof(err));
	if (ret) {
		CHECK(ret == -EINVAL || ret == -E2BIG);
		CHECK(!memcmp(&o, &zero, sizeof(o)));
		CHECK(!strncmp(err, "options: ", 9));
		free(s);
		return 0;
	}
	CHECK(strlen(s) <= VS_OPTIONS_MAX);
	CHECK(!*o.backend || is_name(o.backend, strlen(o.backend)));
	CHECK(strlen(o.backend) < sizeof(o.backend));
	CHECK(o.mtu == 0 || (o.mtu >= MTU_MIN && o.mtu <= MTU_MAX));
	CHECK(o.debug == 0 || o.debug == 1);
	nkeys = split_keys(o.backend_opts, copy, keys);

	/* printed back, it parses to the same thing */
	print_back(&o, back, sizeof(back));
	o2 = zero;
	ret = vs_options_parse(back, &o2, err, sizeof(err));
	if (ret)
		fprintf(stderr, "reparse of \"%s\": %s\n", back, err);
	CHECK(ret == 0 && same(&o, &o2));

	/* a second application of the same string changes nothing */
	o2 = o;
	CHECK(vs_options_parse(s, &o2, err, sizeof(err)) == 0);
	CHECK(same(&o, &o2));

	/* over earlier options, what the string sets wins */
	o3 = pre;
	ret = vs_options_parse(s, &o3, err, sizeof(err));
	CHECK(ret == 0 || ret == -E2BIG);
	if (ret) {
		CHECK(same(&o3, &pre));
	} else {
		CHECK(!strcmp(o3.backend, *o.backend ? o.backend : "tap"));
		CHECK(o3.mtu == (o.mtu ? o.mtu : 1500));
		CHECK(!strncmp(o3.backend_opts, "zz=", 3));
	}

	/* its own keys are accepted, and missing one is refused */
	CHECK(vs_options_check_backend(o.backend_opts, keys, NULL, 0) == 0);
	if (nkeys)
		CHECK(vs_options_check_backend(o.backend_opts, keys + 1, err,
					       sizeof(err)) == -EINVAL);
	free(s);
	return 0;
}
