/*
 * memory_idempotency.h: Idempotency-Keys kept in this process's memory.
 *
 * Implements application/idempotency_store.h (see there for the contract).
 * For the memory link store and single-instance deployments: keys vanish
 * with the process, as its links do. One instance is shared by every
 * worker; call_context is ignored, since nothing here blocks.
 *
 * Design
 * - A fixed table of `capacity` slots, allocated once (calloc: pages the
 *   service never reaches are never touched), a chained hash index over a
 *   seeded FNV-1a of the key, and an age list from the oldest claim to the
 *   newest. One mutex: a claim is a few hundred nanoseconds of work.
 * - The TTL is the same for every key, so the age list is also the order
 *   of expiry: each claim forgets up to two expired keys from its head,
 *   and a claim that finds the table full evicts the oldest expired or
 *   completed key. Pending keys are never evicted (their request is
 *   running); a table full of them answers DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL
 *   instead of growing.
 * - The one allocation is the copy of a new key's bytes and fingerprint
 *   (key, URL, alias), at its claim; replays, completes and releases
 *   allocate nothing.
 *
 * Thread-safety: every function except memory_idempotency_destroy() may be
 * called from any thread at any time.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_MEMORY_IDEMPOTENCY_H
#define HEXSVC_ADAPTERS_STORAGE_MEMORY_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "application/idempotency_store.h"

#define MEMORY_IDEMPOTENCY_MAX_CAPACITY ((size_t)1 << 24)

struct memory_idempotency;

/* An empty store of `capacity` keys (1..MEMORY_IDEMPOTENCY_MAX_CAPACITY).
 * hash_seed as for memory_store_create(). 0 and *out, -EINVAL or -ENOMEM. */
int memory_idempotency_create(size_t capacity, uint64_t hash_seed, struct memory_idempotency **out);

/* NULL is a no-op. Only once no call is in flight. */
void memory_idempotency_destroy(struct memory_idempotency *store);

/* Keys held now, pending and completed (tests, metrics). */
size_t memory_idempotency_count(struct memory_idempotency *store);

/* The port over `store`; `store` must outlive every copy. */
struct idempotency_store memory_idempotency_port(struct memory_idempotency *store);

#endif
