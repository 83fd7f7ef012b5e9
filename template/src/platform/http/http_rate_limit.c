/* http_rate_limit.c: the per-client bucket table (GCRA, sharded LRU). */
#include "platform/http/http_rate_limit.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "platform/hash/hash.h"

#define HTTP_RATE_LIMIT_NIL UINT32_MAX
#define HTTP_RATE_LIMIT_MAX_SHARDS 64u
/* A shard below this many buckets gains nothing from being split further. */
#define HTTP_RATE_LIMIT_MIN_SHARD_SIZE 256u
#define HTTP_NS_PER_SECOND 1000000000ull

/* One client: 16 bytes of address, the time its bucket is full again, and
 * the links of its hash chain and of the shard's LRU list. */
struct http_bucket {
    struct http_ip client;
    uint64_t full_at_ns; /* GCRA's "theoretical arrival time" */
    uint32_t hash_next;
    uint32_t newer;
    uint32_t older;
};

/* Aligned so two workers locking neighbouring shards share no cache line. */
struct http_rate_shard {
    alignas(64) pthread_mutex_t lock;
    struct http_bucket *buckets; /* capacity entries, used ones first */
    uint32_t *heads;             /* hash chains: bucket index or NIL */
    uint32_t capacity;
    uint32_t used;
    uint32_t head_mask;
    uint32_t newest;
    uint32_t oldest;
};

struct http_rate_limit {
    uint64_t interval_ns;  /* one token every interval */
    uint64_t tolerance_ns; /* (burst - 1) intervals: how far ahead full_at may be */
    uint64_t seed[2];      /* hash key: clients choose their addresses */
    unsigned ipv6_prefix;  /* bits of an IPv6 address that name the client */
    unsigned shard_shift;  /* 64 - log2(shard_count) */
    uint32_t shard_count;
    http_clock_fn now_ns;
    void *clock_arg;
    struct http_trusted_proxies trusted;
    void (*on_reject)(void *arg);
    void *on_reject_arg;
    struct http_rate_shard *shards;
    struct http_bucket *bucket_storage;
    uint32_t *head_storage;
};

static uint64_t http_monotonic_ns(void *arg)
{
    (void)arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * HTTP_NS_PER_SECOND + (uint64_t)now.tv_nsec;
}

/* Keyed with a random seed, so that nobody can pick addresses that land in
 * one chain. */
static uint64_t http_rate_hash(const struct http_rate_limit *limiter, const struct http_ip *ip)
{
    uint64_t high = 0;
    uint64_t low = 0;
    memcpy(&high, ip->bytes, sizeof(high));
    memcpy(&low, ip->bytes + 8, sizeof(low));
    uint64_t h = hash_mix64(high ^ limiter->seed[0]);
    return hash_mix64(h ^ low ^ limiter->seed[1]);
}

static uint32_t http_next_power_of_two(uint32_t n)
{
    uint32_t p = 1;
    while (p < n && p < (1u << 31)) {
        p <<= 1;
    }
    return p;
}

static unsigned http_log2(uint32_t power_of_two)
{
    unsigned bits = 0;
    while ((1u << bits) < power_of_two) {
        bits++;
    }
    return bits;
}

static uint32_t http_default_shards(uint32_t max_clients)
{
    uint32_t shards = 1;
    while (shards < HTTP_RATE_LIMIT_MAX_SHARDS &&
           max_clients / (shards * 2) >= HTTP_RATE_LIMIT_MIN_SHARD_SIZE) {
        shards *= 2;
    }
    return shards;
}

static void http_rate_seed(struct http_rate_limit *limiter)
{
    if (getrandom(limiter->seed, sizeof(limiter->seed), GRND_NONBLOCK) !=
        (ssize_t)sizeof(limiter->seed)) {
        /* No entropy yet (early boot): the clock is a poor key, but a key. */
        limiter->seed[0] = http_monotonic_ns(NULL) * 0x9e3779b97f4a7c15ull;
        limiter->seed[1] = (uint64_t)(uintptr_t)limiter ^ 0x5bd1e9955bd1e995ull;
    }
}

/* Splits max_clients buckets (and a chain head array per shard, twice as
 * many heads as buckets, rounded to a power of two) over the shards. With
 * max_clients at most HTTP_RATE_LIMIT_MAX_CLIENTS (create checks), the
 * head count of a single shard fits a uint32_t with room to spare. */
