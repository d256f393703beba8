// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qemu_img_tool: poold/qemu_img.c's wrappers from the shell, for
 * tests/integration/nbd-qemu.sh.
 *
 *   qemu_img_tool chain FMT,SOCKET,EXPORT...   print the json: spec (top first)
 *   qemu_img_tool create FILE SIZE
 *   qemu_img_tool measure SIZE                 print "required N full N"
 *   qemu_img_tool check SPEC                   print "end N leaks N"
 *   qemu_img_tool convert SRC DST FMT|-        (-: DST exists, convert -n);
 *                                              prints "progress P" lines
 *   qemu_img_tool convert-cancel SRC DST       cancel at the first progress
 *   qemu_img_tool commit SPEC
 *   qemu_img_tool rebase TOP TOP_ALONE [NEW NEWFMT WORKDIR]
 *
 * Exit 0 on success, 1 with poold's error message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-error.h"
#include "qemu_img.h"

static int nprogress;
static bool cancel_at_progress;

static void progress(void *opaque, double pct)
{
    (void)opaque;
    printf("progress %.2f\n", pct);
    fflush(stdout);
    nprogress++;
}

static bool cancel(void *opaque)
{
    (void)opaque;
    return cancel_at_progress && nprogress > 0;
}

static int fail(void)
{
    fprintf(stderr, "qemu_img_tool: %s\n", pool_error_last_message());
    return 1;
}

int main(int argc, char **argv)
{
    poolQemuImgRun run = {.timeout_ms = 60000, .progress = progress, .cancel = cancel};

    if (argc < 3) {
        fprintf(stderr, "usage: see the comment at the top of qemu_img_tool.c\n");
        return 2;
    }
    const char *op = argv[1];
    if (strcmp(op, "chain") == 0) {
        size_t n = (size_t)argc - 2;
        poolQemuLayer *l = calloc(n, sizeof(*l));
        for (size_t i = 0; i < n; i++) {
            char *a = argv[i + 2], *c1 = strchr(a, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
            if (!c2) {
                fprintf(stderr, "bad layer '%s': want FMT,SOCKET,EXPORT\n", a);
                return 2;
            }
            *c1 = *c2 = '\0';
            l[i] = (poolQemuLayer){.format = a, .socket_path = c1 + 1, .export_name = c2 + 1};
        }
        char *s = poold_qemu_chain_json(l, n);
        free(l);
        if (!s)
            return fail();
        printf("%s\n", s);
        free(s);
        return 0;
    }
    if (strcmp(op, "create") == 0 && argc == 4)
        return poold_qemu_img_create(argv[2], strtoull(argv[3], NULL, 0), &run) < 0 ? fail() : 0;
    if (strcmp(op, "measure") == 0) {
        uint64_t req, full;
        if (poold_qemu_img_measure(strtoull(argv[2], NULL, 0), &req, &full, &run) < 0)
            return fail();
        printf("required %llu full %llu\n", (unsigned long long)req, (unsigned long long)full);
        return 0;
    }
    if (strcmp(op, "check") == 0) {
        poolQemuCheck c;
        if (poold_qemu_img_check(argv[2], &c, &run) < 0)
            return fail();
        printf("end %llu leaks %llu\n", (unsigned long long)c.image_end_offset,
               (unsigned long long)c.leaks);
        return 0;
    }
    if (strcmp(op, "convert") == 0 && argc == 5) {
        bool exists = strcmp(argv[4], "-") == 0;
        return poold_qemu_img_convert(argv[2], argv[3], exists ? NULL : argv[4], exists, &run) < 0
                   ? fail()
                   : 0;
    }
    if (strcmp(op, "convert-cancel") == 0 && argc == 4) {
        cancel_at_progress = true;
        return poold_qemu_img_convert(argv[2], argv[3], NULL, true, &run) < 0 ? fail() : 0;
    }
    if (strcmp(op, "commit") == 0)
        return poold_qemu_img_commit(argv[2], &run) < 0 ? fail() : 0;
    if (strcmp(op, "rebase") == 0 && (argc == 4 || argc == 7))
        return poold_qemu_img_rebase(argv[2], argv[3], argc == 7 ? argv[4] : NULL,
                                     argc == 7 ? argv[5] : NULL, argc == 7 ? argv[6] : NULL,
                                     &run) < 0
                   ? fail()
                   : 0;
    fprintf(stderr, "qemu_img_tool: bad arguments\n");
    return 2;
}
