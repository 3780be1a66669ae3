// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_options.c - options of vde_addstack_opt() and VDESTACK_OPTIONS
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

/**
 * parse_ok() - parse @s into @o, failing the test with the message if not
 * @s:	options string
 * @o:	options to update
 */
static void parse_ok(const char *s, struct vs_options *o)
{
	char err[256] = "";
	int ret = vs_options_parse(s, o, err, sizeof(err));

	if (ret)
		fail_msg("parse(\"%s\") = %d: %s", s, ret, err);
}

/**
 * expect_error() - parse @s over a known struct, expect failure, no change
 * @s:		options string
 * @errnum:	expected negative errno
 * @msg:	exact expected message, or NULL
 * @needle:	text the message must contain, or NULL
 */
static void expect_error(const char *s, int errnum, const char *msg,
			 const char *needle)
{
	struct vs_options o = {.backend = "tap",
			       .mtu = 1500,
			       .debug = 1,
			       .backend_opts = "a=1"},
			  before = o;
	char err[256] = "";

	assert_int_equal(vs_options_parse(s, &o, err, sizeof(err)), errnum);
	assert_memory_equal(&o, &before, sizeof(o));
	assert_true(strncmp(err, "options: ", 9) == 0);
	if (msg)
		assert_string_equal(err, msg);
	if (needle && !strstr(err, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err, needle);
}

static void test_null_and_empty_string_keep_defaults(void **state)
{
	struct vs_options o = {0}, zero = {0};

	parse_ok(NULL, &o);
	parse_ok("", &o);
	parse_ok(" , ,\t,\n", &o);
	assert_memory_equal(&o, &zero, sizeof(o));
}

static void test_core_keys_are_parsed(void **state)
{
	struct vs_options o = {0};

	parse_ok("backend=vhost-net,mtu=9000,debug=1", &o);
	assert_string_equal(o.backend, "vhost-net");
	assert_int_equal(o.mtu, 9000);
	assert_int_equal(o.debug, 1);
	assert_string_equal(o.backend_opts, "");
}

static void test_blanks_and_empty_items_are_ignored(void **state)
{
	struct vs_options o = {0};

	parse_ok(" ,, backend=tap\t,\n mtu=1500 ,, ", &o);
	assert_string_equal(o.backend, "tap");
	assert_int_equal(o.mtu, 1500);
}

static void test_backend_auto_is_accepted(void **state)
{
	struct vs_options o = {0};

	parse_ok("backend=auto", &o);
	assert_string_equal(o.backend, "auto");
}

static void test_backend_name_of_31_chars_is_accepted(void **state)
{
	struct vs_options o = {0};

	parse_ok("backend=abcdefghijklmnopqrstuvwxyz_0-12", &o);
	assert_string_equal(o.backend, "abcdefghijklmnopqrstuvwxyz_0-12");
}

static void test_other_keys_become_backend_opts_in_order(void **state)
{
	struct vs_options o = {0};

	parse_ok("queues=4,backend=tap,mode=bridge,mac=52:54:00:12:34:56,"
		 "x_y-z=a=b",
		 &o);
	assert_string_equal(o.backend_opts, "queues=4/mode=bridge/"
					    "mac=52:54:00:12:34:56/x_y-z=a=b");
	assert_string_equal(o.backend, "tap");
}

static void test_mtu_bounds_are_accepted(void **state)
{
	struct vs_options o = {0};

	parse_ok("mtu=68", &o);
	assert_int_equal(o.mtu, 68);
	o.mtu = 0;
	parse_ok("mtu=65535", &o);
	assert_int_equal(o.mtu, 65535);
	o.mtu = 0;
	parse_ok("mtu=0001500", &o);
	assert_int_equal(o.mtu, 1500);
}

static void test_mtu_out_of_range_is_einval(void **state)
{
	expect_error("mtu=70000", -EINVAL,
		     "options: mtu: '70000' is not in 68..65535", NULL);
	expect_error("mtu=67", -EINVAL, NULL, "'67' is not in");
	expect_error("mtu=0", -EINVAL, NULL, "'0' is not in");
	expect_error("mtu=65536", -EINVAL, NULL, "'65536' is not in");
	expect_error("mtu=99999999999999999999999999", -EINVAL, NULL,
		     "is not in 68..65535");
	/* 2^64 + 1500: a wrapping accumulator would accept it */
	expect_error("mtu=18446744073709553116", -EINVAL, NULL,
		     "is not in 68..65535");
	expect_error("mtu=4294968796", -EINVAL, NULL, "is not in 68..65535");
}

static void test_mtu_not_a_number_is_einval(void **state)
{
	expect_error("mtu=+1500", -EINVAL, NULL,
		     "mtu: '+1500' is not a number");
	expect_error("mtu=-1", -EINVAL, NULL, "is not a number");
	expect_error("mtu=15x0", -EINVAL, NULL, "is not a number");
	expect_error("mtu=0x600", -EINVAL, NULL, "is not a number");
	expect_error("mtu= 1500", -EINVAL, NULL, "is not a number");
}

static void test_debug_must_be_0_or_1(void **state)
{
	struct vs_options o = {0};

	parse_ok("debug=1", &o);
	assert_int_equal(o.debug, 1);
	parse_ok("debug=0", &o);
	assert_int_equal(o.debug, 0);
	expect_error("debug=2", -EINVAL, "options: debug: '2' is not 0 or 1",
		     NULL);
	expect_error("debug=yes", -EINVAL, NULL, "debug:");
	expect_error("debug=01", -EINVAL, NULL, "debug:");
}

static void test_item_without_equals_is_einval(void **state)
{
	expect_error("mtu=1500,tap", -EINVAL, "options: 'tap' is not key=value",
		     NULL);
}

static void test_empty_key_is_einval(void **state)
{
	expect_error("=tap", -EINVAL, NULL, "has no key");
}

static void test_empty_value_is_einval(void **state)
{
	expect_error("backend=", -EINVAL, "options: backend: empty value",
		     NULL);
	expect_error("queues=", -EINVAL, NULL, "queues: empty value");
}

static void test_bad_key_characters_is_einval(void **state)
{
	expect_error("MTU=1500", -EINVAL, NULL, "key 'MTU'");
	expect_error("a.b=1", -EINVAL, NULL, "key 'a.b'");
	expect_error("a/b=1", -EINVAL, NULL, "key 'a/b'");
	expect_error("mtu =1500", -EINVAL, NULL, "key 'mtu '");
}

static void test_bad_backend_name_is_einval(void **state)
{
	expect_error("backend=Tap", -EINVAL, NULL, "backend: 'Tap'");
	expect_error("backend=a/b", -EINVAL, NULL, "is not a name");
	expect_error("backend=abcdefghijklmnopqrstuvwxyz_0-123", -EINVAL, NULL,
		     "is not a name");
}

static void test_backend_opt_bad_value_is_einval(void **state)
{
	expect_error("path=/dev/x", -EINVAL, NULL, "path: '/dev/x' has a '/'");
	expect_error("a=b c", -EINVAL, NULL, "a: '");
	expect_error("a=\x01", -EINVAL, NULL, "a: '");
	expect_error("a=\xc3\xa9", -EINVAL, NULL, "a: '");
}

static void test_duplicate_key_in_one_string_is_einval(void **state)
{
	expect_error("mtu=1500,mtu=1500", -EINVAL, "options: mtu: given twice",
		     NULL);
	expect_error("backend=tap,backend=auto", -EINVAL, NULL,
		     "backend: given twice");
	expect_error("debug=0,debug=0", -EINVAL, NULL, "debug: given twice");
	expect_error("q=1,queues=2,q=3", -EINVAL, NULL, "q: given twice");
}

static void test_key_that_prefixes_another_is_distinct(void **state)
{
	struct vs_options o = {0};

	parse_ok("queues=2,q=1,queue=3", &o);
	assert_string_equal(o.backend_opts, "queues=2/q=1/queue=3");
	parse_ok("q=9", &o);
	assert_string_equal(o.backend_opts, "queues=2/q=9/queue=3");
}

static void test_second_parse_overrides_first(void **state)
{
	struct vs_options o = {0};

	/* VDESTACK_OPTIONS first, then the program's own string */
	parse_ok("backend=vhost-net,mtu=9000,debug=1,queues=4,mode=a", &o);
	parse_ok("mtu=1500,mode=b,extra=1,debug=0", &o);
	assert_string_equal(o.backend, "vhost-net");
	assert_int_equal(o.mtu, 1500);
	assert_int_equal(o.debug, 0);
	assert_string_equal(o.backend_opts, "queues=4/mode=b/extra=1");
}

static void test_failed_parse_leaves_struct_unchanged(void **state)
{
	expect_error("backend=macvtap,mtu=9000,b=2,mtu=x", -EINVAL, NULL,
		     "mtu:");
}

static void test_over_long_string_is_e2big(void **state)
{
	struct vs_options o = {0};
	char *s = malloc(VS_OPTIONS_MAX + 2);

	assert_non_null(s);
	memset(s, ' ', VS_OPTIONS_MAX + 1);
	memcpy(s, "mtu=1500", 8);
	s[VS_OPTIONS_MAX] = '\0';
	parse_ok(s, &o);
	assert_int_equal(o.mtu, 1500);
	s[VS_OPTIONS_MAX] = ' ';
	s[VS_OPTIONS_MAX + 1] = '\0';
	expect_error(s, -E2BIG, NULL, "longer than 4096");
	free(s);
}

static void test_backend_opts_overflow_is_e2big(void **state)
{
	struct vs_options o = {0};
	char s[600];

	/* "k=" + 509 value characters = 511: exactly fits */
	memset(s, 'v', sizeof(s));
	memcpy(s, "k=", 2);
	s[511] = '\0';
	parse_ok(s, &o);
	assert_int_equal(strlen(o.backend_opts), 511);
	/* one more character does not */
	memset(s, 'v', sizeof(s));
	memcpy(s, "k=", 2);
	s[512] = '\0';
	expect_error(s, -E2BIG, NULL, "backend options longer than 511");
	/* nor does a key appended to a full list, which stays as it was */
	memset(s, 'v', sizeof(s));
	memcpy(s, "x=", 2);
	s[511] = '\0';
	o = (struct vs_options){0};
	parse_ok(s, &o);
	assert_int_equal(vs_options_parse("y=1", &o, NULL, 0), -E2BIG);
	assert_int_equal(strlen(o.backend_opts), 511);
}

static void test_err_buffer_is_optional(void **state)
{
	struct vs_options o = {0};

	assert_int_equal(vs_options_parse("mtu=1", &o, NULL, 0), -EINVAL);
	assert_int_equal(vs_options_parse("mtu=100", &o, NULL, 0), 0);
	assert_int_equal(o.mtu, 100);
}

static const char *const tap_keys[] = {"queues", "sndbuf", NULL};

static void test_check_backend_accepts_known_keys(void **state)
{
	assert_int_equal(vs_options_check_backend("queues=2/sndbuf=1", tap_keys,
						  NULL, 0),
			 0);
	assert_int_equal(vs_options_check_backend("", NULL, NULL, 0), 0);
	assert_int_equal(vs_options_check_backend(NULL, tap_keys, NULL, 0), 0);
}

static void test_check_backend_unknown_key_is_einval(void **state)
{
	char err[256] = "";

	assert_int_equal(vs_options_check_backend("queues=2/foo=1/bar=2",
						  tap_keys, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "options: unknown key 'foo' (known: queues, "
				 "sndbuf)");
}

static void test_check_backend_prefix_of_key_is_unknown(void **state)
{
	char err[256] = "";

	assert_int_equal(
		vs_options_check_backend("queue=2", tap_keys, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "'queue'"));
	assert_int_equal(
		vs_options_check_backend("queuesx=2", tap_keys, NULL, 0),
		-EINVAL);
}

static void test_check_backend_without_keys_rejects_any(void **state)
{
	static const char *const none[] = {NULL};
	char err[256] = "";

	assert_int_equal(
		vs_options_check_backend("a=1", none, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "options: unknown key 'a' (the backend has "
				 "none)");
	assert_int_equal(vs_options_check_backend("a=1", NULL, NULL, 0),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_and_empty_string_keep_defaults),
		cmocka_unit_test(test_core_keys_are_parsed),
		cmocka_unit_test(test_blanks_and_empty_items_are_ignored),
		cmocka_unit_test(test_backend_auto_is_accepted),
		cmocka_unit_test(test_backend_name_of_31_chars_is_accepted),
		cmocka_unit_test(test_other_keys_become_backend_opts_in_order),
		cmocka_unit_test(test_mtu_bounds_are_accepted),
		cmocka_unit_test(test_mtu_out_of_range_is_einval),
		cmocka_unit_test(test_mtu_not_a_number_is_einval),
		cmocka_unit_test(test_debug_must_be_0_or_1),
		cmocka_unit_test(test_item_without_equals_is_einval),
		cmocka_unit_test(test_empty_key_is_einval),
		cmocka_unit_test(test_empty_value_is_einval),
		cmocka_unit_test(test_bad_key_characters_is_einval),
		cmocka_unit_test(test_bad_backend_name_is_einval),
		cmocka_unit_test(test_backend_opt_bad_value_is_einval),
		cmocka_unit_test(test_duplicate_key_in_one_string_is_einval),
		cmocka_unit_test(test_key_that_prefixes_another_is_distinct),
		cmocka_unit_test(test_second_parse_overrides_first),
		cmocka_unit_test(test_failed_parse_leaves_struct_unchanged),
		cmocka_unit_test(test_over_long_string_is_e2big),
		cmocka_unit_test(test_backend_opts_overflow_is_e2big),
		cmocka_unit_test(test_err_buffer_is_optional),
		cmocka_unit_test(test_check_backend_accepts_known_keys),
		cmocka_unit_test(test_check_backend_unknown_key_is_einval),
		cmocka_unit_test(test_check_backend_prefix_of_key_is_unknown),
		cmocka_unit_test(test_check_backend_without_keys_rejects_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
