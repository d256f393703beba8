/*
 * libvirt_secret.c: the target's CHAP secret as a libvirt secret
 * (libvirt_secret.h states the contract).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

#include "libvirt_secret.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "iscsi/target.h"

#define SECRET_USAGE_PREFIX "poold-"

char *poold_libvirt_secret_usage(const char *pool)
{
    return pool_asprintf("%s%s%s", SECRET_USAGE_PREFIX, TGT_IQN_PREFIX, pool);
}

static int fail(const char *usage, const char *what)
{
    const char *m = virGetLastErrorMessage();
    pool_error(POOL_ERR_SYSTEM, "libvirt secret %s: %s: %s", usage, what,
               m ? m : "unknown libvirt error");
    return -1;
}

/* The secret of that usage; NULL with *missing set when libvirt has none. */
static virSecretPtr lookup(virConnectPtr conn, const char *usage, bool *missing)
{
    *missing = false;
    virSecretPtr s = virSecretLookupByUsage(conn, VIR_SECRET_USAGE_TYPE_ISCSI, usage);
    if (!s) {
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_SECRET) {
            *missing = true;
            virResetLastError();
        } else {
            fail(usage, "lookup failed");
        }
    }
    return s;
}

int poold_libvirt_secret_set(virConnectPtr conn, const char *usage, const char *value)
{
    bool missing;
    virSecretPtr s = lookup(conn, usage, &missing);
    if (!s && !missing)
        return -1;
    if (!s) {
        /* usage is "poold-" + an IQN: no character that needs escaping */
        POOL_AUTOFREE(char *)
        xml = pool_asprintf("<secret ephemeral='no' private='yes'>\n"
                            "  <description>poold: CHAP secret of iSCSI target %s</description>\n"
                            "  <usage type='iscsi'>\n"
                            "    <target>%s</target>\n"
                            "  </usage>\n"
                            "</secret>\n",
                            usage + strlen(SECRET_USAGE_PREFIX), usage);
        if (!xml)
            return -1;
        s = virSecretDefineXML(conn, xml, 0);
        if (!s)
            return fail(usage, "cannot define it");
        log_info("libvirt: secret %s defined", usage);
    }
    int r = virSecretSetValue(s, (const unsigned char *)value, strlen(value), 0);
    if (r < 0)
        fail(usage, "cannot set its value");
    virSecretFree(s);
    return r < 0 ? -1 : 0;
}

int poold_libvirt_secret_remove(virConnectPtr conn, const char *usage)
{
    bool missing;
    virSecretPtr s = lookup(conn, usage, &missing);
    if (!s)
        return missing ? 0 : -1;
    int r = virSecretUndefine(s);
    if (r < 0)
        fail(usage, "cannot undefine it");
    else
        log_info("libvirt: secret %s undefined", usage);
    virSecretFree(s);
    return r < 0 ? -1 : 0;
}
