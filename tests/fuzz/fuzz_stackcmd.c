// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz_stackcmd.c - libFuzzer target for core/stackcmd_parse.c
 *
 * Each input is used three ways: as a vde_stackcmd() string (the parse
 * must be consistent with its own unpacking, and survive being quoted back
 * in three different styles and parsed again to the same bytes), as a raw
 * packed buffer handed to vs_stackcmd_next() as the agent would receive
 * it, and as edits applied to a valid packed buffer.  Built by build.sh.
 */
#include "../../core/stackcmd_parse.c"

#include <stdio.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

#define MAXARGV (VS_STACKCMD_MAXARGS + 1)

static char *argv_buf[MAXARGV];

/**
 * struct str - growable string for quoting commands back
 * @p:		text, terminated
 * @len:	its length
 * @cap:	allocated size
 */
struct str {
	char *p;
	size_t len;
	size_t cap;
};

/**
 * str_add() - append @n bytes to @s
 * @s:	string
 * @d:	bytes
 * @n:	their number
 */
static void str_add(struct str *s, const char *d, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		CHECK(s->p);
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
	s->p[s->len] = '\0';
}

/**
 * quote_single() - one argument in '...', each ' as '\''
 * @s:	output
 * @a:	argument
 */
static void quote_single(struct str *s, const char *a)
{
	str_add(s, "'", 1);
	for (; *a; a++) {
		if (*a == '\'')
			str_add(s, "'\\''", 4);
		else
			str_add(s, a, 1);
	}
	str_add(s, "'", 1);
}

/**
 * quote_backslash() - one argument with every character backslashed
 * @s:		output
 * @a:		argument
 * @first:	argv[0]: its leading '/' stays bare so that a preceding
 *		", " separates commands
 */
static void quote_backslash(struct str *s, const char *a, int first)
{
	if (!*a) {
		str_add(s, "\"\"", 2);
		return;
	}
	if (first) {
		CHECK(*a == '/');
		str_add(s, a++, 1);
	}
	for (; *a; a++) {
		str_add(s, "\\", 1);
		str_add(s, a, 1);
	}
}

/**
 * quote_double() - one argument in "...", a backslash before " and \ and,
 * to exercise "\x gives x", before ; , and ' too
 * @s:	output
 * @a:	argument
 */
static void quote_double(struct str *s, const char *a)
{
	str_add(s, "\"", 1);
	for (; *a; a++) {
		if (strchr("\"\\;,'", *a))
			str_add(s, "\\", 1);
		str_add(s, a, 1);
	}
	str_add(s, "\"", 1);
}

/**
 * reparse_same() - parse @s and require the same packed bytes
 * @s:		quoted-back string
 * @buf:	packed buffer of the original parse
 * @len:	its length
 * @ncmds:	its command count
 */
static void reparse_same(const char *s, const char *buf, size_t len,
			 unsigned int ncmds)
{
	char *b2 = NULL, err[256];
	unsigned int n2 = 0;
	size_t l2 = 0;
	int ret;

	ret = vs_stackcmd_parse(s, &b2, &l2, &n2, err, sizeof(err));
	if (ret)
		fprintf(stderr, "reparse of \"%s\": %s\n", s, err);
	CHECK(ret == 0);
	CHECK(n2 == ncmds);
	CHECK(l2 == len);
	CHECK(!memcmp(b2, buf, len));
	free(b2);
}

/**
 * walk_raw() - vs_stackcmd_next() over untrusted bytes until it stops
 * @data:	bytes
 * @size:	their number
 * @maxargv:	entries offered
 */
