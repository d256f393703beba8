// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * meta_race.c: one "host" of the metadata-store race (issue 5: two hosts
 * update the same VM record concurrently, no update lost). Driven by
 * meta-race.sh, which runs two of these at once against one store.
 *
 *   meta_race URL NAME init              define the record (counter 0)
 *   meta_race URL NAME WRITER_ID N       N read-modify-update attempts
 *   meta_race URL NAME check             print the record and the store check
 *
 * The record's domain XML carries
 *     <description>COUNTER;MARK,MARK,...,</description>
 * Attempt i of writer W reads the record, increments COUNTER, appends the
 * mark "W:i" and calls pool_meta_store_update(). Each attempt either
 * applies (update returned 0) or conflicts (read or update failed with
 * POOL_ERR_CONFLICT); it is never retried, so a mark names one attempt.
 * A writer prints one line per attempt ("applied W:i" / "conflict W:i")
 * and at the end "applied A conflicts C". Any other error: message on
 * stderr, exit 1.
 *
 * check prints "generation G", "counter N", "marks M..." (in record order),
 * then "store-check clean" or "store-check: <line>" per problem reported by
 * pool_meta_store_check(). From these the script verifies: COUNTER and the
 * generation agree with the applied counts, every applied mark is present
 * exactly once and no conflicted one is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vmstore.h"

#define DESC_OPEN  "<description>"
#define DESC_CLOSE "</description>"

static int fail(const char *what)
{
    fprintf(stderr, "meta_race: %s: %s (code %d)\n", what, pool_error_last_message(),
            (int)pool_error_last_code());
    return 1;
}

/* The description's text: "COUNTER;MARKS" -> counter, marks (malloc'd). */
static int parse_desc(const poolVmRecord *rec, unsigned long *counter, char **marks)
{
    const char *p = rec->domain_xml ? strstr(rec->domain_xml, DESC_OPEN) : NULL;
    const char *e;
    const char *semi;
    char *end = NULL;

    if (!p)
        return -1;
    p += strlen(DESC_OPEN);
    e = strstr(p, DESC_CLOSE);
    semi = memchr(p, ';', e ? (size_t)(e - p) : 0);
    if (!e || !semi)
        return -1;
    *counter = strtoul(p, &end, 10);
    if (end != semi)
        return -1;
    *marks = strndup(semi + 1, (size_t)(e - semi - 1));
    return *marks ? 0 : -1;
}

static char *domain_xml(const char *name, unsigned long counter, const char *marks)
{
    char *xml = NULL;

    if (asprintf(&xml,
                 "<domain type='qemu'>\n  <name>%s</name>\n"
                 "  " DESC_OPEN "%lu;%s" DESC_CLOSE "\n</domain>\n",
                 name, counter, marks) < 0)
        return NULL;
    return xml;
}

static int do_init(poolMetaStore *st, const char *name)
{
    poolVmRecord rec = {0};
    int rc;

    rec.name = (char *)name;
    strcpy(rec.uuid, "5a3c8f0e-7d21-4b6a-9c1e-2f4d6b8a0c13");
    rec.modified_by = (char *)"race-init";
    rec.domain_xml = domain_xml(name, 0, "");
    if (!rec.domain_xml)
        return 1;
    rc = pool_meta_store_define(st, &rec);
    free(rec.domain_xml);
    if (rc < 0)
        return fail("define");
    printf("generation %" PRIu64 "\n", rec.generation);
    return 0;
}

static int do_check(poolMetaStore *st, const char *name)
{
    POOL_AUTOPTR(poolVmRecord) rec = pool_meta_store_read(st, name);
    POOL_AUTOFREE(char *) marks = NULL;
    POOL_AUTOFREE(char *) report = NULL;
    unsigned long counter = 0;

    if (!rec)
        return fail("read");
    if (parse_desc(rec, &counter, &marks) < 0) {
        fprintf(stderr, "meta_race: no counter in the domain XML: %s\n", rec->domain_xml);
        return 1;
    }
    printf("generation %" PRIu64 "\n", rec->generation);
    printf("counter %lu\n", counter);
    printf("modified-by %s\n", rec->modified_by);
    printf("marks");
    for (char *save = NULL, *m = strtok_r(marks, ",", &save); m; m = strtok_r(NULL, ",", &save))
        printf(" %s", m);
    printf("\n");
    if (pool_meta_store_check(st, &report) < 0)
        return fail("store check");
    if (!report) {
        printf("store-check clean\n");
    } else {
        for (char *save = NULL, *l = strtok_r(report, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save))
            printf("store-check: %s\n", l);
    }
    return 0;
}

static int do_write(poolMetaStore *st, const char *name, const char *id, unsigned long n)
{
    unsigned long applied = 0;
    unsigned long conflicts = 0;
    char host[64];

    snprintf(host, sizeof(host), "race-%s", id);
    for (unsigned long i = 0; i < n; i++) {
        POOL_AUTOPTR(poolVmRecord) rec = pool_meta_store_read(st, name);
        POOL_AUTOFREE(char *) marks = NULL;
        POOL_AUTOFREE(char *) newmarks = NULL;
        unsigned long counter = 0;

        if (!rec) {
            if (pool_error_last_code() != POOL_ERR_CONFLICT)
                return fail("read");
            /* the record kept changing under the read: this attempt did
             * not write anything */
            conflicts++;
            printf("conflict %s:%lu (read)\n", id, i);
            continue;
        }
        if (parse_desc(rec, &counter, &marks) < 0) {
            fprintf(stderr, "meta_race: no counter in the domain XML: %s\n", rec->domain_xml);
            return 1;
        }
        if (asprintf(&newmarks, "%s%s:%lu,", marks, id, i) < 0)
            return 1;
        free(rec->domain_xml);
        if (!(rec->domain_xml = domain_xml(name, counter + 1, newmarks)))
            return 1;
        free(rec->modified_by);
        if (!(rec->modified_by = strdup(host)))
            return 1;
        if (pool_meta_store_update(st, rec) == 0) {
            applied++;
            printf("applied %s:%lu gen %" PRIu64 "\n", id, i, rec->generation);
        } else if (pool_error_last_code() == POOL_ERR_CONFLICT) {
            conflicts++;
            printf("conflict %s:%lu\n", id, i);
        } else {
            char what[64];
            snprintf(what, sizeof(what), "update %s:%lu", id, i);
            return fail(what);
        }
        fflush(stdout);
    }
    printf("applied %lu conflicts %lu\n", applied, conflicts);
    return 0;
}

int main(int argc, char **argv)
{
    POOL_AUTOPTR(poolMetaStore) st = NULL;
    const char *name;

    if (argc < 4 || (argc == 4 && strcmp(argv[3], "init") != 0 && strcmp(argv[3], "check") != 0) ||
        argc > 5) {
        fprintf(stderr, "usage: meta_race URL NAME init | check | WRITER_ID N\n");
        return 2;
    }
    name = argv[2];
    if (!(st = pool_meta_store_open(argv[1], 0)))
        return fail("open");
    if (argc == 4)
        return strcmp(argv[3], "init") == 0 ? do_init(st, name) : do_check(st, name);
    for (const char *p = argv[3]; *p || p == argv[3]; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) || p - argv[3] > 16) {
            fprintf(stderr, "meta_race: WRITER_ID: [a-z0-9]{1,16}\n");
            return 2;
        }
    }
    return do_write(st, name, argv[3], strtoul(argv[4], NULL, 10));
}
