/*
 * pprof_profile.c: the profile.proto builder.
 *
 * Samples, locations and functions are encoded as they are added, each
 * into its own buffer; the string table and mappings are appended at the
 * end. Protobuf allows a message's fields in any order, so concatenating
 * the buffers yields a valid Profile.
 *
 * profile.proto field numbers used here:
 *   Profile: 1 sample_type, 2 sample, 3 mapping, 4 location, 5 function,
 *            6 string_table, 9 time_nanos, 10 duration_nanos,
 *            11 period_type, 12 period
 *   ValueType {1 type, 2 unit}   Sample {1 location_id, 2 value, 3 label}
 *   Label {1 key, 2 str}         Line {1 function_id, 2 line}
 *   Location {1 id, 2 mapping_id, 3 address, 4 line}
 *   Function {1 id, 2 name, 3 system_name}
 *   Mapping {1 id, 2 memory_start, 3 memory_limit, 4 file_offset,
 *            5 filename, 7 has_functions}
 */
#include "platform/pprof/pprof_profile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "platform/pprof/pprof_proto.h"
#include "platform/pprof/pprof_symbols.h"

#define PPROF_MAX_DEPTH 128

/* uint64 -> uint64, open addressing; key 0 is never stored. */
struct pprof_map {
    uint64_t *keys;
    uint64_t *values;
    size_t mask;
    size_t count;
};

struct pprof_profile {
    struct pprof_profile_config config;
    const struct pprof_symbols *symbols;
    char **strings;
    size_t string_count;
    size_t string_capacity;
    struct pprof_map string_index;   /* FNV hash -> string index + 1 (first of a chain) */
    struct pprof_map location_ids;   /* address -> location id */
    struct pprof_map function_ids;   /* string index + 1 -> function id */
    struct pb_buf samples;
    struct pb_buf locations;
    struct pb_buf functions;
    bool failed;
};

/* ---- a small hash map ---------------------------------------------------- */

static uint64_t pprof_mix(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return key;
}

static bool pprof_map_grow(struct pprof_map *map)
{
    size_t size = map->keys == NULL ? 256 : (map->mask + 1) * 2;
    struct pprof_map bigger = {
        .keys = calloc(size, sizeof(uint64_t)),
        .values = calloc(size, sizeof(uint64_t)),
        .mask = size - 1,
    };
    if (bigger.keys == NULL || bigger.values == NULL) {
        free(bigger.keys);
        free(bigger.values);
        return false;
    }
    for (size_t i = 0; map->keys != NULL && i <= map->mask; i++) {
        if (map->keys[i] != 0) {
            size_t slot = pprof_mix(map->keys[i]) & bigger.mask;
            while (bigger.keys[slot] != 0) {
                slot = (slot + 1) & bigger.mask;
            }
            bigger.keys[slot] = map->keys[i];
            bigger.values[slot] = map->values[i];
        }
    }
    bigger.count = map->count;
    free(map->keys);
    free(map->values);
    *map = bigger;
    return true;
}

/* The slot of key, or of the empty slot where it would go. */
static size_t pprof_map_slot(const struct pprof_map *map, uint64_t key)
{
    size_t slot = pprof_mix(key) & map->mask;
    while (map->keys[slot] != 0 && map->keys[slot] != key) {
        slot = (slot + 1) & map->mask;
    }
    return slot;
}

static uint64_t pprof_map_get(const struct pprof_map *map, uint64_t key)
{
    if (map->keys == NULL) {
        return 0;
    }
    size_t slot = pprof_map_slot(map, key);
    return map->keys[slot] == key ? map->values[slot] : 0;
}

static bool pprof_map_put(struct pprof_map *map, uint64_t key, uint64_t value)
{
    if ((map->keys == NULL || (map->count + 1) * 2 > map->mask + 1) && !pprof_map_grow(map)) {
        return false;
    }
    size_t slot = pprof_map_slot(map, key);
    if (map->keys[slot] == 0) {
        map->count++;
    }
    map->keys[slot] = key;
    map->values[slot] = value;
    return true;
}

static void pprof_map_free(struct pprof_map *map)
{
    free(map->keys);
    free(map->values);
}

/* ---- strings ------------------------------------------------------------ */

static uint64_t pprof_string_hash(const char *text, uint64_t salt)
{
    uint64_t hash = 14695981039346656037ULL ^ salt;
    for (const char *p = text; *p != '\0'; p++) {
        hash = (hash ^ (unsigned char)*p) * 1099511628211ULL;
    }
    return hash == 0 ? 1 : hash;
}

/* The index of text in the string table, added if new; 0 on failure (the
 * empty string, which is index 0 anyway). Collisions are resolved by
 * re-hashing with a salt. */
