#include "resolver/trace.h"

#include <time.h>

#include "common/trace.h"
#include "resolver/dname.h"
#include "resolver/val.h"
#include "resolver/worker.h"

uint64_t
dr_trace_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The presentation form of a wire name, JSON-escaped. */
static void
name_json(const uint8_t *wire, char *out, size_t size)
{
    char txt[DR_NAME_STRLEN];
    if (dr_dname_to_str(wire, txt, sizeof(txt)) < 0)
        txt[0] = '\0';
    dc_trace_json(txt, out, size);
}

static void
ip_of(const union dc_sockaddr *peer, char *ip, size_t size)
{
    dc_addr_format(peer, false, ip, size);
}

bool
dr_trace_wanted(const union dc_sockaddr *peer, const struct dr_msg_query *q)
{
    char qn[2 * DR_NAME_STRLEN];
    if (!dc_trace_client(peer) || q->qname_len == 0)
        return false;
    name_json(q->qname, qn, sizeof(qn));
    return dc_trace_name(qn);
}

void
dr_trace_query(const struct dr_worker *wk, const union dc_sockaddr *peer, bool tcp,
               const struct dr_msg_query *q, int n, const uint8_t *reply)
{
    char ip[DC_ADDR_STRLEN], qn[2 * DR_NAME_STRLEN];
    if (!dc_trace_client(peer) || q->qname_len == 0)
        return;
    name_json(q->qname, qn, sizeof(qn));
    if (!dc_trace_name(qn))
        return;
    ip_of(peer, ip, sizeof(ip));
    dc_trace_emit((int)wk->id, "dns.query", ip,
                  "\"port\":%u,\"tcp\":%s,\"id\":%u,\"qname\":\"%s\",\"qtype\":%u,\"do\":%s,"
                  "\"cd\":%s",
                  dc_addr_port(peer), tcp ? "true" : "false", q->id, qn, q->qtype,
                  q->do_bit ? "true" : "false", (q->flags & DR_FLAG_CD) ? "true" : "false");
    if (n < 0)
        return;
    unsigned rcode = n > 0 ? DR_RCODE(dr_get16(reply + 2)) : 0;
    const char *result = n == 0 ? "miss" : "hit";
    dc_trace_emit((int)wk->id, "dns.cache", ip, "\"qname\":\"%s\",\"qtype\":%u,\"result\":\"%s\"",
                  qn, q->qtype, result);
    if (n > 0)
        dc_trace_emit((int)wk->id, "dns.answer", ip,
                      "\"id\":%u,\"qname\":\"%s\",\"qtype\":%u,\"rcode\":%u,\"ad\":%s,"
                      "\"bytes\":%d,\"ms\":0,\"stale\":false,\"dnssec\":\"cached\"",
                      q->id, qn, q->qtype, rcode,
                      (dr_get16(reply + 2) & DR_FLAG_AD) ? "true" : "false", n);
}

void
dr_trace_answer(const struct dr_worker *wk, const union dc_sockaddr *peer,
                const struct dr_msg_query *q, const uint8_t *reply, size_t len, uint64_t t0_us,
                bool stale, unsigned sec)
{
    char ip[DC_ADDR_STRLEN], qn[2 * DR_NAME_STRLEN];
    if (!dc_trace_client(peer) || len < DR_HEADER_LEN)
        return;
    name_json(q->qname, qn, sizeof(qn));
    if (!dc_trace_name(qn))
        return;
    ip_of(peer, ip, sizeof(ip));
    uint64_t now = dr_trace_now_us();
    dc_trace_emit((int)wk->id, "dns.answer", ip,
                  "\"id\":%u,\"qname\":\"%s\",\"qtype\":%u,\"rcode\":%u,\"ad\":%s,\"bytes\":%zu,"
                  "\"ms\":%.3f,\"stale\":%s,\"dnssec\":\"%s\"",
                  q->id, qn, q->qtype, DR_RCODE(dr_get16(reply + 2)),
                  (dr_get16(reply + 2) & DR_FLAG_AD) ? "true" : "false", len,
                  now > t0_us ? (double)(now - t0_us) / 1000.0 : 0.0, stale ? "true" : "false",
                  dr_val_status_names[sec < DR_VS_COUNT ? sec : 0]);
}

