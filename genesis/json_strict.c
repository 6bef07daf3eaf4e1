/*
 * genesis/json_strict.c — strict JSON for genesis files: parsing that keeps
 * every number's exact text, and typed field readers that name the JSON path
 * of whatever they reject.
 *
 * Why numbers are rewritten: jansson turns 0.05 into a double and refuses
 * integers past 2^63 with a message that names no field. Genesis values must
 * be exact (they are hashed) and errors must name the field. So after a first
 * strict parse of the original text (syntax and duplicate keys, with correct
 * line and column), each number token is rewritten as a JSON string "\u0000"
 * followed by its text and parsed again with JSON_ALLOW_NUL. The first parse
 * ran without JSON_ALLOW_NUL, so no string from the file can start with NUL:
 * a leading NUL byte marks a number, unambiguously.
 */
#include "genesis/internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* "\u0000" and two quotes around each number's text. */
#define GJ_NUMBER_EXTRA 8

static int gj_is_number_char(char ch)
{
	return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' ||
	       ch == 'E';
}

/*
 * Copies text into a fresh buffer with every number token outside strings
 * turned into a marked string. The text is known to be valid JSON, so a '-'
 * or digit outside a string always starts a number. Two passes: count, then
 * allocate exactly and copy.
 */
static char *gj_mark_numbers(const char *text, size_t len, size_t *out_len)
{
	size_t i, n_numbers = 0, o = 0;
	int in_string = 0;
	char *out;

	for (i = 0; i < len; i++) {
		char ch = text[i];
		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = 0;
		} else if (ch == '"') {
			in_string = 1;
		} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
			n_numbers++;
			while (i + 1 < len && gj_is_number_char(text[i + 1]))
				i++;
		}
	}
	/* len <= GENESIS_MAX_BYTES, so this cannot overflow. */
	out = fl_malloc(len + n_numbers * GJ_NUMBER_EXTRA + 1);
	if (out == NULL)
		return NULL;
	in_string = 0;
	for (i = 0; i < len; i++) {
		char ch = text[i];
		if (in_string) {
			out[o++] = ch;
			if (ch == '\\' && i + 1 < len)
				out[o++] = text[++i];
			else if (ch == '"')
				in_string = 0;
		} else if (ch == '"') {
			in_string = 1;
			out[o++] = ch;
		} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
			memcpy(out + o, "\"\\u0000", 7);
			o += 7;
			out[o++] = ch;
			while (i + 1 < len && gj_is_number_char(text[i + 1]))
				out[o++] = text[++i];
			out[o++] = '"';
		} else {
			out[o++] = ch;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* Errors are one line of printable text whatever the input held: a key or
 * file name with a newline or an escape sequence must not split or forge it. */
static void gj_one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

void gj_errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	gj_one_line(err);
}

static void gj_json_error(char *err, size_t errlen, const char *name, const json_error_t *je)
{
	gj_errorf(err, errlen, "%s:%d:%d: %s", name, je->line, je->column, je->text);
}