static int http_rate_layout(struct http_rate_limit *limiter, uint32_t max_clients)
{
    uint32_t per_shard = max_clients / limiter->shard_count;
    uint32_t extra = max_clients % limiter->shard_count;
    uint32_t heads_per_shard = http_next_power_of_two((per_shard + 1) * 2);
    /* aligned_alloc: calloc's 16-byte alignment is not the shards' 64. */
    size_t shard_bytes = limiter->shard_count * sizeof(*limiter->shards);
    limiter->shards = aligned_alloc(alignof(struct http_rate_shard), shard_bytes);
    limiter->bucket_storage = calloc(max_clients, sizeof(*limiter->bucket_storage));
    limiter->head_storage =
        malloc((size_t)heads_per_shard * limiter->shard_count * sizeof(uint32_t));
    if (limiter->shards == NULL || limiter->bucket_storage == NULL ||
        limiter->head_storage == NULL) {
        limiter->shard_count = 0; /* no lock to destroy */
        return -ENOMEM;
    }
    memset(limiter->shards, 0, shard_bytes);
    memset(limiter->head_storage, 0xff,
           (size_t)heads_per_shard * limiter->shard_count * sizeof(uint32_t));
    size_t offset = 0;
    for (uint32_t i = 0; i < limiter->shard_count; i++) {
        struct http_rate_shard *shard = &limiter->shards[i];
        shard->capacity = per_shard + (i < extra ? 1 : 0);
        shard->buckets = limiter->bucket_storage + offset;
        offset += shard->capacity;
        shard->heads = limiter->head_storage + (size_t)i * heads_per_shard;
        shard->head_mask = heads_per_shard - 1;
        shard->newest = HTTP_RATE_LIMIT_NIL;
        shard->oldest = HTTP_RATE_LIMIT_NIL;
        if (pthread_mutex_init(&shard->lock, NULL) != 0) {
            limiter->shard_count = i; /* destroy only the initialised ones */
            return -ENOMEM;
        }
    }
    return 0;
}

int http_rate_limit_create(const struct http_rate_limit_config *config,
                           struct http_rate_limit **out)
{
    *out = NULL;
    uint32_t max_clients =
        config->max_clients != 0 ? config->max_clients : HTTP_RATE_LIMIT_DEFAULT_CLIENTS;
    uint32_t shards = config->shards != 0 ? config->shards : http_default_shards(max_clients);
    uint32_t ipv6_prefix =
        config->ipv6_prefix != 0 ? config->ipv6_prefix : HTTP_RATE_LIMIT_DEFAULT_IPV6_PREFIX;
    if (config->rate == 0 || config->rate > HTTP_RATE_LIMIT_MAX_RATE ||
        max_clients > HTTP_RATE_LIMIT_MAX_CLIENTS || (shards & (shards - 1)) != 0 ||
        shards > max_clients || ipv6_prefix > 128) {
        return -EINVAL;
    }
    struct http_rate_limit *limiter = calloc(1, sizeof(*limiter));
    if (limiter == NULL) {
        return -ENOMEM;
    }
    uint32_t burst = config->burst != 0 ? config->burst : config->rate;
    limiter->interval_ns = HTTP_NS_PER_SECOND / config->rate;
    limiter->tolerance_ns = limiter->interval_ns * (burst - 1);
    limiter->ipv6_prefix = ipv6_prefix;
    limiter->shard_count = shards;
    limiter->shard_shift = 64 - http_log2(shards);
    limiter->now_ns = config->now_ns != NULL ? config->now_ns : http_monotonic_ns;
    limiter->clock_arg = config->clock_arg;
    if (config->trusted != NULL) {
        limiter->trusted = *config->trusted;
    }
    limiter->on_reject = config->on_reject;
    limiter->on_reject_arg = config->on_reject_arg;
    http_rate_seed(limiter);
    int rc = http_rate_layout(limiter, max_clients);
    if (rc != 0) {
        http_rate_limit_destroy(limiter);
        return rc;
    }
    *out = limiter;
    return 0;
}

void http_rate_limit_destroy(struct http_rate_limit *limiter)
{
    if (limiter == NULL) {
        return;
    }
    for (uint32_t i = 0; limiter->shards != NULL && i < limiter->shard_count; i++) {
        pthread_mutex_destroy(&limiter->shards[i].lock);
    }
    free(limiter->shards);
    free(limiter->bucket_storage);
    free(limiter->head_storage);
    free(limiter);
}

/* ---- one shard's LRU list and hash chains (under its lock) --------------- */

static void http_lru_unlink(struct http_rate_shard *shard, uint32_t index)
{
    struct http_bucket *bucket = &shard->buckets[index];
    if (bucket->newer != HTTP_RATE_LIMIT_NIL) {
        shard->buckets[bucket->newer].older = bucket->older;
    } else {
        shard->newest = bucket->older;
    }
    if (bucket->older != HTTP_RATE_LIMIT_NIL) {
        shard->buckets[bucket->older].newer = bucket->newer;
    } else {
        shard->oldest = bucket->newer;
    }
}

static void http_lru_push_newest(struct http_rate_shard *shard, uint32_t index)
{
    struct http_bucket *bucket = &shard->buckets[index];
    bucket->newer = HTTP_RATE_LIMIT_NIL;
    bucket->older = shard->newest;
    if (shard->newest != HTTP_RATE_LIMIT_NIL) {
        shard->buckets[shard->newest].newer = index;
    }
    shard->newest = index;
    if (shard->oldest == HTTP_RATE_LIMIT_NIL) {
        shard->oldest = index;
    }
}

static void http_chain_remove(struct http_rate_shard *shard, uint32_t head, uint32_t index)
{
    uint32_t *link = &shard->heads[head];
    while (*link != HTTP_RATE_LIMIT_NIL && *link != index) {
        link = &shard->buckets[*link].hash_next;
    }
    if (*link == index) {
        *link = shard->buckets[index].hash_next;
    }
}

