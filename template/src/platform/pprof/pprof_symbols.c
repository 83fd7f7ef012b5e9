/*
 * pprof_symbols.c: an ELF symbol table of the running program, sorted by
 * address, plus the process's executable mappings.
 */
#define _GNU_SOURCE
#include "platform/pprof/pprof_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct pprof_symbol {
    uintptr_t start;
    uintptr_t end;
    const char *name; /* in the mapped string table */
};

struct pprof_symbols {
    void *image;          /* /proc/self/exe, mapped */
    size_t image_size;
    struct pprof_symbol *table;
    size_t count;
    struct pprof_mapping mappings[PPROF_MAX_MAPPINGS];
    size_t mapping_count;
};

static int pprof_main_bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(uintptr_t *)data = (uintptr_t)info->dlpi_addr;
    return 1; /* the first object is the main program */
}

static int pprof_symbol_compare(const void *a, const void *b)
{
    const struct pprof_symbol *left = a;
    const struct pprof_symbol *right = b;
    return (left->start > right->start) - (left->start < right->start);
}

/* The section of `type` (SHT_SYMTAB or SHT_DYNSYM), if any. */
static const Elf64_Shdr *pprof_find_section(const unsigned char *image, size_t size, uint32_t type)
{
    const Elf64_Ehdr *header = (const Elf64_Ehdr *)(const void *)image;
    if (header->e_shoff == 0 || header->e_shentsize != sizeof(Elf64_Shdr) ||
        header->e_shoff + (uint64_t)header->e_shnum * sizeof(Elf64_Shdr) > size) {
        return NULL;
    }
    const Elf64_Shdr *sections = (const Elf64_Shdr *)(const void *)(image + header->e_shoff);
    for (unsigned i = 0; i < header->e_shnum; i++) {
        if (sections[i].sh_type == type && sections[i].sh_link < header->e_shnum &&
            sections[i].sh_offset + sections[i].sh_size <= size) {
            return &sections[i];
        }
    }
    return NULL;
}

static int pprof_read_symtab(struct pprof_symbols *symbols, uintptr_t bias)
{
    const unsigned char *image = symbols->image;
    const Elf64_Ehdr *header = (const Elf64_Ehdr *)symbols->image;
    const Elf64_Shdr *symtab = pprof_find_section(image, symbols->image_size, SHT_SYMTAB);
    if (symtab == NULL) {
        symtab = pprof_find_section(image, symbols->image_size, SHT_DYNSYM);
    }
    if (symtab == NULL) {
        return 0;
    }
    const Elf64_Shdr *sections = (const Elf64_Shdr *)(const void *)(image + header->e_shoff);
    const Elf64_Shdr *strtab = &sections[symtab->sh_link];
    if (strtab->sh_offset + strtab->sh_size > symbols->image_size || strtab->sh_size == 0) {
        return 0;
    }
    const char *strings = (const char *)image + strtab->sh_offset;
    const Elf64_Sym *syms = (const Elf64_Sym *)(const void *)(image + symtab->sh_offset);
    size_t count = symtab->sh_size / sizeof(Elf64_Sym);
    symbols->table = calloc(count == 0 ? 1 : count, sizeof(*symbols->table));
    if (symbols->table == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        if (ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC || syms[i].st_value == 0 ||
            syms[i].st_name >= strtab->sh_size || syms[i].st_shndx == SHN_UNDEF) {
            continue;
        }
        struct pprof_symbol *symbol = &symbols->table[symbols->count++];
        symbol->start = bias + syms[i].st_value;
        symbol->end = symbol->start + (syms[i].st_size > 0 ? syms[i].st_size : 1);
        symbol->name = strings + syms[i].st_name;
    }
    qsort(symbols->table, symbols->count, sizeof(*symbols->table), pprof_symbol_compare);
    return 0;
}

static void pprof_read_mappings(struct pprof_symbols *symbols)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof(line), maps) != NULL && symbols->mapping_count < PPROF_MAX_MAPPINGS) {
        /* "start-limit perms offset dev inode path" */
        char *p = line;
        unsigned long start = strtoul(p, &p, 16);
        unsigned long limit = *p == '-' ? strtoul(p + 1, &p, 16) : 0;
        bool executable = strlen(p) > 5 && p[0] == ' ' && p[3] == 'x';
        unsigned long long offset = executable ? strtoull(p + 5, &p, 16) : 0;
        char *path = strchr(p, '/');
        if (!executable || limit <= start || path == NULL) {
            continue;
        }
        struct pprof_mapping *mapping = &symbols->mappings[symbols->mapping_count++];
        mapping->start = start;
        mapping->limit = limit;
        mapping->offset = offset;
        snprintf(mapping->path, sizeof(mapping->path), "%s", path);
        mapping->path[strcspn(mapping->path, "\n")] = '\0';
    }
    fclose(maps);
}

/* Puts the main program's mapping first (pprof takes it as the binary). */
static void pprof_main_mapping_first(struct pprof_symbols *symbols)
{
    char exe[256] = {0};
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0) {
        return;
    }
    for (size_t i = 0; i < symbols->mapping_count; i++) {
        if (strcmp(symbols->mappings[i].path, exe) == 0) {
            struct pprof_mapping main_mapping = symbols->mappings[i];
            memmove(&symbols->mappings[1], &symbols->mappings[0], i * sizeof(main_mapping));
            symbols->mappings[0] = main_mapping;
            return;
        }
    }
}

static void pprof_map_image(struct pprof_symbols *symbols)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr)) {
        void *image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (image != MAP_FAILED) {
            symbols->image = image;
            symbols->image_size = (size_t)st.st_size;
        }
    }
    close(fd);
}

int pprof_symbols_load(struct pprof_symbols **out)
{
    struct pprof_symbols *symbols = calloc(1, sizeof(*symbols));
    if (symbols == NULL) {
        return -ENOMEM;
    }
    pprof_map_image(symbols);
    const unsigned char *ident = symbols->image;
    if (ident != NULL && memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS64) {
        uintptr_t bias = 0;
        dl_iterate_phdr(pprof_main_bias_cb, &bias);
        if (pprof_read_symtab(symbols, bias) < 0) {
            pprof_symbols_free(symbols);
            return -ENOMEM;
        }
    }
    pprof_read_mappings(symbols);
    pprof_main_mapping_first(symbols);
    *out = symbols;
    return 0;
}

void pprof_symbols_free(struct pprof_symbols *symbols)
{
    if (symbols == NULL) {
        return;
    }
    if (symbols->image != NULL) {
        munmap(symbols->image, symbols->image_size);
    }
    free(symbols->table);
    free(symbols);
}

const char *pprof_symbols_lookup(const struct pprof_symbols *symbols, uintptr_t pc,
                                 uintptr_t *start)
{
    size_t low = 0;
    size_t high = symbols->count;
    while (low < high) { /* the last symbol starting at or before pc */
        size_t mid = low + (high - low) / 2;
        if (symbols->table[mid].start <= pc) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    if (low > 0 && pc < symbols->table[low - 1].end) {
        *start = symbols->table[low - 1].start;
        return symbols->table[low - 1].name;
    }
    Dl_info info;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): a sampled pc is an address by nature
    if (dladdr((void *)pc, &info) != 0 && info.dli_sname != NULL) {
        *start = (uintptr_t)info.dli_saddr;
        return info.dli_sname;
    }
    return NULL;
}

size_t pprof_symbols_mappings(const struct pprof_symbols *symbols, const struct pprof_mapping **out)
{
    *out = symbols->mappings;
    return symbols->mapping_count;
}
