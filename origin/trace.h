/*
 * What duet-origin writes to the flow trace (common/trace.h has the schema): the accepted
 * connection with its TCP figures and socket options, the TLS handshake, each HTTP request,
 * and the teardown (who sent the first FIN, FIN or RST, the TCP state at close, which side
 * keeps TIME_WAIT). A connection is traced when tracing was on and the client filter let it
 * through at accept, and (name filter) its SNI or Host matches; the call sites test
 * c->traced, one predictable branch while tracing is off.
 */
#ifndef DUET_ORIGIN_TRACE_H
#define DUET_ORIGIN_TRACE_H

struct dw_conn;

/* Connects the TLS layer's ClientHello report (tls.hello) to the trace; once, at start. */
void dw_trace_init(void);
/* At accept; sets c->traced. */
void dw_trace_accept(struct dw_conn *c);
/* The handshake is complete. */
void dw_trace_tls(struct dw_conn *c);
/* A response is out. */
void dw_trace_request(struct dw_conn *c);
/* The connection closes now (its socket still open). */
void dw_trace_close(struct dw_conn *c);

#endif
