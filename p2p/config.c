/*
 * p2p/config.c — the defaults of a host's configuration (p2p/p2p.h).
 */
#include "p2p/p2p.h"

#include <assert.h>
#include <string.h>

void p2p_config_default(p2p_config *cfg)
{
	assert(cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_inbound = 40;
	cfg->max_outbound = 10;
	cfg->max_pending_inbound = 32;
	cfg->max_pending_per_addr = 4;
	cfg->hello_timeout_ms = 2000;
	cfg->handshake_burst = 8;
	cfg->handshakes_per_s = 4;
	cfg->max_send_queue = (size_t)64 * 1024 * 1024;
	cfg->max_queued_total = (size_t)256 * 1024 * 1024;
	cfg->max_frame = P2P_MAX_FRAME;
	cfg->handshake_timeout_ms = 5000;
	cfg->ping_interval_ms = 10000;
	cfg->backoff_min_ms = 250;
	cfg->backoff_max_ms = 30000;
	cfg->ban_score = 100;
	cfg->ban_ms = 600000;
	cfg->seen_cache = 65536;
	cfg->blob_progress_ms = 2000;
	cfg->blob_fetch_peers = P2P_BLOB_FETCH_PEERS_MAX;
	cfg->gossip_msgs_per_s = 1000;
	cfg->gossip_bytes_per_s = 16u * 1024 * 1024;
}