static int64_t pprof_string(struct pprof_profile *profile, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        return 0;
    }
    for (uint64_t salt = 0;; salt++) {
        uint64_t hash = pprof_string_hash(text, salt);
        uint64_t found = pprof_map_get(&profile->string_index, hash);
        if (found == 0) {
            break;
        }
        if (strcmp(profile->strings[found - 1], text) == 0) {
            return (int64_t)(found - 1);
        }
    }
    if (profile->string_count == profile->string_capacity) {
        size_t capacity = profile->string_capacity * 2;
        char **strings = realloc(profile->strings, capacity * sizeof(*strings));
        if (strings == NULL) {
            profile->failed = true;
            return 0;
        }
        profile->strings = strings;
        profile->string_capacity = capacity;
    }
    char *copy = strdup(text);
    uint64_t salt = 0;
    while (pprof_map_get(&profile->string_index, pprof_string_hash(text, salt)) != 0) {
        salt++;
    }
    if (copy == NULL || !pprof_map_put(&profile->string_index, pprof_string_hash(text, salt),
                                       profile->string_count + 1)) {
        free(copy);
        profile->failed = true;
        return 0;
    }
    profile->strings[profile->string_count] = copy;
    return (int64_t)profile->string_count++;
}

/* ---- building ----------------------------------------------------------- */

int pprof_profile_create(const struct pprof_profile_config *config,
                         const struct pprof_symbols *symbols, struct pprof_profile **out)
{
    if (config == NULL || symbols == NULL || config->value_count == 0 ||
        config->value_count > PPROF_MAX_VALUES) {
        return -EINVAL;
    }
    struct pprof_profile *profile = calloc(1, sizeof(*profile));
    if (profile == NULL) {
        return -ENOMEM;
    }
    profile->config = *config;
    profile->symbols = symbols;
    profile->string_capacity = 64;
    profile->strings = calloc(profile->string_capacity, sizeof(char *));
    char *empty = strdup("");
    if (profile->strings == NULL || empty == NULL) {
        free(empty);
        pprof_profile_free(profile);
        return -ENOMEM;
    }
    profile->strings[0] = empty;
    profile->string_count = 1;
    *out = profile;
    return 0;
}

void pprof_profile_free(struct pprof_profile *profile)
{
    if (profile == NULL) {
        return;
    }
    for (size_t i = 0; profile->strings != NULL && i < profile->string_count; i++) {
        free(profile->strings[i]);
    }
    free((void *)profile->strings);
    pprof_map_free(&profile->string_index);
    pprof_map_free(&profile->location_ids);
    pprof_map_free(&profile->function_ids);
    pb_free(&profile->samples);
    pb_free(&profile->locations);
    pb_free(&profile->functions);
    free(profile);
}

static uint64_t pprof_mapping_id(const struct pprof_profile *profile, uintptr_t address)
{
    const struct pprof_mapping *mappings = NULL;
    size_t count = pprof_symbols_mappings(profile->symbols, &mappings);
    for (size_t i = 0; i < count; i++) {
        if (address >= mappings[i].start && address < mappings[i].limit) {
            return i + 1;
        }
    }
    return 0;
}

static uint64_t pprof_function(struct pprof_profile *profile, const char *name)
{
    int64_t name_index = pprof_string(profile, name);
    uint64_t id = pprof_map_get(&profile->function_ids, (uint64_t)name_index + 1);
    if (id != 0) {
        return id;
    }
    id = profile->function_ids.count + 1;
    if (!pprof_map_put(&profile->function_ids, (uint64_t)name_index + 1, id)) {
        profile->failed = true;
        return 0;
    }
    struct pb_buf function = {0};
    pb_field_varint(&function, 1, id);
    pb_field_varint(&function, 2, (uint64_t)name_index);
    pb_field_varint(&function, 3, (uint64_t)name_index);
    pb_field_bytes(&profile->functions, 5, function.data, function.len);
    profile->failed = profile->failed || function.failed;
    pb_free(&function);
    return id;
}

static uint64_t pprof_location(struct pprof_profile *profile, uintptr_t address)
{
    uint64_t id = pprof_map_get(&profile->location_ids, address);
    if (id != 0) {
        return id;
    }
    id = profile->location_ids.count + 1;
    if (!pprof_map_put(&profile->location_ids, address, id)) {
        profile->failed = true;
        return 0;
    }
    struct pb_buf location = {0};
    pb_field_varint(&location, 1, id);
    uint64_t mapping = pprof_mapping_id(profile, address);
    if (mapping != 0) {
        pb_field_varint(&location, 2, mapping);
    }
    pb_field_varint(&location, 3, address);
    uintptr_t start = 0;
    const char *name = pprof_symbols_lookup(profile->symbols, address, &start);
    if (name != NULL) {
        struct pb_buf line = {0};
        pb_field_varint(&line, 1, pprof_function(profile, name));
        pb_field_bytes(&location, 4, line.data, line.len);
        pb_free(&line);
    }
    pb_field_bytes(&profile->locations, 4, location.data, location.len);
    profile->failed = profile->failed || location.failed;
    pb_free(&location);
    return id;
}

