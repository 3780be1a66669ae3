// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * options.c - parse the options of vde_addstack_opt() and VDESTACK_OPTIONS
 *
 * DOC: Theory of Operation
 *
 * The same syntax comes from two places: the VDESTACK_OPTIONS environment
 * variable, for programs that only call vde_addstack(), and the string of
 * vde_addstack_opt().  The library parses the environment first and the
 * explicit string second into the same struct, so the program's own
 * choice wins; a key given twice in one string is a mistake and is refused.
 *
 * The core does not know the keys of the backends, and backends are loaded
 * only once the backend is chosen: other keys are syntax-checked here, kept
 * in order as "key=value/key=value", and checked against the chosen
 * backend's list with vs_options_check_backend().  '/' separates them
 * because ',' already separates items and keys cannot contain '/'.
 *
 * A failed parse leaves the struct as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

/*
 * Longest piece of user input quoted back in a message.  QUOTE(s, n)
 * expands to the three arguments of a "%.*s%s" conversion.
 */
#define ERR_QUOTE_MAX 64
#define QUOTE(s, n)                                                            \
	(int)((n) > ERR_QUOTE_MAX ? ERR_QUOTE_MAX : (n)), (s),                 \
		((n) > ERR_QUOTE_MAX ? "..." : "")

#define MTU_MIN 68
#define MTU_MAX 65535

enum { SEEN_BACKEND = 1, SEEN_MTU = 2, SEEN_DEBUG = 4 };

/**
 * struct opt_parse - state of one vs_options_parse() call
 * @o:		copy of the caller's struct, committed only on success
 * @seen:	SEEN_* of the core keys given in this string
 * @fresh:	backend keys given in this string, "k1/k2" (duplicate check)
 * @err:	message buffer, may be NULL
 * @errlen:	size of @err
 */
struct opt_parse {
	struct vs_options o;
	unsigned int seen;
	char fresh[sizeof(((struct vs_options *)0)->backend_opts)];
	char *err;
	size_t errlen;
};

/**
 * set_err() - format a message into an optional error buffer
 * @err:	buffer, may be NULL
 * @errlen:	its size
 * @fmt:	printf format
 */
static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/**
 * is_blank() - blank around items
 * @c:	character
 *
 * Return: true for space, tab and newline.
 */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/**
 * is_name() - are all characters of a key or backend name in [a-z0-9_-]?
 * @s:	string, not terminated
 * @n:	its length
 *
 * Return: true if so (also for @n == 0; callers check emptiness first).
 */
static bool is_name(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/**
 * list_find() - find the item whose key is @key in "k=v/k=v" or "k/k"
 * @list:	terminated list
 * @key:	key, not terminated
 * @klen:	its length
 * @ilen:	on success, the length of the whole item
 *
 * Return: pointer to the item in @list, or NULL.
 */
static const char *list_find(const char *list, const char *key, size_t klen,
			     size_t *ilen)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, "/");
		size_t k = strcspn(p, "=/");

		if (k == klen && !memcmp(p, key, klen)) {
			*ilen = n;
			return p;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return NULL;
}

/**
 * list_set() - set @key to @val in a list, replacing it in place or appending
 * @list:	terminated list, "k=v/k=v" (or "k/k" when @val is NULL)
 * @size:	size of the array holding @list
 * @key:	key, not terminated
 * @klen:	its length
 * @val:	value, not terminated, or NULL to store the key alone
 * @vlen:	its length
 *
 * Replacing in place keeps the order the options were first given in,
 * which is the order a backend sees them.
 *
 * Return: 0, or -E2BIG if the result does not fit in @size (then @list is
 * unchanged).
 */
static int list_set(char *list, size_t size, const char *key, size_t klen,
		    const char *val, size_t vlen)
{
	size_t len = strlen(list), pre, post, ilen, newlen;
	size_t item = klen + (val ? 1 + vlen : 0);
	const char *at = list_find(list, key, klen, &ilen);
	char tmp[1024];

	if (at) {
		pre = at - list;
		post = len - pre - ilen;
	} else {
		pre = len;
		post = 0;
		ilen = 0;
		if (len)
			item++; /* the '/' before the new item */
	}
	if (item > size || len - ilen > size - item)
		return -E2BIG;
	newlen = len - ilen + item;
	if (newlen >= size || newlen >= sizeof(tmp))
		return -E2BIG;
	memcpy(tmp, list, pre);
	if (!at && len)
		tmp[pre++] = '/';
	memcpy(tmp + pre, key, klen);
	pre += klen;
	if (val) {
		tmp[pre++] = '=';
		memcpy(tmp + pre, val, vlen);
		pre += vlen;
	}
	memcpy(tmp + pre, list + len - post, post);
	tmp[newlen] = '\0';
	memcpy(list, tmp, newlen + 1);
	return 0;
}