json_t *genesis_json_loads(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	char *marked;
	size_t marked_len;

	assert(name != NULL && (text != NULL || len == 0));
	if (len > GENESIS_MAX_BYTES) {
		gj_errorf(err, errlen, "%s: larger than %u bytes", name, GENESIS_MAX_BYTES);
		return NULL;
	}
	/* Pass 1: syntax and duplicates on the text as written. Integers as
	 * reals so that huge ones reach the field readers, which name them. */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
	if (root == NULL) {
		gj_json_error(err, errlen, name, &je);
		return NULL;
	}
	json_decref(root);

	marked = gj_mark_numbers(text, len, &marked_len);
	if (marked == NULL) {
		gj_errorf(err, errlen, "%s: %s", name, fl_strerror(FL_ENOMEM));
		return NULL;
	}
	root = json_loadb(marked, marked_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	fl_free(marked);
	if (root == NULL)
		gj_json_error(err, errlen, name, &je);
	return root;
}

/* ------------------------------------------------------------ context */

void gj_init(gj_ctx *c, const char *name, const char *where, char *err, size_t errlen)
{
	assert(c != NULL && name != NULL);
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->err = err;
	c->errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (where != NULL && where[0] != '\0') {
		snprintf(c->path, sizeof(c->path), "%s", where);
		c->len = strlen(c->path);
	}
}

static size_t gj_push(gj_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t gj_push(gj_ctx *c, const char *fmt, ...)
{
	size_t mark = c->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->len, sizeof(c->path) - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n;
	if (c->len >= sizeof(c->path))
		c->len = sizeof(c->path) - 1;
	return mark;
}

size_t gj_push_key(gj_ctx *c, const char *key)
{
	return gj_push(c, c->len == 0 ? "%s" : ".%s", key);
}

size_t gj_push_index(gj_ctx *c, size_t i)
{
	return gj_push(c, "[%zu]", i);
}

void gj_pop(gj_ctx *c, size_t mark)
{
	assert(mark <= c->len);
	c->len = mark;
	c->path[mark] = '\0';
}

int gj_fail(gj_ctx *c, int code, const char *fmt, ...)
{
	char msg[GENESIS_ERR_MAX];
	va_list ap;

	assert(code < 0);
	if (c->failed)
		return code;
	c->failed = 1;
	if (c->err == NULL || c->errlen == 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->len > 0)
		snprintf(c->err, c->errlen, "%s: %s: %s", c->name, c->path, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->name, msg);
	gj_one_line(c->err);
	return code;
}

/* -------------------------------------------------------------- values */

/* The source text of a marked number, or NULL if v is not one. */
static const char *gj_number_text(const json_t *v)
{
	if (json_is_string(v) && json_string_length(v) > 0 && json_string_value(v)[0] == '\0')
		return json_string_value(v) + 1;
	return NULL;
}

static const char *gj_type_name(const json_t *v)
{
	if (gj_number_text(v) != NULL || json_is_number(v))
		return "a number";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

int gj_object(gj_ctx *c, const json_t *v, const char *const *allowed)
{
	const char *key;
	json_t *value;
	size_t i;

	if (!json_is_object(v))
		return gj_fail(c, FL_EINVAL, "must be an object, not %s", gj_type_name(v));
	/* jansson iterates in document order, so the first unknown one is named. */
	json_object_foreach((json_t *)v, key, value)
	{
		(void)value;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			gj_push_key(c, key);
			return gj_fail(c, FL_EINVAL, "unknown field");
		}
	}
	return FL_OK;
}

int gj_enter(gj_ctx *c, const json_t *obj, const char *key, int required, const json_t **v,
	     size_t *mark)
{
	const json_t *found = json_object_get(obj, key);

	if (found == NULL) {
		if (!required)
			return 0;
		gj_push_key(c, key);
		return gj_fail(c, FL_EINVAL, "missing (required)");
	}
	*mark = gj_push_key(c, key);
	*v = found;
	return 1;
}

static int gj_range_fail(gj_ctx *c, uint64_t min, uint64_t max)
{
	if (max == UINT64_MAX)
		return min == 1 ? gj_fail(c, FL_EINVAL, "must be > 0")
				: gj_fail(c, FL_EINVAL, "must be >= %" PRIu64, min);
	if (min == 0)
		return gj_fail(c, FL_EINVAL, "must be <= %" PRIu64, max);
	return gj_fail(c, FL_EINVAL, "must be between %" PRIu64 " and %" PRIu64, min, max);
}

/* An unsigned integer; decimal strings only where allow_string (u64 fields,
 * for values past what JSON numbers carry exactly). */
static int gj_uint(gj_ctx *c, const json_t *v, uint64_t min, uint64_t max, int allow_string,
		   uint64_t *out)
{
	const char *text = gj_number_text(v);
	uint64_t x;
	int rc;

	if (text != NULL || json_is_integer(v)) {
		char buf[32];
		if (text == NULL) {
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			text = buf;
		}
		if (text[0] == '-')
			return gj_range_fail(c, min, max);
		if (strpbrk(text, ".eE") != NULL)
			return gj_fail(c, FL_EINVAL, "must be an integer, not %s", text);
		rc = fl_parse_u64(text, &x);
		if (rc == FL_EOVERFLOW)
			return gj_fail(c, FL_EINVAL, "%s is out of range (max %" PRIu64 ")", text,
				       max);
		if (rc != FL_OK)
			return gj_fail(c, FL_EINVAL, "not an integer: %s", text);
		if (x >= min && x <= max && x > GENESIS_JSON_INT_MAX)
			return gj_fail(c, FL_EINVAL,
				       "integers above 2^53 must be written as decimal strings "
				       "(\"%s\")",
				       text);
	} else if (allow_string && json_is_string(v)) {
		text = json_string_value(v);
		rc = fl_parse_u64(text, &x);
		if (rc == FL_EOVERFLOW)
			return gj_fail(c, FL_EINVAL, "out of range (max %" PRIu64 ")", max);
		if (rc != FL_OK || strlen(text) != json_string_length(v))
			return gj_fail(c, FL_EINVAL, "not a decimal integer string");
	} else if (json_is_real(v)) {
		return gj_fail(c, FL_EINVAL, "must be an integer");
	} else {
		return gj_fail(c, FL_EINVAL, "must be an integer, not %s", gj_type_name(v));
	}
	if (x < min || x > max)
		return gj_range_fail(c, min, max);
	*out = x;
	return FL_OK;
}

int gj_val_u64(gj_ctx *c, const json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
	return gj_uint(c, v, min, max, 1, out);
}

int gj_val_u32(gj_ctx *c, const json_t *v, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t x;
	int rc = gj_uint(c, v, min, max, 0, &x);

	if (rc == FL_OK)
		*out = (uint32_t)x;
	return rc;
}

int gj_val_ppm(gj_ctx *c, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	const char *text = gj_number_text(v);
	int64_t x;
	int rc;

	if (text == NULL && json_is_string(v)) {
		text = json_string_value(v);
		if (strlen(text) != json_string_length(v))
			return gj_fail(c, FL_EINVAL, "not a decimal number");
	}
	if (text != NULL) {
		rc = genesis_decimal_to_ppm(text, &x);
		if (rc == FL_ETOOBIG)
			return gj_fail(c, FL_EINVAL, "%s has more than 6 decimals", text);
		if (rc == FL_EOVERFLOW) {
			/* Past int64: certainly past max (or under min). */
			x = text[0] == '-' ? INT64_MIN : INT64_MAX;
			rc = FL_OK;
		}
		if (rc != FL_OK) {
			if (strpbrk(text, "eE") != NULL && gj_number_text(v) != NULL)
				return gj_fail(c, FL_EINVAL,
					       "exponents are not allowed; write plain decimals "
					       "such as 0.05");
			return gj_fail(c, FL_EINVAL, "not a decimal number like \"0.05\": \"%s\"",
				       text);
		}
	} else if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i > INT64_MAX / 1000000 || i < INT64_MIN / 1000000)
			x = i < 0 ? INT64_MIN : INT64_MAX;
		else
			x = (int64_t)i * 1000000;
	} else if (json_is_real(v)) {
		return gj_fail(c, FL_EINVAL, "write fractions as decimal strings (\"0.05\")");
	} else {
		return gj_fail(c, FL_EINVAL, "must be a decimal number, not %s", gj_type_name(v));
	}
	if (x < min || x > max) {
		char lo[32], hi[32];
		genesis_ppm_to_decimal(lo, min);
		genesis_ppm_to_decimal(hi, max);
		if (min == 1)
			return gj_fail(c, FL_EINVAL, "must be > 0 and <= %s", hi);
		return gj_fail(c, FL_EINVAL, "must be between %s and %s", lo, hi);
	}
	*out = x;
	return FL_OK;
}

