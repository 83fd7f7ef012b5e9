# flags.mk: the hardening flags of flags.txt for GNU Make, probed against $(CC).
#
#   include path/to/hardening/flags.mk
#   CFLAGS  += -O2 $(HARDENING_CFLAGS)
#   LDFLAGS += $(HARDENING_LDFLAGS)
#
# Each flag runs through $(CC) once when the makefile is read; one this compiler
# rejects is left out (see flags.txt for why each flag is there). Probing, not
# version checks: the same list serves gcc 12, clang 14-16, x86_64 and aarch64.
HARDENING_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
HARDENING_LIST := $(HARDENING_DIR)flags.txt

# -Werror: a flag the compiler only warns about counts as rejected; -Wformat:
# gcc rejects -Werror=format-security without it.
hardening_compiles = $(shell printf 'int main(void){return 0;}\n' | \
    $(CC) -Werror -Wformat $(1) -x c -c -o /dev/null - >/dev/null 2>&1 && echo yes)
hardening_links = $(shell printf 'int main(void){return 0;}\n' | \
    $(CC) $(1) -x c -o /dev/null - >/dev/null 2>&1 && echo yes)

# hardening_pick(KIND,FLAG,COMPANION): FLAG, FLAG COMPANION, or nothing.
hardening_pick = $(if $(filter -D% -U%,$(2)),$(2),$(if $(call hardening_$(1),$(2)),$(2),$(if \
    $(filter-out -,$(3)),$(if $(call hardening_$(1),$(2) $(3)),$(2) $(3)))))

hardening_rows = $(shell awk '$$1 == "$(1)" { print $$2 "|" $$3 }' $(HARDENING_LIST))
hardening_flags = $(foreach row,$(call hardening_rows,$(1)),$(call hardening_pick,$(2),$(word \
    1,$(subst |, ,$(row))),$(word 2,$(subst |, ,$(row)))))

HARDENING_CFLAGS := $(call hardening_flags,compile,compiles)
HARDENING_LDFLAGS := $(call hardening_flags,link,links)
