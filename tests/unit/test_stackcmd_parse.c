// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_stackcmd_parse.c - vde_stackcmd() syntax, packing and unpacking
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stackcmd_parse.h"

/* Expected commands: CMDS(ARGV("/bin/a", "x"), ARGV("/bin/b")) */
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CMDS(...) ((const char *const *const[]){__VA_ARGS__, NULL})

#define MAXARGV (VS_STACKCMD_MAXARGS + 1)

static char *argv_buf[MAXARGV];

/**
 * expect_cmds() - parse @s and compare every unpacked command to @want
 * @s:		vde_stackcmd() string
 * @want:	NULL-terminated array of NULL-terminated argv arrays
 */
static void expect_cmds(const char *s, const char *const *const *want)
{
	char err[256] = "", *buf = NULL;
	unsigned int ncmds = 0, argc, c, i;
	size_t len = 0, off = 0;
	int ret;

	ret = vs_stackcmd_parse(s, &buf, &len, &ncmds, err, sizeof(err));
	if (ret)
		fail_msg("parse(\"%s\") = %d: %s", s, ret, err);
	for (c = 0; want[c]; c++) {
		assert_int_equal(vs_stackcmd_next(buf, len, &off, argv_buf,
						  MAXARGV, &argc),
				 0);
		for (i = 0; want[c][i]; i++) {
			assert_true(i < argc);
			assert_string_equal(argv_buf[i], want[c][i]);
		}
		assert_int_equal(argc, i);
		assert_null(argv_buf[argc]);
	}
	assert_int_equal(ncmds, c);
	assert_int_equal(
		vs_stackcmd_next(buf, len, &off, argv_buf, MAXARGV, &argc),
		-ENODATA);
	assert_int_equal(off, len);
	free(buf);
}

/**
 * expect_error() - parse @s, expect @errnum, nothing allocated, a message
 * @s:		vde_stackcmd() string
 * @errnum:	expected negative errno
 * @needle:	text the message must contain, or NULL
 */