int gj_val_str(gj_ctx *c, const json_t *v, size_t max, char *out)
{
	const char *s;
	size_t n, i;

	if (!json_is_string(v) || gj_number_text(v) != NULL)
		return gj_fail(c, FL_EINVAL, "must be a string, not %s", gj_type_name(v));
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > max)
		return gj_fail(c, FL_EINVAL, "longer than %zu characters", max);
	/* The chain's codec stores printable ASCII only (fl_read_str). */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return gj_fail(c, FL_EINVAL, "only printable ASCII is allowed");
	memcpy(out, s, n);
	out[n] = '\0';
	return FL_OK;
}

int gj_val_bool(gj_ctx *c, const json_t *v, int *out)
{
	if (!json_is_boolean(v))
		return gj_fail(c, FL_EINVAL, "must be true or false, not %s", gj_type_name(v));
	*out = json_is_true(v);
	return FL_OK;
}

int gj_val_pubkey(gj_ctx *c, const json_t *v, fl_pubkey *out)
{
	char hex[FL_PUBKEY_HEX_LEN + 2];
	int rc;

	if (!json_is_string(v) || gj_number_text(v) != NULL)
		return gj_fail(c, FL_EINVAL, "must be a hex string, not %s", gj_type_name(v));
	if (json_string_length(v) != FL_PUBKEY_HEX_LEN)
		return gj_fail(c, FL_EINVAL, "must be %d hex characters (a 32-byte x-only key)",
			       FL_PUBKEY_HEX_LEN);
	memcpy(hex, json_string_value(v), FL_PUBKEY_HEX_LEN + 1);
	rc = fl_pubkey_from_hex(out, hex);
	if (rc == FL_EPARSE)
		return gj_fail(c, FL_EINVAL, "not hex");
	if (rc != FL_OK)
		return gj_fail(c, FL_EINVAL, "not a valid secp256k1 x-only public key");
	return FL_OK;
}