/**
 * parse_mtu() - decimal MTU, digits only
 * @st:		parse state
 * @v:		value, not terminated, not empty
 * @vlen:	its length
 *
 * Return: 0 or -EINVAL; whether the backend can carry it is checked later.
 */
static int parse_mtu(struct opt_parse *st, const char *v, size_t vlen)
{
	unsigned long mtu = 0;
	size_t i;

	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9') {
			set_err(st->err, st->errlen,
				"options: mtu: '%.*s%s' is not a number",
				QUOTE(v, vlen));
			return -EINVAL;
		}
		/* saturate: only "in range or not" matters */
		if (mtu <= MTU_MAX)
			mtu = mtu * 10 + (v[i] - '0');
	}
	if (mtu < MTU_MIN || mtu > MTU_MAX) {
		set_err(st->err, st->errlen,
			"options: mtu: '%.*s%s' is not in %u..%u",
			QUOTE(v, vlen), MTU_MIN, MTU_MAX);
		return -EINVAL;
	}
	st->o.mtu = mtu;
	return 0;
}

/**
 * parse_backend_opt() - keep a key the core does not know for the backend
 * @st:		parse state
 * @k:		key, not terminated, a valid name
 * @klen:	its length
 * @v:		value, not terminated, not empty
 * @vlen:	its length
 *
 * Return: 0, -EINVAL for a bad value or a key given twice in this string,
 * -E2BIG when the backend options outgrow their buffer.
 */
static int parse_backend_opt(struct opt_parse *st, const char *k, size_t klen,
			     const char *v, size_t vlen)
{
	size_t i, ilen;

	for (i = 0; i < vlen; i++) {
		/* '/' separates the stored options; blanks would be trimmed */
		if (v[i] == '/' || v[i] <= ' ' || v[i] >= 0x7f) {
			set_err(st->err, st->errlen,
				"options: %.*s%s: '%.*s%s' has a '/', blank, "
				"control or non-ASCII character",
				QUOTE(k, klen), QUOTE(v, vlen));
			return -EINVAL;
		}
	}
	if (list_find(st->fresh, k, klen, &ilen)) {
		set_err(st->err, st->errlen, "options: %.*s%s: given twice",
			QUOTE(k, klen));
		return -EINVAL;
	}
	if (list_set(st->fresh, sizeof(st->fresh), k, klen, NULL, 0) ||
	    list_set(st->o.backend_opts, sizeof(st->o.backend_opts), k, klen, v,
		     vlen)) {
		set_err(st->err, st->errlen,
			"options: backend options longer than %zu characters",
			sizeof(st->o.backend_opts) - 1);
		return -E2BIG;
	}
	return 0;
}

/**
 * core_key() - which core key, if any, is @k?
 * @k:		key, not terminated
 * @klen:	its length
 *
 * Return: a SEEN_* flag, or 0 for a backend key.
 */
static unsigned int core_key(const char *k, size_t klen)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} keys[] = {
		{"backend", SEEN_BACKEND},
		{"mtu", SEEN_MTU},
		{"debug", SEEN_DEBUG},
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == klen &&
		    !memcmp(keys[i].name, k, klen))
			return keys[i].flag;
	return 0;
}

/**
 * parse_item() - parse one trimmed, non-empty "key=value" item
 * @st:		parse state
 * @s:		item, not terminated
 * @n:		its length
 *
 * Return: 0, -EINVAL with a message naming the key, -E2BIG.
 */
static int parse_item(struct opt_parse *st, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n), *v;
	size_t klen, vlen;
	unsigned int flag;

	if (!eq) {
		set_err(st->err, st->errlen,
			"options: '%.*s%s' is not key=value", QUOTE(s, n));
		return -EINVAL;
	}
	klen = eq - s;
	v = eq + 1;
	vlen = n - klen - 1;
	if (!klen) {
		set_err(st->err, st->errlen, "options: '%.*s%s' has no key",
			QUOTE(s, n));
		return -EINVAL;
	}
	if (!is_name(s, klen)) {
		set_err(st->err, st->errlen,
			"options: key '%.*s%s' may only contain a-z 0-9 _ -",
			QUOTE(s, klen));
		return -EINVAL;
	}
	if (!vlen) {
		set_err(st->err, st->errlen, "options: %.*s%s: empty value",
			QUOTE(s, klen));
		return -EINVAL;
	}
	flag = core_key(s, klen);
	if (!flag)
		return parse_backend_opt(st, s, klen, v, vlen);
	if (st->seen & flag) {
		set_err(st->err, st->errlen, "options: %.*s%s: given twice",
			QUOTE(s, klen));
		return -EINVAL;
	}
	st->seen |= flag;
	switch (flag) {
	case SEEN_BACKEND:
		if (vlen >= sizeof(st->o.backend) || !is_name(v, vlen)) {
			set_err(st->err, st->errlen,
				"options: backend: '%.*s%s' is not a name "
				"(a-z 0-9 _ -, at most %zu characters)",
				QUOTE(v, vlen), sizeof(st->o.backend) - 1);
			return -EINVAL;
		}
		memcpy(st->o.backend, v, vlen);
		st->o.backend[vlen] = '\0';
		return 0;
	case SEEN_MTU:
		return parse_mtu(st, v, vlen);
	default: /* SEEN_DEBUG */
		if (vlen != 1 || (*v != '0' && *v != '1')) {
			set_err(st->err, st->errlen,
				"options: debug: '%.*s%s' is not 0 or 1",
				QUOTE(v, vlen));
			return -EINVAL;
		}
		st->o.debug = *v - '0';
		return 0;
	}
}

