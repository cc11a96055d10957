/* See fast_path.h. Each check names the line of arp/replies.ts or arp/ndp-codec.ts it mirrors. */
#include "fast_path.h"

#include <stdlib.h>
#include <string.h>

static size_t sort_width; /* qsort has no context argument; tables are built on the main thread only */

static int compare_address(const void* a, const void* b) { return memcmp(a, b, sort_width); }

answer_table* answer_table_new(const unsigned char mac[6], const unsigned char* addresses, size_t count, size_t width) {
  answer_table* table = malloc(sizeof *table + count * width);
  if (table == NULL) return NULL;
  memcpy(table->mac, mac, 6);
  table->count = count;
  table->width = width;
  if (count > 0) {
    memcpy(table->addresses, addresses, count * width);
    sort_width = width;
    qsort(table->addresses, count, width, compare_address);
  }
  return table;
}

static int announced(const answer_table* table, const unsigned char* address, size_t width) {
  if (table == NULL || table->count == 0 || table->width != width) return 0;
  size_t low = 0, high = table->count;
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    int order = memcmp(table->addresses + middle * width, address, width);
    if (order == 0) return 1;
    if (order < 0) low = middle + 1;
    else high = middle;
  }
  return 0;
}

static const unsigned char BROADCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

size_t answer_arp(const answer_table* table, const unsigned char* frame, size_t length, unsigned char reply[42]) {
  if (table == NULL || table->count == 0 || length < 42) return 0;
  if (frame[12] != 0x08 || frame[13] != 0x06) return 0;                                  /* ARP */
  if (frame[14] != 0 || frame[15] != 1 || frame[16] != 0x08 || frame[17] != 0) return 0; /* Ethernet, IPv4 */
  if (frame[18] != 6 || frame[19] != 4 || frame[20] != 0 || frame[21] != 1) return 0;   /* 6/4, request */
  if (memcmp(frame, BROADCAST, 6) != 0 && memcmp(frame, table->mac, 6) != 0) return 0;   /* "sent to another station" */
  if ((frame[6] & 1) != 0 || (frame[22] & 1) != 0) return 0;                             /* multicast sender: JS drops */
  if (!announced(table, frame + 38, 4)) return 0;
  memcpy(reply, frame + 22, 6);       /* to the requester's hardware address */
  memcpy(reply + 6, table->mac, 6);
  memcpy(reply + 12, frame + 12, 8);  /* ARP, Ethernet, IPv4, 6, 4 */
  reply[20] = 0;
  reply[21] = 2;                      /* reply */
  memcpy(reply + 22, table->mac, 6);
  memcpy(reply + 28, frame + 38, 4);  /* the address asked about is at our MAC */
  memcpy(reply + 32, frame + 22, 10); /* back to the requester's MAC and IP */
  return 42;
}

/* One's-complement sum of big-endian 16-bit words (checksum.ts's onesComplementSum), not folded. */
static uint32_t sum16(const unsigned char* bytes, size_t length, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < length; i += 2) sum += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
  if (i < length) sum += (uint32_t)bytes[i] << 8;
  return sum;
}

static uint16_t fold(uint32_t sum) {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* The pseudo-header (RFC 8200 §8.1) plus the message. */
static uint16_t icmpv6_sum(const unsigned char* source, const unsigned char* destination, const unsigned char* message, size_t length) {
  uint32_t sum = sum16(source, 16, 0);
  sum = sum16(destination, 16, sum);
  sum += (uint32_t)(length >> 16) + (uint32_t)(length & 0xffff);
  sum += 58;
  return fold(sum16(message, length, sum));
}

static int all_zero(const unsigned char* bytes, size_t length) {
  for (size_t i = 0; i < length; i++) if (bytes[i] != 0) return 0;
  return 1;
}

static int is_solicited_node_of(const unsigned char* address, const unsigned char* target) {
  static const unsigned char prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
  return memcmp(address, prefix, 13) == 0 && memcmp(address + 13, target + 13, 3) == 0;
}

size_t answer_neighbor_solicitation(const answer_table* table, const unsigned char* frame, size_t length, unsigned char reply[86]) {
  static const unsigned char all_nodes[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
  static const unsigned char all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
  if (table == NULL || table->count == 0 || length < 14 + 40) return 0;
  if (frame[12] != 0x86 || frame[13] != 0xdd) return 0;                 /* IPv6 (a VLAN tag: not ours) */
  const unsigned char* ip = frame + 14;
  if ((ip[0] >> 4) != 6) return 0;
  size_t payload = (size_t)(ip[4] << 8 | ip[5]);
  if (40 + payload > length - 14) return 0;                             /* runs past the frame; padding is fine */
  if (ip[6] != 58) return 0;                                            /* ICMPv6 right after the header */
  const unsigned char* message = ip + 40;
  if (payload < 24 || message[0] != 135) return 0;                      /* a solicitation of >= 24 bytes */
  if (ip[7] != 255 || message[1] != 0) return 0;                        /* §7.1.1: hop limit 255, code 0 */
  if (icmpv6_sum(ip + 8, ip + 24, message, payload) != 0xffff) return 0;
  /* Options: 8-byte units, none of length 0, none past the message; the first SLLA must be one unit. */
  const unsigned char* slla = NULL;
  for (size_t offset = 24; offset < payload;) {
    if (payload - offset < 2) return 0;
    size_t units = message[offset + 1];
    if (units == 0 || offset + units * 8 > payload) return 0;
    if (message[offset] == 1 && slla == NULL) {
      if (units != 1) return 0;
      slla = message + offset + 2;
    }
    offset += units * 8;
  }
  const unsigned char* target = message + 8;
  if (target[0] == 0xff) return 0;                                      /* multicast target */
  int unspecified = all_zero(ip + 8, 16);
  if (unspecified && (!is_solicited_node_of(ip + 24, target) || slla != NULL)) return 0; /* DAD rules */
  if ((frame[6] & 1) != 0) return 0;                                    /* multicast Ethernet source */
  if (!announced(table, target, 16)) return 0;
  if (!is_solicited_node_of(ip + 24, target) && memcmp(ip + 24, target, 16) != 0) return 0;

  /* A solicited NA (§7.2.4): S and O, never R; a DAD probe is answered to all nodes with S clear. */
  memset(reply, 0, 86);
  memcpy(reply, unspecified ? all_nodes_mac : (slla != NULL ? slla : frame + 6), 6);
  memcpy(reply + 6, table->mac, 6);
  reply[12] = 0x86;
  reply[13] = 0xdd;
  unsigned char* out = reply + 14;
  out[0] = 0x60;
  out[5] = 32;                                                          /* payload: 24 + one 8-byte option */
  out[6] = 58;
  out[7] = 255;
  memcpy(out + 8, target, 16);                                          /* from the address we answer as */
  memcpy(out + 24, unspecified ? all_nodes : ip + 8, 16);
  unsigned char* na = out + 40;
  na[0] = 136;
  na[4] = (unsigned char)((unspecified ? 0 : 0x40) | 0x20);
  memcpy(na + 8, target, 16);
  na[24] = 2;                                                           /* Target Link-Layer Address */
  na[25] = 1;
  memcpy(na + 26, table->mac, 6);
  uint16_t checksum = (uint16_t)~icmpv6_sum(out + 8, out + 24, na, 32);
  na[2] = (unsigned char)(checksum >> 8);
  na[3] = (unsigned char)(checksum & 0xff);
  return 86;
}