static void expect_error(const char *s, int errnum, const char *needle)
{
	char err[256] = "", *buf = (char *)0x1;
	unsigned int ncmds = 77;
	size_t len = 99;
	int ret;

	ret = vs_stackcmd_parse(s, &buf, &len, &ncmds, err, sizeof(err));
	assert_int_equal(ret, errnum);
	assert_ptr_equal(buf, (char *)0x1);
	assert_int_equal(len, 99);
	assert_int_equal(ncmds, 77);
	assert_true(strncmp(err, "stackcmd: ", 10) == 0);
	if (needle && !strstr(err, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err, needle);
}

static void test_words_are_split_on_blanks(void **state)
{
	expect_cmds("  /bin/ip\tlink  set vde0 up ",
		    CMDS(ARGV("/bin/ip", "link", "set", "vde0", "up")));
}

static void test_semicolon_separates_commands(void **state)
{
	expect_cmds("/bin/a x;/bin/b ; /bin/c y z",
		    CMDS(ARGV("/bin/a", "x"), ARGV("/bin/b"),
			 ARGV("/bin/c", "y", "z")));
}

static void test_comma_before_slash_splits_commands(void **state)
{
	expect_cmds("/bin/ip link set vde0 up, /bin/ip addr add 10.0.0.1/24 "
		    "dev vde0",
		    CMDS(ARGV("/bin/ip", "link", "set", "vde0", "up"),
			 ARGV("/bin/ip", "addr", "add", "10.0.0.1/24", "dev",
			      "vde0")));
}

static void test_comma_directly_before_slash_splits_commands(void **state)
{
	expect_cmds("/bin/a x,/bin/b",
		    CMDS(ARGV("/bin/a", "x"), ARGV("/bin/b")));
}

static void test_comma_at_end_of_line_before_slash_splits(void **state)
{
	expect_cmds("/bin/a x,\n\t/bin/b",
		    CMDS(ARGV("/bin/a", "x"), ARGV("/bin/b")));
}

static void test_comma_in_argument_stays(void **state)
{
	expect_cmds("/usr/bin/foo 80,443 a,b,",
		    CMDS(ARGV("/usr/bin/foo", "80,443", "a,b,")));
}

static void test_comma_before_non_slash_stays(void **state)
{
	expect_cmds("/bin/a x, y ,z , 'q'",
		    CMDS(ARGV("/bin/a", "x,", "y", ",z", ",", "q")));
}

static void test_quoted_separators_do_not_split(void **state)
{
	expect_cmds("/bin/echo ';' \", /bin/x\" ',/y'",
		    CMDS(ARGV("/bin/echo", ";", ", /bin/x", ",/y")));
}

static void test_escaped_separators_do_not_split(void **state)
{
	expect_cmds("/bin/a x\\, /bin/b \\;",
		    CMDS(ARGV("/bin/a", "x,", "/bin/b", ";")));
}

static void test_newline_is_blank_not_separator(void **state)
{
	expect_cmds("/bin/a\nx\n\n/bin/b", CMDS(ARGV("/bin/a", "x", "/bin/b")));
}

static void test_single_quotes_are_literal(void **state)
{
	expect_cmds("/bin/a 'x\\y \"z\" ;,/w'",
		    CMDS(ARGV("/bin/a", "x\\y \"z\" ;,/w")));
}

static void test_double_quotes_honour_backslash(void **state)
{
	expect_cmds("/bin/a \"q\\\"b\\\\c\\d 'e'\"",
		    CMDS(ARGV("/bin/a", "q\"b\\cd 'e'")));
}

static void test_backslash_outside_quotes_escapes(void **state)
{
	expect_cmds("/bin/a x\\ y \\' \\\" \\\\ \\n a\\\nb",
		    CMDS(ARGV("/bin/a", "x y", "'", "\"", "\\", "n", "a\nb")));
}

static void test_adjacent_quotes_join_one_word(void **state)
{
	expect_cmds("/bin/a a'b c'd\"e f\"g",
		    CMDS(ARGV("/bin/a", "ab cde fg")));
}

static void test_empty_quotes_make_empty_argument(void **state)
{
	expect_cmds("/bin/echo '' \"\" x''",
		    CMDS(ARGV("/bin/echo", "", "", "x")));
}

static void test_quoted_program_path_is_accepted(void **state)
{
	expect_cmds("'/opt/my prog' x; \"/bin\"/b",
		    CMDS(ARGV("/opt/my prog", "x"), ARGV("/bin/b")));
}

static void test_empty_commands_are_skipped(void **state)
{
	expect_cmds(";; /bin/a ; ;\n; /bin/b ;",
		    CMDS(ARGV("/bin/a"), ARGV("/bin/b")));
}

static void test_relative_path_is_einval(void **state)
{
	expect_error("ip link set vde0 up", -EINVAL, "'ip' is not an absolute");
	expect_error("/bin/a; sbin/b", -EINVAL, "command 2: 'sbin/b'");
}

static void test_empty_program_is_einval(void **state)
{
	expect_error("'' /bin/a", -EINVAL, "not an absolute path");
}

static void test_unbalanced_quote_is_einval(void **state)
{
	expect_error("/bin/a 'x", -EINVAL, "unbalanced ' quote");
	expect_error("/bin/a \"x", -EINVAL, "unbalanced \" quote");
	expect_error("/bin/a \"x\\\"", -EINVAL, "unbalanced \" quote");
	expect_error("/bin/a 'x'\"", -EINVAL, "unbalanced");
}

static void test_trailing_backslash_is_einval(void **state)
{
	expect_error("/bin/a x\\", -EINVAL, "trailing backslash");
}

static void test_no_command_is_einval(void **state)
{
	expect_error(NULL, -EINVAL, "no command");
	expect_error("", -EINVAL, "no command");
	expect_error(" \t\n ", -EINVAL, "no command");
	expect_error(";;", -EINVAL, "no command");
	expect_error(";\n; ,\t;", -EINVAL, "not an absolute path");
}

static void test_err_buffer_is_optional(void **state)
{
	char *buf = NULL;
	size_t len;

	assert_int_equal(vs_stackcmd_parse("x", &buf, &len, NULL, NULL, 0),
			 -EINVAL);
	assert_null(buf);
	assert_int_equal(vs_stackcmd_parse("/x", &buf, &len, NULL, NULL, 0), 0);
	assert_non_null(buf);
	free(buf);
}

static void test_long_message_is_truncated_in_err(void **state)
{
	char err[8];
	char *buf = NULL;
	size_t len;

	memset(err, 'z', sizeof(err));
	assert_int_equal(
		vs_stackcmd_parse("rel", &buf, &len, NULL, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "stackcm");
}

static void test_packed_layout_is_argc_then_strings(void **state)
{
	uint32_t three = 3, one = 1;
	char want[21], *buf;
	unsigned int ncmds;
	size_t len;

	memcpy(want, &three, 4);
	memcpy(want + 4, "/bin/a\0\0x", 10);
	memcpy(want + 14, &one, 4);
	memcpy(want + 18, "/b", 3);
	assert_int_equal(vs_stackcmd_parse("/bin/a '' x; /b", &buf, &len,
					   &ncmds, NULL, 0),
			 0);
	assert_int_equal(ncmds, 2);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	free(buf);
}

/**
 * repeat() - build a string of @n copies of @unit followed by @tail
 * @unit:	repeated text
 * @n:		copies
 * @tail:	text appended once
 *
 * Return: malloc'd string.
 */
static char *repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail), i;
	char *s = malloc(ul * n + tl + 1);

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + n * ul, tail, tl + 1);
	return s;
}