/* Upstream events have no client (a resolution may serve many): they are written for the
 * resolutions a traced client waits on, and their subs (NS addresses, DS and DNSKEY). */
void
dr_trace_send(const struct dr_worker *wk, const struct dr_iter *it,
              const struct dr_iter_action *act)
{
    char qn[2 * DR_NAME_STRLEN], sent[2 * DR_NAME_STRLEN], zone[2 * DR_NAME_STRLEN];
    if (!it->traced)
        return;
    name_json(it->qname, qn, sizeof(qn));
    name_json(it->sent_name, sent, sizeof(sent));
    name_json(it->deleg.zone, zone, sizeof(zone));
    char server[DC_ADDR_STRLEN];
    ip_of(act->server, server, sizeof(server));
    dc_trace_emit((int)wk->id, "dns.send", "",
                  "\"res\":%llu,\"for\":\"%s\",\"qname\":\"%s\",\"qtype\":%u,\"server\":\"%s\","
                  "\"zone\":\"%s\",\"tcp\":%s,\"minimised\":%s",
                  (unsigned long long)it->id, qn, sent, it->sent_type, server, zone,
                  act->tcp ? "true" : "false", it->up_minimised ? "true" : "false");
}

/* What a reply was, roughly as the iterator will classify it: the counts say enough for a
 * ladder (the resolver's own verdict is in its debug log). */
static const char *
reply_kind(const uint8_t *r, size_t len, const struct dr_iter *it)
{
    if (len < DR_HEADER_LEN)
        return "lame";
    uint16_t flags = dr_get16(r + 2);
    unsigned an = dr_get16(r + 6), ns = dr_get16(r + 8);
    if (flags & DR_FLAG_TC)
        return "truncated";
    if (DR_RCODE(flags) == DR_RCODE_NXDOMAIN)
        return "nxdomain";
    if (DR_RCODE(flags) != DR_RCODE_NOERROR)
        return "lame";
    if (an > 0)
        return it->up_minimised ? "minimised" : "answer";
    if (ns > 0 && !(flags & DR_FLAG_AA))
        return "referral";
    return "nodata";
}

void
dr_trace_reply(const struct dr_worker *wk, const struct dr_iter *it, int outcome,
               const uint8_t *reply, size_t len, uint32_t rtt_ms)
{
    char zone[2 * DR_NAME_STRLEN], server[DC_ADDR_STRLEN];
    if (!it->traced)
        return;
    name_json(it->deleg.zone, zone, sizeof(zone));
    const union dc_sockaddr *sa = &it->deleg.ns[it->up_ns].addrs[it->up_addr];
    ip_of(sa, server, sizeof(server));
    bool got = outcome == DR_ITER_REPLY && reply && len >= DR_HEADER_LEN;
    uint16_t flags = got ? dr_get16(reply + 2) : 0;
    dc_trace_emit((int)wk->id, "dns.reply", "",
                  "\"res\":%llu,\"server\":\"%s\",\"zone\":\"%s\",\"rtt_ms\":%u,\"outcome\":\"%s\","
                  "\"rcode\":%u,\"aa\":%s,\"tc\":%s,\"an\":%u,\"ns\":%u,\"kind\":\"%s\"",
                  (unsigned long long)it->id, server, zone, rtt_ms,
                  outcome == DR_ITER_REPLY     ? "reply"
                  : outcome == DR_ITER_TIMEOUT ? "timeout"
                                               : "neterr",
                  DR_RCODE(flags), (flags & DR_FLAG_AA) ? "true" : "false",
                  (flags & DR_FLAG_TC) ? "true" : "false", got ? dr_get16(reply + 6) : 0u,
                  got ? dr_get16(reply + 8) : 0u,
                  got                          ? reply_kind(reply, len, it)
                  : outcome == DR_ITER_TIMEOUT ? "timeout"
                                               : "neterr");
}
