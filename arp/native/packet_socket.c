/*
 * AF_PACKET sockets for l2lb's ARP and NDP responders, as a plain C N-API addon.
 *
 * Why AF_PACKET for both protocols: the addresses we answer for are not configured on any interface, so
 * the kernel's ARP and NDP code never sees them as ours; a packet socket sees every frame of one
 * ethertype on one interface and lets us send whole Ethernet frames with our own MAC and hop limit 255.
 *
 * JS surface (wrapped by arp/packet-socket.ts, which is the only caller):
 *   open(ifindex, ethertype) -> handle            bound, non-blocking, close-on-exec
 *   send(handle, frame) -> bytes sent
 *   addMulticast(handle, ifindex, mac)            PACKET_ADD_MEMBERSHIP / PACKET_MR_MULTICAST
 *   dropMulticast(handle, ifindex, mac)           PACKET_DROP_MEMBERSHIP
 *   setFilter(handle, program)                    SO_ATTACH_FILTER, 8 bytes per classic BPF instruction
 *   setArpAnswers(handle, mac, addresses)         ARP fast path: answer requests for these in C
 *   start(handle, onFrames(frames, answered?))    readiness via uv_poll, frames delivered in batches
 *   stats(handle) -> { packets, drops }           PACKET_STATISTICS (resets the kernel's counters)
 *   close(handle)
 */
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One readiness wake-up reads at most this many frames, so a flood cannot starve the event loop. */
#define BATCH_MAX 64
#define FRAME_MAX 2048

typedef struct {
  int fd;
  int polling;      /* uv_poll started */
  int closing;      /* close() called; the struct lives until uv_close's callback */
  int finalized;    /* the JS handle was collected */
  uv_poll_t poll;
  napi_env env;
  napi_ref on_frames;
  napi_async_context async_context;
  /* ARP fast path (see setArpAnswers): the interface MAC and the IPv4 addresses to answer, network order. */
  unsigned char arp_mac[6];
  uint32_t* arp_addresses;
  size_t arp_count;
} packet_socket;

static int throw_errno(napi_env env, const char* what) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, "ERR_PACKET_SOCKET", message);
  return -1;
}

#define CALL(env, call)                                                            \
  do {                                                                             \
    if ((call) != napi_ok) {                                                       \
      const napi_extended_error_info* info = NULL;                                 \
      napi_get_last_error_info((env), &info);                                      \
      bool pending = false;                                                        \
      napi_is_exception_pending((env), &pending);                                  \
      if (!pending) napi_throw_error((env), NULL, info && info->error_message ? info->error_message : "napi call failed"); \
      return NULL;                                                                 \
    }                                                                              \
  } while (0)

static void free_if_done(packet_socket* s) {
  if (s->finalized && (!s->polling || s->closing == 2)) free(s);
}

static void on_poll_closed(uv_handle_t* handle) {
  packet_socket* s = (packet_socket*)handle->data;
  s->closing = 2;
  free_if_done(s);
}

static void release(packet_socket* s, napi_env env) {
  if (s->fd < 0) return;
  if (s->polling) {
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t*)&s->poll, on_poll_closed);
    s->closing = 1;
  }
  close(s->fd);
  s->fd = -1;
  if (env != NULL) {
    if (s->on_frames != NULL) napi_delete_reference(env, s->on_frames);
    if (s->async_context != NULL) napi_async_destroy(env, s->async_context);
  }
  s->on_frames = NULL;
  s->async_context = NULL;
}

static void finalize(napi_env env, void* data, void* hint) {
  packet_socket* s = (packet_socket*)data;
  release(s, env);
  free(s->arp_addresses);
  s->arp_addresses = NULL;
  s->finalized = 1;
  free_if_done(s);
}

