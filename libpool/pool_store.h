/*
 * pool_store.h (private): the pool records of this host in
 * <state_dir>/pools: NAME.xml (the pool document, without status) and, while
 * a pool-level operation runs, NAME.journal holding the operation's name.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_STORE_H
#define POOL_STORE_H

#include <stddef.h>

#include "pool-xml.h"

int pool_store_init(const char *state_dir, char **pools_dir);
/* Load every NAME.xml; records that fail to parse are logged and skipped
 * (counted in *bad) so that one damaged file does not take all pools down. */
int pool_store_load_all(const char *dir, poolPoolDef ***defs, size_t *n, size_t *bad);
int pool_store_save(const char *dir, const poolPoolDef *def);
int pool_store_remove(const char *dir, const char *name);
int pool_store_journal_set(const char *dir, const char *name, const char *op);
/* *op = NULL when there is no journal. */
int pool_store_journal_get(const char *dir, const char *name, char **op);
int pool_store_journal_clear(const char *dir, const char *name);
/* Names with a journal but no record (crash between journal and record). */
int pool_store_orphan_journals(const char *dir, char ***names);

#endif
