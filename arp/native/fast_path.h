/*
 * The native reply rules: ARP requests and IPv6 Neighbor Solicitations answered from a table, with exactly
 * the rules of answerArp and answerNeighborSolicitation in arp/replies.ts (which stay the reference and
 * decide everything these return 0 for). Pure functions over bytes: no sockets, no N-API, no locks, so
 * the receive thread can call them and a reader can hold them beside the TypeScript line by line.
 */
#ifndef L2LB_FAST_PATH_H
#define L2LB_FAST_PATH_H

#include <stddef.h>
#include <stdint.h>

/* An immutable answer table: readers get a pointer under the socket's lock and keep it while they use it. */
typedef struct {
  unsigned char mac[6];
  size_t count;
  size_t width;               /* 4 (IPv4) or 16 (IPv6) bytes per address */
  unsigned char addresses[];  /* count * width bytes, sorted with memcmp for bsearch */
} answer_table;

/* Builds a sorted table; NULL when out of memory. `addresses` is count * width bytes. */
answer_table* answer_table_new(const unsigned char mac[6], const unsigned char* addresses, size_t count, size_t width);

/* ARP: writes a 42-byte reply into `reply` and returns its length, or returns 0 (not ours to decide). */
size_t answer_arp(const answer_table* table, const unsigned char* frame, size_t length, unsigned char reply[42]);

/* NDP: writes an 86-byte solicited NA into `reply` and returns its length, or returns 0. */
size_t answer_neighbor_solicitation(const answer_table* table, const unsigned char* frame, size_t length, unsigned char reply[86]);

#endif