/* The bucket of `client`, made most recent; a new one (full) when it had
 * none, taking the least recently seen client's place when the shard is
 * full. */
static struct http_bucket *http_shard_find(const struct http_rate_limit *limiter,
                                           struct http_rate_shard *shard, uint64_t hash,
                                           const struct http_ip *client, uint64_t now_ns)
{
    uint32_t head = (uint32_t)hash & shard->head_mask;
    for (uint32_t i = shard->heads[head]; i != HTTP_RATE_LIMIT_NIL;
         i = shard->buckets[i].hash_next) {
        if (memcmp(&shard->buckets[i].client, client, sizeof(*client)) == 0) {
            if (shard->newest != i) {
                http_lru_unlink(shard, i);
                http_lru_push_newest(shard, i);
            }
            return &shard->buckets[i];
        }
    }
    uint32_t index = 0;
    if (shard->used < shard->capacity) {
        index = shard->used++;
    } else {
        index = shard->oldest;
        http_lru_unlink(shard, index);
        uint64_t old_hash = http_rate_hash(limiter, &shard->buckets[index].client);
        http_chain_remove(shard, (uint32_t)old_hash & shard->head_mask, index);
    }
    struct http_bucket *bucket = &shard->buckets[index];
    bucket->client = *client;
    bucket->full_at_ns = now_ns;
    bucket->hash_next = shard->heads[head];
    shard->heads[head] = index;
    http_lru_push_newest(shard, index);
    return bucket;
}

/* The bucket's key: an IPv4 address whole, an IPv6 one cut to its network
 * (see the header: one host may hold a /64). */
static struct http_ip http_rate_key(const struct http_rate_limit *limiter,
                                    const struct http_ip *client)
{
    struct http_ip key = *client;
    if (!http_ip_is_mapped(&key)) {
        http_ip_mask(&key, limiter->ipv6_prefix);
    }
    return key;
}

bool http_rate_limit_take(struct http_rate_limit *limiter, const struct http_ip *address,
                          uint64_t *retry_after_ns)
{
    struct http_ip key = http_rate_key(limiter, address);
    const struct http_ip *client = &key;
    uint64_t hash = http_rate_hash(limiter, client);
    struct http_rate_shard *shard =
        &limiter->shards[limiter->shard_count == 1 ? 0 : hash >> limiter->shard_shift];
    /* Read inside the lock: a clock read before it could be older than a
     * competing request's, and time would run backwards for the bucket. */
    pthread_mutex_lock(&shard->lock);
    uint64_t now_ns = limiter->now_ns(limiter->clock_arg);
    struct http_bucket *bucket = http_shard_find(limiter, shard, hash, client, now_ns);
    uint64_t full_at = bucket->full_at_ns > now_ns ? bucket->full_at_ns : now_ns;
    bool allowed = full_at - now_ns <= limiter->tolerance_ns;
    if (allowed) {
        bucket->full_at_ns = full_at + limiter->interval_ns;
    } else {
        *retry_after_ns = full_at - now_ns - limiter->tolerance_ns;
    }
    pthread_mutex_unlock(&shard->lock);
    return allowed;
}

uint64_t http_rate_limit_retry_after_seconds(uint64_t retry_after_ns)
{
    uint64_t seconds = (retry_after_ns + HTTP_NS_PER_SECOND - 1) / HTTP_NS_PER_SECOND;
    return seconds > 0 ? seconds : 1;
}

/* ---- the middleware ------------------------------------------------------ */

int http_rate_limit_handle(void *arg, struct http_request *request, struct http_response *response,
                           const struct http_next *next)
{
    struct http_rate_limit *limiter = arg;
    struct http_ip client;
    uint64_t wait_ns = 0;
    if (!http_client_address(&limiter->trusted, request, &client) ||
        http_rate_limit_take(limiter, &client, &wait_ns)) {
        return http_next(next, request, response);
    }
    char seconds[24];
    snprintf(seconds, sizeof(seconds), "%" PRIu64, http_rate_limit_retry_after_seconds(wait_ns));
    int rc = http_response_set_header(response, "Retry-After", seconds);
    if (rc == 0) {
        rc = http_response_error(response, 429, "rate_limited",
                                 "too many requests from this client; wait the number of seconds "
                                 "in Retry-After before sending more");
    }
    if (limiter->on_reject != NULL) {
        limiter->on_reject(limiter->on_reject_arg);
    }
    return rc;
}

struct http_middleware http_rate_limit_middleware(struct http_rate_limit *limiter)
{
    return (struct http_middleware){
        .name = "rate_limit", .handle = http_rate_limit_handle, .arg = limiter};
}

size_t http_rate_limit_clients(struct http_rate_limit *limiter)
{
    size_t clients = 0;
    for (uint32_t i = 0; i < limiter->shard_count; i++) {
        pthread_mutex_lock(&limiter->shards[i].lock);
        clients += limiter->shards[i].used;
        pthread_mutex_unlock(&limiter->shards[i].lock);
    }
    return clients;
}