static void test_256_commands_are_accepted(void **state)
{
	char *s = repeat("/a;", VS_STACKCMD_MAXCMDS, ";;"), *buf;
	unsigned int ncmds;
	size_t len;

	assert_int_equal(vs_stackcmd_parse(s, &buf, &len, &ncmds, NULL, 0), 0);
	assert_int_equal(ncmds, VS_STACKCMD_MAXCMDS);
	free(buf);
	free(s);
}

static void test_too_many_commands_is_e2big(void **state)
{
	char *s = repeat("/a;", VS_STACKCMD_MAXCMDS + 1, "");

	expect_error(s, -E2BIG, "more than 256 commands");
	free(s);
}

static void test_4096_arguments_are_accepted(void **state)
{
	char *s = repeat(" x", VS_STACKCMD_MAXARGS, ""), *buf;
	size_t len, off = 0;
	unsigned int argc;

	s[0] = '/';
	assert_int_equal(vs_stackcmd_parse(s, &buf, &len, NULL, NULL, 0), 0);
	assert_int_equal(
		vs_stackcmd_next(buf, len, &off, argv_buf, MAXARGV, &argc), 0);
	assert_int_equal(argc, VS_STACKCMD_MAXARGS);
	free(buf);
	free(s);
}

static void test_too_many_arguments_is_e2big(void **state)
{
	char *s = repeat(" x", VS_STACKCMD_MAXARGS + 1, "");

	s[0] = '/';
	expect_error(s, -E2BIG, "over 4096 arguments");
	free(s);
}

static void test_packed_size_at_limit_is_accepted(void **state)
{
	/* 4 (argc) + word + NUL == VS_STACKCMD_MAX */
	char *s = repeat("x", VS_STACKCMD_MAX - 5, ""), *buf;
	size_t len;

	s[0] = '/';
	assert_int_equal(vs_stackcmd_parse(s, &buf, &len, NULL, NULL, 0), 0);
	assert_int_equal(len, VS_STACKCMD_MAX);
	free(buf);
	free(s);
}

static void test_packed_size_over_limit_is_e2big(void **state)
{
	char *s = repeat("x", VS_STACKCMD_MAX - 4, "");

	s[0] = '/';
	expect_error(s, -E2BIG, "over 131072 bytes");
	free(s);
}

static void test_huge_input_is_e2big(void **state)
{
	char *s = repeat("/a ", 1 << 20, "");

	expect_error(s, -E2BIG, NULL);
	free(s);
}

/**
 * next_ret() - vs_stackcmd_next() on @len bytes copied to an exact heap block
 * @raw:	bytes
 * @len:	their number
 * @maxargv:	entries offered
 *
 * The exact-size copy lets ASan catch a read past the buffer.
 *
 * Return: what vs_stackcmd_next() returned; asserts @off and @argc moved
 * only on success, and argv pointed into the buffer then.
 */