int gj_val_enum(gj_ctx *c, const json_t *v, const char *const *names, const int *values, int *out)
{
	char list[160] = "";
	size_t i, used = 0;

	if (json_is_string(v) && gj_number_text(v) == NULL) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*out = values[i];
				return FL_OK;
			}
	}
	for (i = 0; names[i] != NULL && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "|" : "", names[i]);
		if (n > 0)
			used += (size_t)n;
	}
	return gj_fail(c, FL_EINVAL, "must be one of %s", list);
}

int gj_val_array(gj_ctx *c, const json_t *v, size_t max, size_t *n)
{
	if (!json_is_array(v))
		return gj_fail(c, FL_EINVAL, "must be an array, not %s", gj_type_name(v));
	*n = json_array_size(v);
	if (*n > max)
		return gj_fail(c, FL_EINVAL, "more than %zu entries", max);
	return FL_OK;
}

/* -------------------------------------------------------------- fields */

/* Each field reader: enter, read, pop; 1 = read, 0 = absent, < 0 = error. */
#define GJ_FIELD(c, obj, key, required, call)                                                      \
	do {                                                                                       \
		const json_t *v_ = NULL;                                                           \
		size_t mark_ = 0;                                                                  \
		int rc_ = gj_enter((c), (obj), (key), (required), &v_, &mark_);                    \
		if (rc_ <= 0)                                                                      \
			return rc_;                                                                \
		rc_ = call;                                                                        \
		if (rc_ < 0)                                                                       \
			return rc_;                                                                \
		gj_pop((c), mark_);                                                                \
		return 1;                                                                          \
	} while (0)

int gj_u64(gj_ctx *c, const json_t *obj, const char *key, int required, uint64_t min, uint64_t max,
	   uint64_t *out)
{
	GJ_FIELD(c, obj, key, required, gj_val_u64(c, v_, min, max, out));
}

int gj_u32(gj_ctx *c, const json_t *obj, const char *key, int required, uint32_t min, uint32_t max,
	   uint32_t *out)
{
	GJ_FIELD(c, obj, key, required, gj_val_u32(c, v_, min, max, out));
}

static int gj_val_ppm_u32(gj_ctx *c, const json_t *v, uint32_t min, uint32_t max, uint32_t *out)
{
	int64_t x;
	int rc = gj_val_ppm(c, v, min, max, &x);

	if (rc == FL_OK)
		*out = (uint32_t)x;
	return rc;
}

int gj_ppm_u32(gj_ctx *c, const json_t *obj, const char *key, int required, uint32_t min,
	       uint32_t max, uint32_t *out)
{
	GJ_FIELD(c, obj, key, required, gj_val_ppm_u32(c, v_, min, max, out));
}

int gj_str(gj_ctx *c, const json_t *obj, const char *key, int required, size_t max, char *out)
{
	GJ_FIELD(c, obj, key, required, gj_val_str(c, v_, max, out));
}

int gj_bool(gj_ctx *c, const json_t *obj, const char *key, int required, int *out)
{
	GJ_FIELD(c, obj, key, required, gj_val_bool(c, v_, out));
}

int gj_pubkey(gj_ctx *c, const json_t *obj, const char *key, fl_pubkey *out)
{
	GJ_FIELD(c, obj, key, 1, gj_val_pubkey(c, v_, out));
}

int gj_enum(gj_ctx *c, const json_t *obj, const char *key, int required, const char *const *names,
	    const int *values, int *out)
{
	GJ_FIELD(c, obj, key, required, gj_val_enum(c, v_, names, values, out));
}

/* ------------------------------------------------------------- writers */

json_t *gj_new_u64(uint64_t v)
{
	char buf[24];

	if (v <= GENESIS_JSON_INT_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

json_t *gj_new_ppm(int64_t ppm)
{
	char buf[32];

	genesis_ppm_to_decimal(buf, ppm);
	return json_string(buf);
}

json_t *gj_new_pubkey(const fl_pubkey *pk)
{
	char hex[FL_PUBKEY_HEX_LEN + 1];

	fl_pubkey_to_hex(hex, pk);
	return json_string(hex);
}

void gj_set(json_t *obj, const char *key, json_t *v, int *ok)
{
	/* json_object_set_new takes v even when it fails (and frees it). */
	if (obj == NULL || v == NULL || json_object_set_new(obj, key, v) != 0) {
		if (obj == NULL)
			json_decref(v);
		*ok = 0;
	}
}

void gj_append(json_t *arr, json_t *v, int *ok)
{
	if (arr == NULL || v == NULL || json_array_append_new(arr, v) != 0) {
		if (arr == NULL)
			json_decref(v);
		*ok = 0;
	}
}