/**
 * vs_options_parse() - parse an options string into @o, over its contents
 * @s:		"key=value,key=value"; NULL or "" changes nothing
 * @o:		options; zero it before the first call.  Values given in @s
 *		replace those already in @o (backend options by key, in place)
 * @err:	buffer for a message naming the bad key, may be NULL
 * @errlen:	size of @err
 *
 * Return: 0; -EINVAL for a malformed item (no '=', empty key or value, bad
 * characters, number not a number or out of range, key given twice in @s);
 * -E2BIG for @s over VS_OPTIONS_MAX characters or backend options that do
 * not fit.  On error @o is unchanged.
 */
int vs_options_parse(const char *s, struct vs_options *o, char *err,
		     size_t errlen)
{
	struct opt_parse st = {.err = err, .errlen = errlen};
	const char *p, *end, *comma, *b, *e;
	size_t slen;
	int ret;

	if (!o) {
		set_err(err, errlen, "options: no options struct");
		return -EINVAL;
	}
	if (!s)
		return 0;
	slen = strnlen(s, VS_OPTIONS_MAX + 1);
	if (slen > VS_OPTIONS_MAX) {
		set_err(err, errlen, "options: longer than %u characters",
			VS_OPTIONS_MAX);
		return -E2BIG;
	}
	st.o = *o;
	/* the strings are searched with str*(): never read past them */
	st.o.backend[sizeof(st.o.backend) - 1] = '\0';
	st.o.backend_opts[sizeof(st.o.backend_opts) - 1] = '\0';
	end = s + slen;
	for (p = s; p <= end; p = comma + 1) {
		comma = memchr(p, ',', end - p);
		if (!comma)
			comma = end;
		for (b = p; b < comma && is_blank(*b); b++)
			;
		for (e = comma; e > b && is_blank(e[-1]); e--)
			;
		if (b == e)
			continue;
		ret = parse_item(&st, b, e - b);
		if (ret)
			return ret;
	}
	*o = st.o;
	return 0;
}

/**
 * vs_options_check_backend() - are all backend options known to the backend?
 * @backend_opts:	"key=value/key=value" from vs_options_parse(), or NULL
 * @allowed_keys:	keys the backend accepts, NULL-terminated; NULL for none
 * @err:		buffer for a message, may be NULL
 * @errlen:		size of @err
 *
 * The message lists the accepted keys, since the fix is to use one of them;
 * the caller, which knows the backend's name, may prefix it.
 *
 * Return: 0, or -EINVAL naming the first unknown key.
 */
int vs_options_check_backend(const char *backend_opts,
			     const char *const *allowed_keys, char *err,
			     size_t errlen)
{
	const char *p = backend_opts ? backend_opts : "";
	char list[256] = "";
	size_t n, k, i, used;

	while (*p) {
		n = strcspn(p, "/");
		k = strcspn(p, "=/");
		for (i = 0; allowed_keys && allowed_keys[i]; i++)
			if (strlen(allowed_keys[i]) == k &&
			    !memcmp(allowed_keys[i], p, k))
				break;
		if (!allowed_keys || !allowed_keys[i])
			goto unknown;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;

unknown:
	for (i = 0, used = 0; allowed_keys && allowed_keys[i]; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
				 i ? ", " : "", allowed_keys[i]);

		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += w;
	}
	if (used)
		set_err(err, errlen,
			"options: unknown key '%.*s%s' (known: %s)",
			QUOTE(p, k), list);
	else
		set_err(err, errlen,
			"options: unknown key '%.*s%s' (the backend has none)",
			QUOTE(p, k));
	return -EINVAL;
}
