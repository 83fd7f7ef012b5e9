/*
 * health_http.h: the routes every service has, example or not.
 *
 *   GET /healthz       -> 200 {"status":"ok"}          liveness on the public port
 *   GET /api/v1/time   -> 200 {"time":"<RFC 3339>"}    a sample route that reads a
 *                                                      domain port (the wall clock)
 *
 * The sample route shows the shape of every handler: a port injected by
 * main.c, JSON out through the platform's writer. Start a new endpoint by
 * copying it.
 *
 * Lifetimes: `api` must outlive the router; handlers only read it.
 */
#ifndef HEXSVC_ADAPTERS_HTTP_HEALTH_HTTP_H
#define HEXSVC_ADAPTERS_HTTP_HEALTH_HTTP_H

#include "domain/wall_clock.h"

struct http_router;

struct health_http {
    struct wall_clock clock;
};

/* Registers both routes. 0, or the router's negative errno. */
int health_http_register(struct health_http *api, struct http_router *router);

#endif
