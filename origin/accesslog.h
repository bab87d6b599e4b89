/*
 * The access log: one line per finished request (client, site, method, path, status, bytes,
 * duration, TLS version and resumption), written with one write(2) to the worker's access-log
 * descriptor (access-log = PATH | stderr | off). The flow trace's http.request event
 * (origin/trace.c) is the same request in JSON, written only while tracing is on.
 */
#ifndef DUET_ORIGIN_ACCESSLOG_H
#define DUET_ORIGIN_ACCESSLOG_H

struct dw_conn;

/* Logs c's request as its response ends; nothing when the access log is off. */
void dw_access_log(const struct dw_conn *c);

#endif