static void walk_raw(const uint8_t *data, size_t size, size_t maxargv)
{
	/* an exact-size heap copy, so ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);
	unsigned int argc, i;
	size_t off = 0, prev;
	int ret;

	CHECK(buf);
	memcpy(buf, data, size);
	for (;;) {
		prev = off;
		ret = vs_stackcmd_next(buf, size, &off, argv_buf, maxargv,
				       &argc);
		if (ret) {
			CHECK(ret == -ENODATA || ret == -EINVAL ||
			      ret == -E2BIG);
			CHECK(off == prev);
			CHECK(ret != -ENODATA || off == size);
			break;
		}
		CHECK(off > prev && off <= size);
		CHECK(argc >= 1 && argc <= VS_STACKCMD_MAXARGS &&
		      argc < maxargv);
		CHECK(argv_buf[0][0] == '/');
		CHECK(argv_buf[argc] == NULL);
		for (i = 0; i < argc; i++)
			CHECK(argv_buf[i] >= buf + prev &&
			      argv_buf[i] + strlen(argv_buf[i]) < buf + off);
	}
	free(buf);
}

/**
 * check_parsed() - invariants of a successful parse, and the round trips
 * @buf:	packed buffer
 * @len:	its length
 * @ncmds:	command count reported by the parse
 */
static void check_parsed(const char *buf, size_t len, unsigned int ncmds)
{
	struct str q1 = {0}, q2 = {0}, q3 = {0};
	unsigned int argc, n = 0, i;
	size_t off = 0;
	int ret;

	CHECK(len > 0 && len <= VS_STACKCMD_MAX);
	CHECK(ncmds >= 1 && ncmds <= VS_STACKCMD_MAXCMDS);
	str_add(&q1, "", 0);
	str_add(&q2, "", 0);
	str_add(&q3, "", 0);
	while (!(ret = vs_stackcmd_next(buf, len, &off, argv_buf, MAXARGV,
					&argc))) {
		CHECK(argv_buf[0][0] == '/');
		CHECK(argc <= VS_STACKCMD_MAXARGS && !argv_buf[argc]);
		if (n) {
			str_add(&q1, ";", 1);
			str_add(&q2, ", \t", 3);
			str_add(&q3, "\n;\n", 3);
		}
		for (i = 0; i < argc; i++) {
			if (i) {
				str_add(&q1, " ", 1);
				str_add(&q2, "\n", 1);
				str_add(&q3, "\t", 1);
			}
			quote_single(&q1, argv_buf[i]);
			quote_backslash(&q2, argv_buf[i], i == 0);
			quote_double(&q3, argv_buf[i]);
		}
		n++;
	}
	CHECK(ret == -ENODATA);
	CHECK(off == len);
	CHECK(n == ncmds);
	reparse_same(q1.p, buf, len, ncmds);
	reparse_same(q2.p, buf, len, ncmds);
	reparse_same(q3.p, buf, len, ncmds);
	free(q1.p);
	free(q2.p);
	free(q3.p);
}

/**
 * walk_edited() - a valid packed buffer with one byte changed, one cut off
 * @buf:	packed buffer
 * @len:	its length
 * @data:	fuzzer input, source of the edit
 * @size:	its length
 */
static void walk_edited(const char *buf, size_t len, const uint8_t *data,
			size_t size)
{
	uint8_t *e = malloc(len);
	size_t at;

	CHECK(e);
	memcpy(e, buf, len);
	if (size >= 2) {
		at = (data[0] | (size_t)data[1] << 8) % len;
		e[at] ^= data[size - 1] ? data[size - 1] : 0xff;
	}
	walk_raw(e, len, MAXARGV);
	walk_raw(e, len - 1, MAXARGV);
	free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *buf = (char *)0x1, err[256] = "";
	unsigned int ncmds = 0;
	size_t len = 0;
	int ret;

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	ret = vs_stackcmd_parse(s, &buf, &len, &ncmds, err, sizeof(err));
	if (ret) {
		CHECK(ret == -EINVAL || ret == -E2BIG);
		CHECK(buf == (char *)0x1 && len == 0 && ncmds == 0);
		CHECK(!strncmp(err, "stackcmd: ", 10));
	} else {
		check_parsed(buf, len, ncmds);
		walk_edited(buf, len, data, size);
		free(buf);
	}
	walk_raw(data, size, MAXARGV);
	walk_raw(data, size, 3);
	free(s);
	return 0;
}