int pprof_profile_add(struct pprof_profile *profile, const uintptr_t *pcs, size_t depth,
                      const int64_t *values, const char *label_key, const char *label_value)
{
    struct pb_buf ids = {0};
    struct pb_buf packed_values = {0};
    struct pb_buf sample = {0};
    for (size_t i = 0; i < depth && i < PPROF_MAX_DEPTH; i++) {
        uintptr_t address = i == 0 ? pcs[i] : pcs[i] - 1;
        pb_varint(&ids, pprof_location(profile, address));
    }
    for (size_t i = 0; i < profile->config.value_count; i++) {
        pb_varint(&packed_values, (uint64_t)values[i]);
    }
    pb_field_bytes(&sample, 1, ids.data, ids.len);
    pb_field_bytes(&sample, 2, packed_values.data, packed_values.len);
    if (label_key != NULL && label_value != NULL) {
        struct pb_buf label = {0};
        pb_field_varint(&label, 1, (uint64_t)pprof_string(profile, label_key));
        pb_field_varint(&label, 2, (uint64_t)pprof_string(profile, label_value));
        pb_field_bytes(&sample, 3, label.data, label.len);
        profile->failed = profile->failed || label.failed;
        pb_free(&label);
    }
    pb_field_bytes(&profile->samples, 2, sample.data, sample.len);
    profile->failed = profile->failed || ids.failed || packed_values.failed || sample.failed;
    pb_free(&ids);
    pb_free(&packed_values);
    pb_free(&sample);
    return profile->failed ? -ENOMEM : 0;
}

/* ---- encoding ----------------------------------------------------------- */

static void pprof_value_type(struct pprof_profile *profile, struct pb_buf *out, uint32_t field,
                             const struct pprof_value_type *type)
{
    struct pb_buf message = {0};
    pb_field_varint(&message, 1, (uint64_t)pprof_string(profile, type->type));
    pb_field_varint(&message, 2, (uint64_t)pprof_string(profile, type->unit));
    pb_field_bytes(out, field, message.data, message.len);
    profile->failed = profile->failed || message.failed;
    pb_free(&message);
}

static void pprof_mappings(struct pprof_profile *profile, struct pb_buf *out)
{
    const struct pprof_mapping *mappings = NULL;
    size_t count = pprof_symbols_mappings(profile->symbols, &mappings);
    for (size_t i = 0; i < count; i++) {
        struct pb_buf message = {0};
        pb_field_varint(&message, 1, i + 1);
        pb_field_varint(&message, 2, mappings[i].start);
        pb_field_varint(&message, 3, mappings[i].limit);
        pb_field_varint(&message, 4, mappings[i].offset);
        pb_field_varint(&message, 5, (uint64_t)pprof_string(profile, mappings[i].path));
        pb_field_varint(&message, 7, i == 0 ? 1 : 0);
        pb_field_bytes(out, 3, message.data, message.len);
        profile->failed = profile->failed || message.failed;
        pb_free(&message);
    }
}

static void pprof_encode(struct pprof_profile *profile, struct pb_buf *out)
{
    const struct pprof_profile_config *config = &profile->config;
    for (size_t i = 0; i < config->value_count; i++) {
        pprof_value_type(profile, out, 1, &config->sample_types[i]);
    }
    pb_bytes(out, profile->samples.data, profile->samples.len);
    pprof_mappings(profile, out);
    pb_bytes(out, profile->locations.data, profile->locations.len);
    pb_bytes(out, profile->functions.data, profile->functions.len);
    pb_field_varint(out, 9, (uint64_t)config->time_nanos);
    pb_field_varint(out, 10, (uint64_t)config->duration_nanos);
    pprof_value_type(profile, out, 11, &config->period_type);
    pb_field_varint(out, 12, (uint64_t)config->period);
    /* Last, so that every string used above is in it. */
    for (size_t i = 0; i < profile->string_count; i++) {
        pb_field_bytes(out, 6, profile->strings[i], strlen(profile->strings[i]));
    }
}

static int pprof_gzip(const struct pb_buf *raw, unsigned char **out, size_t *out_len)
{
    z_stream stream = {0};
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return -ENOMEM;
    }
    size_t capacity = deflateBound(&stream, (uLong)raw->len) + 32;
    unsigned char *data = malloc(capacity);
    if (data == NULL) {
        deflateEnd(&stream);
        return -ENOMEM;
    }
    stream.next_in = raw->data;
    stream.avail_in = (uInt)raw->len;
    stream.next_out = data;
    stream.avail_out = (uInt)capacity;
    int rc = deflate(&stream, Z_FINISH);
    size_t len = stream.total_out;
    deflateEnd(&stream);
    if (rc != Z_STREAM_END) {
        free(data);
        return -EIO;
    }
    *out = data;
    *out_len = len;
    return 0;
}

int pprof_profile_gzip(struct pprof_profile *profile, unsigned char **out, size_t *out_len)
{
    struct pb_buf raw = {0};
    pprof_encode(profile, &raw);
    int rc = raw.failed || profile->failed ? -ENOMEM : pprof_gzip(&raw, out, out_len);
    pb_free(&raw);
    return rc;
}

const char *pprof_symbolize(const struct pprof_symbols *symbols, uintptr_t pc, char *buf,
                            size_t size)
{
    uintptr_t start = 0;
    const char *name = pprof_symbols_lookup(symbols, pc, &start);
    if (name != NULL) {
        snprintf(buf, size, "%s", name);
    } else {
        snprintf(buf, size, "0x%llx", (unsigned long long)pc);
    }
    return buf;
}
