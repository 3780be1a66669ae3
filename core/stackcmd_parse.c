// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * stackcmd_parse.c - parse vde_stackcmd() strings, pack and unpack them
 *
 * DOC: Theory of Operation
 *
 * vde_stackcmd() runs its commands in the namespace agent, a separate
 * process.  The string is parsed here, in the application, so that syntax
 * errors reach the caller with a message; the result is packed into one
 * self-contained buffer (no pointers) that travels over the control socket.
 * The agent walks it with vs_stackcmd_next(), which validates every bound
 * and terminator because the agent must not trust what it receives.
 *
 * Syntax, a small subset of sh(1) with no expansion of any kind:
 *
 * - Commands are separated by an unquoted ';', and by an unquoted ',' whose
 *   next non-blank character is '/': upstream's man page separates
 *   commands with commas, but "80,443" must stay one argument.  Empty
 *   commands (";;", a trailing ';') are skipped.
 * - Words are separated by blanks: space, tab and newline.  The comma
 *   look-ahead skips the same blanks, so a comma at the end of a line
 *   followed by "/bin/..." on the next one separates commands too.
 * - '...' is literal; "..." is literal except that '\' takes the next
 *   character as is; outside quotes '\x' is x.  Quoted and unquoted pieces
 *   join into one word; '' and "" are empty arguments and are kept.
 * - argv[0] must be an absolute path: there is no $PATH search, on purpose
 *   (the agent's environment is not the application's).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackcmd_parse.h"

/* Longest piece of user input quoted back in an error message. */
#define ERR_QUOTE_MAX 64

/**
 * struct parser - state of one vs_stackcmd_parse() call
 * @s:		input string
 * @out:	packed output being built
 * @len:	bytes used in @out
 * @cap:	bytes allocated for @out
 * @cmd_off:	offset in @out of the open command's argc field
 * @word_off:	offset in @out of the open word
 * @argc:	words completed in the open command
 * @ncmds:	commands completed
 * @in_cmd:	a command is open (its argc field is reserved)
 * @in_word:	a word is open (even an empty one, after '' or "")
 * @err:	message buffer, may be NULL
 * @errlen:	size of @err
 */
struct parser {
	const char *s;
	char *out;
	size_t len;
	size_t cap;
	size_t cmd_off;
	size_t word_off;
	uint32_t argc;
	unsigned int ncmds;
	bool in_cmd;
	bool in_word;
	char *err;
	size_t errlen;
};

/**
 * set_err() - format a message into the caller's error buffer
 * @p:		parser state, owner of the buffer
 * @fmt:	printf format
 *
 * Return: nothing; the buffer is optional and silently truncated.
 */
