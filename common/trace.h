/*
 * The flow trace: what the servers saw of one visitor's journey, as JSON lines, one event
 * per line, from both daemons, joined later by tools/duet-trace into a ladder, JSON or an
 * SVG sequence diagram (the DNS walk root -> TLD -> authoritative, the TCP handshake, TLS,
 * the HTTP exchange, the teardown and who keeps TIME_WAIT).
 *
 * Off by default; `duet-control trace on [client ADDR] [name NAME]` turns it on at run time
 * (`trace off` again), writing to trace-file. Off, an event site costs one predictable
 * branch on a global (DC_TRACE_ON); on, each event is formatted on the stack and written with
 * one write(2) to a file opened O_APPEND (whole lines from every worker thread).
 *
 * Every line has:   "t": wall-clock seconds (6 decimals), "d": "resolver" | "origin",
 *                   "w": worker number, "ev": the event's name, "client": the client's IP
 * and then the event's own fields. Events (fields beyond the common ones):
 *
 * resolver
 *   dns.query     port, tcp (bool), id, qname, qtype, do, cd         a client's question
 *   dns.cache     qname, qtype, result: hit|miss|stale|bogus         the cache's verdict
 *   dns.send      res, for, qname (as sent: minimised), qtype, server, zone, tcp, minimised
 *   dns.reply     res, server, zone, rtt_ms, outcome: reply|timeout|neterr, rcode, aa, tc,
 *                 an, ns (record counts), kind: referral|answer|minimised|nxdomain|nodata|
 *                 truncated|lame|timeout|neterr
 *   dns.answer    id, qname, qtype, rcode, ad, bytes, ms (since dns.query), stale, dnssec
 *                 (none|secure|insecure|bogus|indeterminate)
 *   (dns.send and dns.reply carry no client: a resolution may serve several; they are
 *   written for resolutions a traced client waits on and their sub-resolutions; "res" joins
 *   them, and "for" names the question the resolution is for)
 * origin
 *   tcp.accept    port, local, tls, rtt_us, retrans (TCP_INFO after the handshake),
 *                 fin_timeout, linger (-1: off), keepalive {idle,intvl,cnt} (-1: kernel default)
 *   tls.hello     port, sni, alpn (the protocols the client offered, a list)
 *   tls.done      port, sni, alpn (chosen), version, cipher, group, resumed, ms (since accept)
 *   http.request  port, n (request number on the connection), method, path, site, status,
 *                 bytes, ms
 *   tcp.close     port, by: server|client (who sent FIN first), how: fin|rst, state (TCP
 *                 state name when closed: e.g. FIN_WAIT1, CLOSE_WAIT), requests, rtt_us,
 *                 retrans, total_retrans, time_wait: server|client|none (who holds it)
 *
 * Filters: client ADDR keeps events of that client address only; name NAME keeps resolver
 * events of names at or below NAME and origin connections whose SNI or Host is NAME or below.
 */
#ifndef DUET_COMMON_TRACE_H
#define DUET_COMMON_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"

extern int dc_trace_enabled;

/* The one branch an event site pays while tracing is off. */
#define DC_TRACE_ON() __builtin_expect(__atomic_load_n(&dc_trace_enabled, __ATOMIC_RELAXED), 0)

/* Starts tracing into path (appended; created 0640), keeping only events of client (NULL:
 * any) and of names at or below name (NULL: any). 0 or -errno; why (whylen) says why. */
int dc_trace_start(const char *daemon, const char *path, const char *client, const char *name,
                   char *why, size_t whylen);
/* Stops tracing and closes the file. */
void dc_trace_stop(void);
/* What tracing does now, for status: "off" or "on file=... client=... name=...". */
void dc_trace_describe(char *out, size_t size);

/*
 * The control command both daemons offer: argv is "trace" then "on" [client ADDR] [name
 * NAME], "off", or nothing (status). Writes the reply (one line, starting "ok:" or
 * "error:") to msg. Returns 0 or -1 (an error).
 */
int dc_trace_command(const char *daemon, const char *path, int argc, char **argv, char *msg,
                     size_t msglen);

/* Whether events about this client address / this name (presentation form, with or without
 * the final dot) pass the filters. */
bool dc_trace_client(const union dc_sockaddr *client);
bool dc_trace_client_str(const char *ip);
bool dc_trace_name(const char *name);

/* Writes one event line: the common fields, then fields, a JSON fragment of the event's own
 * members without braces ("\"qname\":\"www.\",\"qtype\":1"), printf-style. */
void dc_trace_emit(int worker, const char *ev, const char *client_ip, const char *fields, ...)
    __attribute__((format(printf, 4, 5)));

/* A JSON string's contents for s (quotes and backslashes escaped, control bytes as \u00XX),
 * truncated to fit out (size bytes, NUL-terminated). */
void dc_trace_json(const char *s, char *out, size_t size);

#endif
