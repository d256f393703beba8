/*
 * libvirt_secret.h: the CHAP secret of a pool's iSCSI target as a libvirt
 * secret, so the initiators poold sets up in libvirt (the iscsi-direct
 * storage pools of libvirt_pool.c, the disks of the VMs libvirt_domain.c
 * runs) can log in to a target with CHAP on (docs/design.md section 7,
 * "Access to the target").
 *
 * The secret: usage type iscsi, usage id "poold-" + the target's IQN
 * (poold_libvirt_secret_usage), persistent (ephemeral='no': an autostarted
 * pool needs it when libvirtd starts, before poold may run) and private
 * (private='yes': libvirt never hands its value back, not even to
 * `virsh secret-get-value`). Its value is the CHAP secret's bytes, as the
 * target checks them. The definition carries no value; the value is set
 * with virSecretSetValue and never logged or put in an error message.
 *
 * One-way CHAP only: libvirt's iscsi-direct backend and QEMU's iSCSI
 * driver give libiscsi the initiator's credentials but never the target's,
 * so they cannot answer a target that requires mutual CHAP.
 *
 * The caller owns the connection and runs these on its own thread.
 * Errors: -1 with a pool_error (POOL_ERR_SYSTEM, libvirt's message kept).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_LIBVIRT_SECRET_H
#define POOLD_LIBVIRT_SECRET_H

#include <libvirt/libvirt.h>

/* "poold-" + the pool's target IQN; caller frees. */
char *poold_libvirt_secret_usage(const char *pool);
/* Define the secret of `usage` if libvirt has none, and set its value. */
int poold_libvirt_secret_set(virConnectPtr conn, const char *usage, const char *value);
/* Undefine the secret of `usage`; none is not an error. */
int poold_libvirt_secret_remove(virConnectPtr conn, const char *usage);

#endif