static void __attribute__((format(printf, 2, 3)))
set_err(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->err || !p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

/**
 * is_blank() - word separator test
 * @c:	character
 *
 * Return: true for space, tab and newline.
 */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/**
 * reserve() - make room for @n more bytes of packed output
 * @p:	parser state
 * @n:	bytes needed
 *
 * The limit is checked here, on every byte, so that a huge input string
 * costs at most VS_STACKCMD_MAX of memory before it is refused.
 *
 * Return: 0, -E2BIG past VS_STACKCMD_MAX, -ENOMEM.
 */
static int reserve(struct parser *p, size_t n)
{
	size_t cap;
	char *q;

	if (n > VS_STACKCMD_MAX - p->len) {
		set_err(p, "stackcmd: over %u bytes once parsed",
			VS_STACKCMD_MAX);
		return -E2BIG;
	}
	if (p->len + n <= p->cap)
		return 0;
	cap = p->cap ? p->cap : 256;
	while (cap < p->len + n)
		cap *= 2;
	if (cap > VS_STACKCMD_MAX)
		cap = VS_STACKCMD_MAX;
	q = realloc(p->out, cap);
	if (!q) {
		set_err(p, "stackcmd: out of memory");
		return -ENOMEM;
	}
	p->out = q;
	p->cap = cap;
	return 0;
}

/**
 * word_begin() - open a word (and a command) unless one is open
 * @p:	parser state
 *
 * Return: 0, -E2BIG over the command or argument count limits, -ENOMEM.
 */
static int word_begin(struct parser *p)
{
	int ret;

	if (!p->in_cmd) {
		if (p->ncmds >= VS_STACKCMD_MAXCMDS) {
			set_err(p, "stackcmd: more than %u commands",
				VS_STACKCMD_MAXCMDS);
			return -E2BIG;
		}
		ret = reserve(p, sizeof(uint32_t));
		if (ret)
			return ret;
		p->cmd_off = p->len;
		p->len += sizeof(uint32_t);
		p->argc = 0;
		p->in_cmd = true;
	}
	if (!p->in_word) {
		if (p->argc >= VS_STACKCMD_MAXARGS) {
			set_err(p, "stackcmd: command %u: over %u arguments",
				p->ncmds + 1, VS_STACKCMD_MAXARGS);
			return -E2BIG;
		}
		p->word_off = p->len;
		p->in_word = true;
	}
	return 0;
}

/**
 * put() - append one character to the open word
 * @p:	parser state
 * @c:	character
 *
 * Return: 0, -E2BIG, -ENOMEM.
 */
static int put(struct parser *p, char c)
{
	int ret = reserve(p, 1);

	if (ret)
		return ret;
	p->out[p->len++] = c;
	return 0;
}

/**
 * word_end() - terminate the open word, if any
 * @p:	parser state
 *
 * The absolute-path rule is checked here because only a complete word
 * (quotes removed) says what will be executed.
 *
 * Return: 0, -EINVAL if argv[0] is not absolute, -E2BIG, -ENOMEM.
 */
static int word_end(struct parser *p)
{
	const char *w;
	int ret;

	if (!p->in_word)
		return 0;
	ret = put(p, '\0');
	if (ret)
		return ret;
	p->in_word = false;
	if (p->argc++ == 0 && p->out[p->word_off] != '/') {
		w = p->out + p->word_off;
		set_err(p,
			"stackcmd: command %u: '%.*s%s' is not an absolute "
			"path (no $PATH search: write e.g. /sbin/ip)",
			p->ncmds + 1, ERR_QUOTE_MAX, w,
			strlen(w) > ERR_QUOTE_MAX ? "..." : "");
		return -EINVAL;
	}
	return 0;
}

/**
 * cmd_end() - close the open word and command, if any
 * @p:	parser state
 *
 * Return: 0 or a negative errno from word_end().
 */
static int cmd_end(struct parser *p)
{
	int ret = word_end(p);

	if (ret)
		return ret;
	if (!p->in_cmd)
		return 0;
	memcpy(p->out + p->cmd_off, &p->argc, sizeof(p->argc));
	p->in_cmd = false;
	p->ncmds++;
	return 0;
}

/**
 * comma_separates() - does the unquoted ',' at @s[i] start a new command?
 * @s:	input string
 * @i:	index of the comma
 *
 * Return: true if the next non-blank character is '/'.
 */
static bool comma_separates(const char *s, size_t i)
{
	for (i++; is_blank(s[i]); i++)
		;
	return s[i] == '/';
}

/**
 * quoted() - copy a quoted piece into the open word
 * @p:	parser state
 * @i:	index of the opening quote; on success, index of the closing one
 *
 * Return: 0, -EINVAL if the quote is not closed, -E2BIG, -ENOMEM.
 */
static int quoted(struct parser *p, size_t *i)
{
	const char *s = p->s;
	char q = s[*i];
	size_t j;
	int ret;

	for (j = *i + 1; s[j] && s[j] != q; j++) {
		if (q == '"' && s[j] == '\\' && s[j + 1])
			j++;
		ret = put(p, s[j]);
		if (ret)
			return ret;
	}
	if (!s[j]) {
		set_err(p, "stackcmd: unbalanced %c quote at offset %zu", q,
			*i);
		return -EINVAL;
	}
	*i = j;
	return 0;
}

/**
 * trailing_backslash() - report a backslash that escapes nothing
 * @p:	parser state
 *
 * Return: -EINVAL.
 */
static int trailing_backslash(struct parser *p)
{
	set_err(p,
		"stackcmd: trailing backslash (write \\\\ for a literal one)");
	return -EINVAL;
}

/**
 * parse() - tokenize the whole input into @p->out
 * @p:	parser state, zeroed except @s, @err, @errlen
 *
 * Return: 0 or a negative errno, with a message.
 */
static int parse(struct parser *p)
{
	const char *s = p->s;
	size_t i;
	int ret;

	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (is_blank(c)) {
			ret = word_end(p);
		} else if (c == ';' || (c == ',' && comma_separates(s, i))) {
			ret = cmd_end(p);
		} else {
			ret = word_begin(p);
			if (ret)
				return ret;
			if (c == '\'' || c == '"') {
				ret = quoted(p, &i);
			} else if (c == '\\') {
				if (!s[i + 1])
					return trailing_backslash(p);
				ret = put(p, s[++i]);
			} else {
				ret = put(p, c);
			}
		}
		if (ret)
			return ret;
	}
	ret = cmd_end(p);
	if (ret)
		return ret;
	if (!p->ncmds) {
		set_err(p, "stackcmd: no command in \"%.*s%s\"", ERR_QUOTE_MAX,
			s, i > ERR_QUOTE_MAX ? "..." : "");
		return -EINVAL;
	}
	return 0;
}