static packet_socket* unwrap(napi_env env, napi_value value) {
  void* data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a packet socket handle");
    return NULL;
  }
  packet_socket* s = (packet_socket*)data;
  if (s->fd < 0) {
    napi_throw_error(env, "ERR_PACKET_SOCKET_CLOSED", "packet socket is closed");
    return NULL;
  }
  return s;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t ifindex = 0, ethertype = 0;
  CALL(env, napi_get_value_int32(env, argv[0], &ifindex));
  CALL(env, napi_get_value_int32(env, argv[1], &ethertype));

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons((uint16_t)ethertype));
  if (fd < 0) { throw_errno(env, "socket(AF_PACKET)"); return NULL; }
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons((uint16_t)ethertype);
  addr.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    throw_errno(env, "bind(AF_PACKET)");
    return NULL;
  }
  /* A flood of requests arrives faster than one event-loop turn drains it: 2 MB holds a few thousand
   * small frames (each costs ~700 bytes of truesize) where the 208 KB default holds ~300. FORCE needs
   * CAP_NET_ADMIN, which a responder has; without it the kernel caps SO_RCVBUF at rmem_max. */
  int receive_buffer = 2 * 1024 * 1024;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  packet_socket* s = calloc(1, sizeof *s);
  if (s == NULL) { close(fd); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  s->fd = fd;
  s->env = env;
  napi_value handle;
  if (napi_create_external(env, s, finalize, NULL, &handle) != napi_ok) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "napi_create_external failed");
    return NULL;
  }
  return handle;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  void* data = NULL;
  size_t length = 0;
  CALL(env, napi_get_buffer_info(env, argv[1], &data, &length));
  ssize_t sent = send(s->fd, data, length, 0);
  if (sent < 0) { throw_errno(env, "send(AF_PACKET)"); return NULL; }
  napi_value result;
  CALL(env, napi_create_int32(env, (int32_t)sent, &result));
  return result;
}

/* PACKET_ADD_MEMBERSHIP or PACKET_DROP_MEMBERSHIP of one link-layer multicast address on one interface. */
static napi_value change_multicast(napi_env env, napi_callback_info info, int option, const char* what) {
  size_t argc = 3;
  napi_value argv[3];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  int32_t ifindex = 0;
  CALL(env, napi_get_value_int32(env, argv[1], &ifindex));
  void* mac = NULL;
  size_t length = 0;
  CALL(env, napi_get_buffer_info(env, argv[2], &mac, &length));
  if (length != 6) { napi_throw_range_error(env, NULL, "a MAC address is 6 bytes"); return NULL; }
  struct packet_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  mreq.mr_ifindex = ifindex;
  mreq.mr_type = PACKET_MR_MULTICAST;
  mreq.mr_alen = 6;
  memcpy(mreq.mr_address, mac, 6);
  if (setsockopt(s->fd, SOL_PACKET, option, &mreq, sizeof mreq) < 0) {
    throw_errno(env, what);
    return NULL;
  }
  return NULL;
}

static napi_value js_add_multicast(napi_env env, napi_callback_info info) {
  return change_multicast(env, info, PACKET_ADD_MEMBERSHIP, "setsockopt(PACKET_ADD_MEMBERSHIP)");
}

static napi_value js_drop_multicast(napi_env env, napi_callback_info info) {
  return change_multicast(env, info, PACKET_DROP_MEMBERSHIP, "setsockopt(PACKET_DROP_MEMBERSHIP)");
}

