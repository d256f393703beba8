/*
 * cmd_lease.c: poolctl lease acquire | release | status — a volume's
 * sanlock lease, held by poold on this host (and released if poold exits).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "poolctl.h"

static int print_lease(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "no lease information");
    xmlChar *vol = xmlGetProp(r, BAD_CAST "volume");
    xmlChar *held = xmlGetProp(r, BAD_CAST "held");
    xmlChar *owner = xmlGetProp(r, BAD_CAST "owner");
    xmlChar *oname = xmlGetProp(r, BAD_CAST "owner-name");
    xmlChar *ostate = xmlGetProp(r, BAD_CAST "owner-state");
    xmlChar *here = xmlGetProp(r, BAD_CAST "this-host");
    xmlChar *mine = xmlGetProp(r, BAD_CAST "this-holder");
    xmlChar *lver = xmlGetProp(r, BAD_CAST "lver");
    bool is_held = held && strcmp((char *)held, "yes") == 0;
    int ret;
    if (out->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "pool", json_object_new_string(pool_request_get(req, "pool")));
        json_object_object_add(o, "volume", json_object_new_string(vol ? (char *)vol : ""));
        json_object_object_add(o, "held", json_object_new_boolean(is_held));
        json_object_object_add(o, "lver", json_object_new_int64(lver ? atoll((char *)lver) : 0));
        if (is_held) {
            json_object_object_add(o, "owner",
                                   json_object_new_int64(owner ? atoll((char *)owner) : 0));
            json_object_object_add(o, "owner_name",
                                   oname ? json_object_new_string((char *)oname) : NULL);
            json_object_object_add(o, "owner_state",
                                   json_object_new_string(ostate ? (char *)ostate : "unknown"));
            json_object_object_add(
                o, "this_host", json_object_new_boolean(here && strcmp((char *)here, "yes") == 0));
            json_object_object_add(
                o, "this_holder",
                json_object_new_boolean(mine && strcmp((char *)mine, "yes") == 0));
        }
        ret = cli_print_json(o);
    } else if (is_held) {
        ret = cli_print_message(out, "Lease of volume %s: held by host %s%s%s%s (%s)%s",
                                vol ? (char *)vol : "?", owner ? (char *)owner : "?",
                                oname ? " (" : "", oname ? (char *)oname : "", oname ? ")" : "",
                                ostate ? (char *)ostate : "unknown",
                                mine && strcmp((char *)mine, "yes") == 0 ? ", by poold here" : "");
    } else {
        ret = cli_print_message(out, "Lease of volume %s: free", vol ? (char *)vol : "?");
    }
    xmlFree(vol);
    xmlFree(held);
    xmlFree(owner);
    xmlFree(oname);
    xmlFree(ostate);
    xmlFree(here);
    xmlFree(mine);
    xmlFree(lver);
    return ret;
}

const cliPrinterEntry cli_lease_printers[] = {
    {"lease-acquire", print_lease},
    {"lease-release", print_lease},
    {"lease-status", print_lease},
    {0},
};