/**
 * vs_stackcmd_parse() - parse a vde_stackcmd() string into a packed buffer
 * @s:		commands, see the Theory of Operation above
 * @buf:	on success, the packed buffer (malloc'd, the caller frees it)
 * @len:	on success, its length in bytes
 * @ncmds:	on success, the number of commands, 1..VS_STACKCMD_MAXCMDS;
 *		may be NULL
 * @err:	buffer for a message saying what is wrong, may be NULL
 * @errlen:	size of @err
 *
 * Return: 0; -EINVAL for NULL, no command, an unbalanced quote, a trailing
 * backslash, a command that is not an absolute path; -E2BIG over
 * VS_STACKCMD_MAX bytes, VS_STACKCMD_MAXARGS arguments in a command or
 * VS_STACKCMD_MAXCMDS commands; -ENOMEM.  On error nothing is allocated
 * and @buf, @len, @ncmds are untouched.
 */
int vs_stackcmd_parse(const char *s, char **buf, size_t *len,
		      unsigned int *ncmds, char *err, size_t errlen)
{
	struct parser p = {.s = s, .err = err, .errlen = errlen};
	int ret;

	if (!buf || !len) {
		set_err(&p, "stackcmd: no output buffer");
		return -EINVAL;
	}
	if (!s) {
		set_err(&p, "stackcmd: no command (NULL string)");
		return -EINVAL;
	}
	ret = parse(&p);
	if (ret) {
		free(p.out);
		return ret;
	}
	*buf = p.out;
	*len = p.len;
	if (ncmds)
		*ncmds = p.ncmds;
	return 0;
}

/**
 * vs_stackcmd_next() - unpack and validate the next command of a buffer
 * @buf:	packed buffer, as made by vs_stackcmd_parse(), but untrusted
 * @len:	its length
 * @off:	offset of the command to read; advanced past it on success
 * @argv:	filled with pointers into @buf, then a NULL
 * @maxargv:	entries in @argv; must exceed the command's argc
 * @argc:	on success, the number of arguments (1..VS_STACKCMD_MAXARGS)
 *
 * Context: runs in the namespace agent on bytes that came from another
 * process: every length, count and terminator is checked before use.
 *
 * Return: 0; -ENODATA when @off is at the end; -EINVAL for a malformed
 * buffer (truncated header or string, argc 0 or over VS_STACKCMD_MAXARGS,
 * argv[0] not absolute, @len over VS_STACKCMD_MAX, @off past the end);
 * -E2BIG if @maxargv is not above argc (then @off is unchanged and the
 * caller may retry with a larger @argv).  On error @off and @argc are
 * untouched; @argv may have been written.
 */
int vs_stackcmd_next(const char *buf, size_t len, size_t *off, char **argv,
		     size_t maxargv, unsigned int *argc)
{
	const char *p, *end, *nul;
	uint32_t n, i;

	if (!off || !argv || !argc || (!buf && len) || len > VS_STACKCMD_MAX ||
	    *off > len)
		return -EINVAL;
	if (*off == len)
		return -ENODATA;
	if (len - *off < sizeof(n))
		return -EINVAL;
	memcpy(&n, buf + *off, sizeof(n));
	if (n == 0 || n > VS_STACKCMD_MAXARGS)
		return -EINVAL;
	if (maxargv <= n)
		return -E2BIG;
	p = buf + *off + sizeof(n);
	end = buf + len;
	for (i = 0; i < n; i++) {
		nul = memchr(p, '\0', end - p);
		if (!nul)
			return -EINVAL;
		argv[i] = (char *)p;
		p = nul + 1;
	}
	if (argv[0][0] != '/')
		return -EINVAL;
	argv[n] = NULL;
	*off = p - buf;
	*argc = n;
	return 0;
}
