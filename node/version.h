/*
 * node/version.h — the version fedledgerd reports (`fedledgerd version`,
 * and the node's status). The protocol versions it speaks come from the
 * modules that own them: CHAIN_BLOCK_VERSION and CHAIN_TX_VERSION
 * (chain/chain.h), P2P_PROTOCOL_VERSION (p2p/p2p.h).
 */
#ifndef FEDLEDGER_NODE_VERSION_H
#define FEDLEDGER_NODE_VERSION_H

#define NODE_VERSION "0.1.0"

#endif
