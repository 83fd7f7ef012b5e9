/*
 * hash.h: the one hash the service's in-memory tables key with: FNV-1a over
 * the bytes from a seeded basis, then the splitmix64 finaliser.
 *
 * Contract:
 *   - Deterministic for one (seed, bytes): a table may hash a key once and
 *     keep the value beside the entry, and a test with a fixed seed sees the
 *     same layout on every run.
 *   - Every output bit depends on every input byte (the finaliser), so one
 *     hash may give a table both its slot (low bits) and its stripe or
 *     shard (high bits).
 *   - Not cryptographic: not a MAC, not a keyed PRF like SipHash. The seed
 *     is there because the keys come from clients (codes, aliases,
 *     Idempotency-Keys, addresses): with a random seed per process (from
 *     getrandom at start-up) nobody can compute offline a set of keys that
 *     all land in one chain and turn each lookup into a walk of the table.
 *     Seed 0 is plain FNV-1a's basis, for keys no client chooses.
 *
 * Header-only (static inline): the stores hash on every request, and an
 * inlined loop is what each of them had before they shared this one.
 */
#ifndef HEXSVC_PLATFORM_HASH_HASH_H
#define HEXSVC_PLATFORM_HASH_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_BASIS 0xcbf29ce484222325ULL
#define HASH_FNV1A_PRIME 0x100000001b3ULL

/* FNV-1a of `len` bytes, continued from `hash` (HASH_FNV1A_BASIS, or the
 * basis XOR a seed, to start). Cheap, but its low bits are weak alone. */
static inline uint64_t hash_fnv1a(uint64_t hash, const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= HASH_FNV1A_PRIME;
    }
    return hash;
}

/* The splitmix64 finaliser: a bijection on 64 bits in which every input bit
 * flips about half of the output bits. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* The table hash: seeded FNV-1a of the bytes, then the finaliser. */
static inline uint64_t hash_bytes(uint64_t seed, const void *bytes, size_t len)
{
    return hash_mix64(hash_fnv1a(HASH_FNV1A_BASIS ^ seed, bytes, len));
}

#endif
