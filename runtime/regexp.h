/*
 * regexp.h — what the two halves of Regexp share: runtime/regexp.c (Regexp, MatchData, the
 * match globals) and runtime/regexp_string.c (the String methods that take a Regexp).
 *
 * Patterns are compiled by Oniguruma (Ruby syntax, UTF-8, or ASCII-8BIT for /n) once per VM: a
 * compiled pattern (struct rx) belongs to the VM that compiled it and is never shared between
 * threads. Offsets are byte offsets, as mruby's String indexes bytes in Debian's build.
 *
 * Ownership: a struct rx is reference-counted (the Regexp object holds one reference, each
 * MatchData one more), all on the VM's own thread. The per-VM state (struct rx_vm) lives in a
 * Data object the VM owns and goes with it.
 */
#ifndef MRPROF_RUNTIME_REGEXP_H
#define MRPROF_RUNTIME_REGEXP_H

#include <stdbool.h>
#include <stdint.h>

#include <mruby.h>
#include <oniguruma.h>

/* Ruby's option bits (Regexp::IGNORECASE...), as Regexp#options reports them. */
enum {
    RX_IGNORECASE = 1,
    RX_EXTENDED = 2,
    RX_MULTILINE = 4,
    RX_FIXEDENCODING = 16,
    RX_NOENCODING = 32,
};

/* A compiled pattern. */
struct rx {
    OnigRegex reg;
    int refs;
    int flags;      /* RX_* */
    int ncaptures;  /* capture groups (named ones when the pattern names any) */
    bool ascii;     /* /n: bytes, no UTF-8 check */
    mrb_int srclen; /* the source, as given (NUL-terminated copy) */
    char src[];
};

/* A slot of the per-VM table of recent literals (struct rx_vm). */
#define RX_LIT_SLOTS 256
struct rx_lit {
    uint32_t hash; /* FNV-1a of the source, with the flags */
    int flags;
    mrb_value re; /* nil, or a Regexp that vm->cache also holds */
};

/* The per-VM state. The region is scratch: it is valid only between a search and the copy of
 * its offsets into a MatchData (no Ruby code runs in between, so nested matches from blocks
 * cannot clobber it). */
struct rx_vm {
    mrb_state *mrb;
    OnigRegion region;
    OnigMatchParam *mp;
    struct RClass *regexp_class, *match_class, *error_class, *timeout_class;
    mrb_sym sym_string; /* MatchData's hidden instance variable: the subject */
    mrb_sym sym_tilde;  /* $~ */
    /* $& $` $' $+ $1..$9: set only once a script mentions them (the symbol exists); see
     * rx_set_last_match. 0 while not interned. */
    mrb_sym gv[13];
    mrb_sym symidx_seen; /* mrb->symidx when gv[] was last completed */
    bool gv_clear;       /* the gated globals all hold nil */
    mrb_value cache;     /* Hash source => Regexp for literals (rooted on the Regexp class) */
    struct rx_lit lit[RX_LIT_SLOTS]; /* in front of cache; emptied with it */
    /* String's own methods that ours replace, for non-Regexp arguments (C functions called
     * with the same arguments; NULL: call the alias __str_NAME instead). */
    mrb_func_t str_split, str_index, str_rindex, str_aref, str_aset, str_start_with;
};

/* The VM's state (created by the module's vm_init). */
struct rx_vm *rx_vm(mrb_state *mrb);

/* The compiled pattern behind a Regexp object; raises TypeError for anything else. */
struct rx *rx_get(mrb_state *mrb, mrb_value re);
bool rx_is_regexp(mrb_state *mrb, mrb_value v);
/* A Regexp for a String pattern (quoted: the string's bytes literally) */
mrb_value rx_from_string(mrb_state *mrb, mrb_value str, bool quote);

/* Checks that s is valid UTF-8 for a search with rx (raises ArgumentError as CRuby does). */
void rx_check_subject(mrb_state *mrb, struct rx *rx, const char *s, mrb_int len);
/* Searches s[0, len) from start towards range (range < start: backwards), as onig_search. The
 * offsets land in vm->region. Returns the match's start, or -1 for no match; raises RegexpError
 * or Regexp::TimeoutError on Oniguruma's errors. anchored: match at start only. */
mrb_int rx_search(mrb_state *mrb, struct rx_vm *vm, struct rx *rx, const char *s, mrb_int len,
                  mrb_int start, mrb_int range, bool anchored);
/* A MatchData for the offsets in vm->region over subject (a frozen, shared copy of the string
 * searched, which the MatchData keeps: rx_frozen_subject). rx_match_from takes the offsets from
 * pairs (begin, end of each of n groups) instead. */
mrb_value rx_match_new(mrb_state *mrb, struct rx_vm *vm, struct rx *rx, mrb_value subject);
mrb_value rx_match_from(mrb_state *mrb, struct rx_vm *vm, struct rx *rx, mrb_value subject,
                        const int *pairs, int n);
mrb_value rx_frozen_subject(mrb_state *mrb, mrb_value str);
/* re.match(str, pos): searches str (a String or nil) from pos (negative: from the end). Sets $~
 * when set_gv. Returns the MatchData or nil. */
mrb_value rx_match_at(mrb_state *mrb, mrb_value re, mrb_value str, mrb_int pos, bool set_gv);
/* $~ and the globals derived from it ($1.., $&...): md may be nil. */
void rx_set_last_match(mrb_state *mrb, struct rx_vm *vm, mrb_value md);
/* The byte length of the character at p (1 for /n or at the end). */
mrb_int rx_char_len(struct rx *rx, const char *p, const char *end);
/* A group's name to its number in the last match (the last matched group of that name), or
 * -1 when the pattern has no such name. */
int rx_name_to_group(struct rx *rx, const int *regs, int nregs, const char *name, mrb_int len);

/* MatchData's internals, for the String methods. */
struct rx_match {
    struct rx *rx;
    int nregs;
    int regs[]; /* begin, end of group 0, then of group 1...; -1 for a group that did not match */
};
struct rx_match *rx_match_get(mrb_state *mrb, mrb_value md);
mrb_value rx_match_subject(mrb_state *mrb, mrb_value md);

/* Group i of regs over subject as a String (nil when it did not match). */
mrb_value rx_group_str(mrb_state *mrb, mrb_value subject, const int *regs, int i);
/* Drops a reference to rx (freed with the last). */
void rx_unref(mrb_state *mrb, struct rx *rx);
/* A Regexp object of class cls for rx (takes a reference). */
mrb_value rx_wrap(mrb_state *mrb, struct RClass *cls, struct rx *rx);

/* MatchData's methods (runtime/regexp_match.c) and the String methods (runtime/regexp_string.c),
 * defined by the module's vm_init. */
void rx_match_init(mrb_state *mrb, struct RClass *md);
void rx_string_init(mrb_state *mrb);

#endif
