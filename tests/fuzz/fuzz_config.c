/*
 * fuzz_config — node_config_parse on arbitrary bytes. Beyond "never crash":
 * every failure says something on one line, and a config that parses writes
 * back to text that parses to the very same config.
 */
#include "node/config.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NODE_CONFIG_ERR_MAX];
	node_config a, b;
	char *text;

	if (node_config_parse(&a, "fuzz.json", (const char *)data, size, err, sizeof(err)) != 0) {
		check(err[0] != '\0' && strchr(err, '\n') == NULL);
		return 0;
	}
	text = node_config_to_string(&a);
	check(text != NULL);
	check(node_config_parse(&b, "again.json", text, strlen(text), err, sizeof(err)) == 0);
	check(memcmp(&a, &b, sizeof(a)) == 0);
	fl_free(text);
	return 0;
}
