/*
 * pprof_symbols.h: program counters to function names, for profiles.
 *
 * The table is read once from the running executable's ELF symbol table
 * (.symtab, else .dynsym; /proc/self/exe, mapped read-only) and adjusted by
 * its load address, so static functions have names too as long as the
 * binary is not stripped. Addresses in shared libraries are named through
 * dladdr() (their exported symbols). The table is immutable once built and
 * may be shared by threads.
 */
#ifndef HEXSVC_PLATFORM_PPROF_PPROF_SYMBOLS_H
#define HEXSVC_PLATFORM_PPROF_PPROF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct pprof_symbols;

/* An executable mapping of the process (from /proc/self/maps). */
struct pprof_mapping {
    uintptr_t start;
    uintptr_t limit;
    uint64_t offset;
    char path[256];
};

#define PPROF_MAX_MAPPINGS 64

/* 0 and *out (possibly with no symbol when the binary is stripped), or
 * -ENOMEM. */
int pprof_symbols_load(struct pprof_symbols **out);
void pprof_symbols_free(struct pprof_symbols *symbols);

/* The name of the function containing pc, or NULL. *start gets its
 * address. The name lives as long as the table. */
const char *pprof_symbols_lookup(const struct pprof_symbols *symbols, uintptr_t pc,
                                 uintptr_t *start);

/* The executable mappings; the first is the main program's. */
size_t pprof_symbols_mappings(const struct pprof_symbols *symbols,
                              const struct pprof_mapping **out);

#endif