static int next_ret(const void *raw, size_t len, size_t maxargv)
{
	char *buf = malloc(len ? len : 1);
	unsigned int argc = 12345;
	size_t off = 0;
	int ret;

	assert_non_null(buf);
	memcpy(buf, raw, len);
	ret = vs_stackcmd_next(buf, len, &off, argv_buf, maxargv, &argc);
	if (ret) {
		assert_int_equal(off, 0);
		assert_int_equal(argc, 12345);
	} else {
		assert_true(argv_buf[0] >= buf &&
			    argv_buf[argc - 1] < buf + len);
		assert_null(argv_buf[argc]);
	}
	free(buf);
	return ret;
}

/* Packed command with header @argc, then @body of @blen bytes. */
static int next_packed(uint32_t argc, const char *body, size_t blen,
		       size_t maxargv)
{
	char raw[64];

	memcpy(raw, &argc, 4);
	memcpy(raw + 4, body, blen);
	return next_ret(raw, 4 + blen, maxargv);
}

static void test_next_accepts_wellformed_command(void **state)
{
	char raw[] = "\2\0\0\0/a\0b";
	unsigned int argc;
	size_t off = 0;

	assert_int_equal(next_packed(2, "/a\0b", 5, 3), 0);
	assert_int_equal(
		vs_stackcmd_next(raw, sizeof(raw), &off, argv_buf, 3, &argc),
		0);
	assert_int_equal(argc, 2);
	assert_int_equal(off, sizeof(raw));
	assert_ptr_equal(argv_buf[0], raw + 4);
	assert_string_equal(argv_buf[1], "b");
	assert_null(argv_buf[2]);
}

static void test_next_rejects_truncated_header(void **state)
{
	assert_int_equal(next_ret("\1\0\0", 3, MAXARGV), -EINVAL);
}

static void test_next_rejects_missing_nul(void **state)
{
	assert_int_equal(next_packed(1, "/bin/a", 6, MAXARGV), -EINVAL);
	assert_int_equal(next_packed(2, "/a\0b", 4, MAXARGV), -EINVAL);
	assert_int_equal(next_packed(1, "", 0, MAXARGV), -EINVAL);
}

static void test_next_rejects_zero_argc(void **state)
{
	assert_int_equal(next_packed(0, "/a", 3, MAXARGV), -EINVAL);
}

static void test_next_rejects_argc_over_limit(void **state)
{
	assert_int_equal(
		next_packed(VS_STACKCMD_MAXARGS + 1, "/a", 3, MAXARGV + 10),
		-EINVAL);
	assert_int_equal(next_packed(UINT32_MAX, "/a", 3, MAXARGV), -EINVAL);
}

static void test_next_rejects_argc_beyond_strings(void **state)
{
	assert_int_equal(next_packed(3, "/a\0b", 5, MAXARGV), -EINVAL);
}

static void test_next_rejects_relative_program(void **state)
{
	assert_int_equal(next_packed(1, "a", 2, MAXARGV), -EINVAL);
	assert_int_equal(next_packed(1, "", 1, MAXARGV), -EINVAL);
}

static void test_next_small_argv_is_e2big(void **state)
{
	assert_int_equal(next_packed(2, "/a\0b", 5, 2), -E2BIG);
	assert_int_equal(next_packed(2, "/a\0b", 5, 0), -E2BIG);
}

static void test_next_rejects_bad_offset_and_length(void **state)
{
	char raw[] = "\1\0\0\0/a";
	unsigned int argc;
	size_t off = sizeof(raw) + 1;

	assert_int_equal(vs_stackcmd_next(raw, sizeof(raw), &off, argv_buf,
					  MAXARGV, &argc),
			 -EINVAL);
	off = 0;
	assert_int_equal(vs_stackcmd_next(raw, VS_STACKCMD_MAX + 1, &off,
					  argv_buf, MAXARGV, &argc),
			 -EINVAL);
	assert_int_equal(
		vs_stackcmd_next(NULL, 8, &off, argv_buf, MAXARGV, &argc),
		-EINVAL);
	assert_int_equal(
		vs_stackcmd_next(NULL, 0, &off, argv_buf, MAXARGV, &argc),
		-ENODATA);
}