static napi_value js_set_filter(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  void* data = NULL;
  size_t length = 0;
  CALL(env, napi_get_buffer_info(env, argv[1], &data, &length));
  if (length == 0 || length % sizeof(struct sock_filter) != 0 || length / sizeof(struct sock_filter) > 4096) {
    napi_throw_range_error(env, NULL, "a BPF program is 1..4096 instructions of 8 bytes");
    return NULL;
  }
  /* Copy: the JS buffer is not guaranteed to be aligned for struct sock_filter. */
  struct sock_filter* program = malloc(length);
  if (program == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  memcpy(program, data, length);
  struct sock_fprog fprog = { .len = (unsigned short)(length / sizeof(struct sock_filter)), .filter = program };
  int rc = setsockopt(s->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog);
  free(program);
  if (rc < 0) { throw_errno(env, "setsockopt(SO_ATTACH_FILTER)"); return NULL; }
  return NULL;
}

/*
 * The ARP fast path: a request for an address in the table is answered here, in the receive loop, before
 * any JavaScript runs. The rule is exactly answerArp's in arp/replies.ts (which stays the reference and
 * handles everything this does not); the frame still goes to JS, flagged, so JS counts it. Why: a reply
 * through JS costs ~30 µs more per request on a cold cache, which is most of the gap to the kernel
 * (bench/arp.ts measures both paths). Returns 1 when a reply was sent.
 */
static int answer_arp_request(packet_socket* s, const unsigned char* frame, ssize_t length) {
  static const unsigned char broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  if (s->arp_count == 0 || length < 42) return 0;
  if (frame[12] != 0x08 || frame[13] != 0x06) return 0;                       /* ARP */
  if (frame[14] != 0 || frame[15] != 1 || frame[16] != 0x08 || frame[17] != 0) return 0; /* Ethernet, IPv4 */
  if (frame[18] != 6 || frame[19] != 4 || frame[20] != 0 || frame[21] != 1) return 0;   /* 6/4, request */
  if (memcmp(frame, broadcast, 6) != 0 && memcmp(frame, s->arp_mac, 6) != 0) return 0;
  if ((frame[6] & 1) != 0 || (frame[22] & 1) != 0) return 0;                  /* multicast senders: JS drops */
  uint32_t target;
  memcpy(&target, frame + 38, 4);
  size_t i = 0;
  while (i < s->arp_count && s->arp_addresses[i] != target) i++;
  if (i == s->arp_count) return 0;
  unsigned char reply[42];
  memcpy(reply, frame + 22, 6);            /* to the requester's hardware address */
  memcpy(reply + 6, s->arp_mac, 6);
  memcpy(reply + 12, frame + 12, 8);       /* ARP, Ethernet, IPv4, 6, 4 */
  reply[20] = 0;
  reply[21] = 2;                           /* reply */
  memcpy(reply + 22, s->arp_mac, 6);
  memcpy(reply + 28, frame + 38, 4);       /* the address asked about is at our MAC */
  memcpy(reply + 32, frame + 22, 10);      /* back to the requester's MAC and IP */
  return send(s->fd, reply, sizeof reply, 0) == (ssize_t)sizeof reply;
}

static void on_readable(uv_poll_t* handle, int status, int events) {
  packet_socket* s = (packet_socket*)handle->data;
  if (s->fd < 0 || s->on_frames == NULL) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;

  napi_value frames, answered = NULL;
  napi_create_array(env, &frames);
  if (s->arp_count > 0) napi_create_array(env, &answered);
  uint32_t count = 0;
  unsigned char buffer[FRAME_MAX];
  for (int i = 0; i < BATCH_MAX; i++) {
    struct sockaddr_ll from;
    socklen_t from_length = sizeof from;
    ssize_t n = recvfrom(s->fd, buffer, sizeof buffer, MSG_DONTWAIT, (struct sockaddr*)&from, &from_length);
    if (n < 0) break; /* EAGAIN: drained; anything else: try again on the next wake-up */
    /* Our own transmissions come back to a packet socket as PACKET_OUTGOING: never answer ourselves. */
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    int replied = answer_arp_request(s, buffer, n);
    napi_value frame;
    if (napi_create_buffer_copy(env, (size_t)n, buffer, NULL, &frame) != napi_ok) break;
    if (answered != NULL) {
      napi_value flag;
      napi_get_boolean(env, replied, &flag);
      napi_set_element(env, answered, count, flag);
    }
    napi_set_element(env, frames, count++, frame);
  }
  if (count > 0) {
    napi_value callback, receiver, result, argv[2];
    napi_get_reference_value(env, s->on_frames, &callback);
    napi_get_global(env, &receiver); /* make_callback needs an object receiver */
    argv[0] = frames;
    if (answered != NULL) argv[1] = answered;
    else napi_get_undefined(env, &argv[1]);
    /* make_callback (not call_function) so promise jobs and nextTicks queued by JS run after each batch. */
    napi_make_callback(env, s->async_context, receiver, callback, 2, argv, &result);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  if (s->polling) { napi_throw_error(env, NULL, "packet socket already started"); return NULL; }
  napi_valuetype type;
  CALL(env, napi_typeof(env, argv[1], &type));
  if (type != napi_function) { napi_throw_type_error(env, NULL, "onFrames must be a function"); return NULL; }
  struct uv_loop_s* loop = NULL;
  CALL(env, napi_get_uv_event_loop(env, &loop));
  napi_value resource, name;
  CALL(env, napi_create_object(env, &resource));
  CALL(env, napi_create_string_utf8(env, "l2lb:PacketSocket", NAPI_AUTO_LENGTH, &name));
  CALL(env, napi_async_init(env, resource, name, &s->async_context));
  CALL(env, napi_create_reference(env, argv[1], 1, &s->on_frames));
  if (uv_poll_init(loop, &s->poll, s->fd) != 0) { napi_throw_error(env, NULL, "uv_poll_init failed"); return NULL; }
  s->poll.data = s;
  s->polling = 1;
  if (uv_poll_start(&s->poll, UV_READABLE, on_readable) != 0) {
    napi_throw_error(env, NULL, "uv_poll_start failed");
    return NULL;
  }
  return NULL;
}

/* setArpAnswers(handle, mac, addresses): addresses is 4 bytes per IPv4 address; empty turns the fast path off. */
static napi_value js_set_arp_answers(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  void* mac = NULL;
  void* addresses = NULL;
  size_t mac_length = 0, length = 0;
  CALL(env, napi_get_buffer_info(env, argv[1], &mac, &mac_length));
  CALL(env, napi_get_buffer_info(env, argv[2], &addresses, &length));
  if (mac_length != 6 || length % 4 != 0) {
    napi_throw_range_error(env, NULL, "setArpAnswers needs a 6-byte MAC and 4 bytes per address");
    return NULL;
  }
  uint32_t* table = NULL;
  if (length > 0) {
    table = malloc(length);
    if (table == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
    memcpy(table, addresses, length);
  }
  free(s->arp_addresses);
  s->arp_addresses = table;
  s->arp_count = length / 4;
  memcpy(s->arp_mac, mac, 6);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  struct tpacket_stats stats;
  socklen_t length = sizeof stats;
  if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) < 0) {
    throw_errno(env, "getsockopt(PACKET_STATISTICS)");
    return NULL;
  }
  napi_value result, packets, drops;
  CALL(env, napi_create_object(env, &result));
  CALL(env, napi_create_uint32(env, stats.tp_packets, &packets));
  CALL(env, napi_create_uint32(env, stats.tp_drops, &drops));
  CALL(env, napi_set_named_property(env, result, "packets", packets));
  CALL(env, napi_set_named_property(env, result, "drops", drops));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data = NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a packet socket handle");
    return NULL;
  }
  release((packet_socket*)data, env); /* idempotent */
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL },
    { "addMulticast", NULL, js_add_multicast, NULL, NULL, NULL, napi_enumerable, NULL },
    { "dropMulticast", NULL, js_drop_multicast, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setFilter", NULL, js_set_filter, NULL, NULL, NULL, napi_enumerable, NULL },
    { "start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setArpAnswers", NULL, js_set_arp_answers, NULL, NULL, NULL, napi_enumerable, NULL },
    { "stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  CALL(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
