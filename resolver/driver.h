/*
 * The mesh's hands on a worker's loop: carries out the SEND actions of resolver/mesh.c with
 * resolver/upstream.c and the worker's pool of upstream sockets, caps the upstream sockets
 * a worker has open (outgoing-range), gives
 * the mesh its environment (configuration, caches, the wall and loop clocks, the worker's
 * random source), counts, and runs the tick that enforces resolution deadlines.
 */
#ifndef DUET_RESOLVER_DRIVER_H
#define DUET_RESOLVER_DRIVER_H

struct dr_worker;

/* Creates wk->mesh and starts the deadline tick. 0 or a negative errno. */
int dr_driver_start(struct dr_worker *wk);
/* Closes the tick timer and the upstream pool's idle sockets (the loop can then end once
 * the mesh is empty). */
void dr_driver_close(struct dr_worker *wk);
/* Frees the mesh and the upstream pool (after the loop has ended). */
void dr_driver_free(struct dr_worker *wk);

#endif