static void test_next_rejects_garbage_after_command(void **state)
{
	char raw[] = "\1\0\0\0/a\0\2\0";
	unsigned int argc;
	size_t off = 0;

	/* sizeof(raw) - 1: only 2 bytes of the second header remain */
	assert_int_equal(vs_stackcmd_next(raw, sizeof(raw) - 1, &off, argv_buf,
					  MAXARGV, &argc),
			 0);
	assert_int_equal(off, 7);
	assert_int_equal(vs_stackcmd_next(raw, sizeof(raw) - 1, &off, argv_buf,
					  MAXARGV, &argc),
			 -EINVAL);
	assert_int_equal(off, 7);
}

static void test_next_reads_unaligned_buffer(void **state)
{
	char *s, *buf, *odd;
	size_t len, off = 0;
	unsigned int argc;

	assert_int_equal(
		vs_stackcmd_parse("/a; /bb x", &s, &len, NULL, NULL, 0), 0);
	buf = malloc(len + 1);
	assert_non_null(buf);
	odd = buf + 1;
	memcpy(odd, s, len);
	assert_int_equal(
		vs_stackcmd_next(odd, len, &off, argv_buf, MAXARGV, &argc), 0);
	assert_int_equal(
		vs_stackcmd_next(odd, len, &off, argv_buf, MAXARGV, &argc), 0);
	assert_int_equal(argc, 2);
	assert_string_equal(argv_buf[1], "x");
	free(buf);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_are_split_on_blanks),
		cmocka_unit_test(test_semicolon_separates_commands),
		cmocka_unit_test(test_comma_before_slash_splits_commands),
		cmocka_unit_test(
			test_comma_directly_before_slash_splits_commands),
		cmocka_unit_test(test_comma_at_end_of_line_before_slash_splits),
		cmocka_unit_test(test_comma_in_argument_stays),
		cmocka_unit_test(test_comma_before_non_slash_stays),
		cmocka_unit_test(test_quoted_separators_do_not_split),
		cmocka_unit_test(test_escaped_separators_do_not_split),
		cmocka_unit_test(test_newline_is_blank_not_separator),
		cmocka_unit_test(test_single_quotes_are_literal),
		cmocka_unit_test(test_double_quotes_honour_backslash),
		cmocka_unit_test(test_backslash_outside_quotes_escapes),
		cmocka_unit_test(test_adjacent_quotes_join_one_word),
		cmocka_unit_test(test_empty_quotes_make_empty_argument),
		cmocka_unit_test(test_quoted_program_path_is_accepted),
		cmocka_unit_test(test_empty_commands_are_skipped),
		cmocka_unit_test(test_relative_path_is_einval),
		cmocka_unit_test(test_empty_program_is_einval),
		cmocka_unit_test(test_unbalanced_quote_is_einval),
		cmocka_unit_test(test_trailing_backslash_is_einval),
		cmocka_unit_test(test_no_command_is_einval),
		cmocka_unit_test(test_err_buffer_is_optional),
		cmocka_unit_test(test_long_message_is_truncated_in_err),
		cmocka_unit_test(test_packed_layout_is_argc_then_strings),
		cmocka_unit_test(test_256_commands_are_accepted),
		cmocka_unit_test(test_too_many_commands_is_e2big),
		cmocka_unit_test(test_4096_arguments_are_accepted),
		cmocka_unit_test(test_too_many_arguments_is_e2big),
		cmocka_unit_test(test_packed_size_at_limit_is_accepted),
		cmocka_unit_test(test_packed_size_over_limit_is_e2big),
		cmocka_unit_test(test_huge_input_is_e2big),
		cmocka_unit_test(test_next_accepts_wellformed_command),
		cmocka_unit_test(test_next_rejects_truncated_header),
		cmocka_unit_test(test_next_rejects_missing_nul),
		cmocka_unit_test(test_next_rejects_zero_argc),
		cmocka_unit_test(test_next_rejects_argc_over_limit),
		cmocka_unit_test(test_next_rejects_argc_beyond_strings),
		cmocka_unit_test(test_next_rejects_relative_program),
		cmocka_unit_test(test_next_small_argv_is_e2big),
		cmocka_unit_test(test_next_rejects_bad_offset_and_length),
		cmocka_unit_test(test_next_rejects_garbage_after_command),
		cmocka_unit_test(test_next_reads_unaligned_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
