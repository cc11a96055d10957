/*
 * AF_PACKET sockets for l2lb's ARP and NDP responders, as a plain C N-API addon.
 *
 * Why AF_PACKET for both protocols: the addresses we answer for are not configured on any interface, so
 * the kernel's ARP and NDP code never sees them as ours; a packet socket sees every frame of one
 * ethertype on one interface and lets us send whole Ethernet frames with our own MAC and hop limit 255.
 *
 * Why a thread per socket: a reply decided on the JS event loop waits for the loop to wake and for
 * whatever JavaScript runs at that moment (a recompute, GC); issue 16 measured 4x the kernel that way.
 * Each socket's thread blocks in poll(), reads with recvmmsg, answers requests for addresses in its
 * answer table at once (fast_path.c, the rules of arp/replies.ts), and queues every frame for JS,
 * flagged when answered, so JS counts them and decides the rest. Only the main thread calls napi_*:
 * the thread hands over through a mutex-guarded queue and uv_async_send.
 *
 * Faults are reported where they happen: an error the kernel sets on the socket (ENETDOWN when the
 * device goes down or away) wakes poll with POLLERR; the thread reads and clears it (SO_ERROR), keeps
 * polling (the kernel re-hooks a bound packet socket when its device comes back up) and hands the
 * error to JS's onError, which repairs (arp/responder.ts, arp/announcer.ts).
 *
 * JS surface (wrapped by arp/packet-socket.ts, which is the only caller):
 *   open(ifindex, ethertype, flags) -> handle     bound, non-blocking, close-on-exec; flags 1: PACKET_QDISC_BYPASS
 *   send(handle, frame) -> bytes sent
 *   addMulticast(handle, ifindex, mac)            PACKET_ADD_MEMBERSHIP / PACKET_MR_MULTICAST
 *   dropMulticast(handle, ifindex, mac)           PACKET_DROP_MEMBERSHIP
 *   setFilter(handle, program)                    SO_ATTACH_FILTER, 8 bytes per classic BPF instruction
 *   setAnswers(handle, mac, addresses, width)     the fast path's table (width 4: ARP, 16: NDP); empty: off
 *   start(handle, onFrames(frames, answered), onError(code, message))
 *   stats(handle) -> { packets, drops, answered, handoffDrops, receiveBuffer, receiveBufferForced }
 *   close(handle)
 *   decide(mac, addresses, width, frame) -> reply | null   the thread's rule alone, for unit tests
 */
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fast_path.h"
#include "napi_util.h"

/* One recvmmsg reads at most this many frames: one syscall per burst, small enough to stay in cache. */
#define BATCH_MAX 64
#define FRAME_MAX 2048
/*
 * Frames waiting for JS. A main thread stalled for 100 ms under a 50,000/s flood leaves 5,000 here; past
 * this, frames are dropped from the hand-over only (answered ones were answered; handoffDrops counts).
 */
#define QUEUE_MAX 16384
/* One JS callback gets at most this many frames, so a backlog cannot hold the event loop for long. */
#define DELIVER_MAX 1024

typedef struct queued_frame {
  struct queued_frame* next;
  uint32_t length;
  uint8_t answered;
  unsigned char bytes[];
} queued_frame;

typedef struct {
  int fd;
  int wake_fd;             /* eventfd: tells the thread to stop */
  int ethertype;
  pthread_t thread;
  int thread_running;
  pthread_mutex_t lock;    /* guards everything down to `pending_error` */
  answer_table* table;
  queued_frame* head;
  queued_frame* tail;
  size_t queued;
  uint64_t handoff_drops;
  uint64_t answered;
  int pending_error;
  uv_async_t async;
  int async_live;          /* uv_async initialised and not yet closed */
  int finalized;           /* the JS handle was collected */
  napi_env env;
  napi_ref on_frames;
  napi_ref on_error;
  napi_async_context async_context;
  int receive_buffer;
  int receive_buffer_forced;
} packet_socket;

static void free_queue(packet_socket* s) {
  queued_frame* frame = s->head;
  while (frame != NULL) {
    queued_frame* next = frame->next;
    free(frame);
    frame = next;
  }
  s->head = s->tail = NULL;
  s->queued = 0;
}

static void destroy(packet_socket* s) {
  free_queue(s);
  free(s->table);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static void on_async_closed(uv_handle_t* handle) {
  packet_socket* s = (packet_socket*)handle->data;
  s->async_live = 0;
  if (s->finalized) destroy(s);
}

static void stop_thread(packet_socket* s) {
  if (!s->thread_running) return;
  uint64_t one = 1;
  ssize_t ignored = write(s->wake_fd, &one, sizeof one);
  (void)ignored;
  pthread_join(s->thread, NULL);
  s->thread_running = 0;
}

/* Stops the thread, closes the descriptors and the async handle; idempotent. Main thread only. */
static void release(packet_socket* s, napi_env env) {
  if (s->fd < 0) return;
  stop_thread(s);
  close(s->fd);
  s->fd = -1;
  if (s->wake_fd >= 0) close(s->wake_fd);
  s->wake_fd = -1;
  if (s->async_live) uv_close((uv_handle_t*)&s->async, on_async_closed);
  if (env != NULL) {
    if (s->on_frames != NULL) napi_delete_reference(env, s->on_frames);
    if (s->on_error != NULL) napi_delete_reference(env, s->on_error);
    if (s->async_context != NULL) napi_async_destroy(env, s->async_context);
  }
  s->on_frames = s->on_error = NULL;
  s->async_context = NULL;
}

static void finalize(napi_env env, void* data, void* hint) {
  packet_socket* s = (packet_socket*)data;
  release(s, env);
  s->finalized = 1;
  if (!s->async_live) destroy(s);
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

/* ---- the receive thread ------------------------------------------------------------------------ */

static void record_error(packet_socket* s, int error) {
  pthread_mutex_lock(&s->lock);
  if (s->pending_error == 0) s->pending_error = error;
  pthread_mutex_unlock(&s->lock);
  uv_async_send(&s->async);
}

/* Decides one frame under the lock (the table cannot be freed meanwhile); returns the reply's length or 0. */
static size_t decide(packet_socket* s, const unsigned char* frame, size_t length, unsigned char reply[86]) {
  size_t reply_length = 0;
  pthread_mutex_lock(&s->lock);
  if (s->table != NULL) {
    reply_length = s->ethertype == ETH_P_ARP ? answer_arp(s->table, frame, length, reply)
                                             : answer_neighbor_solicitation(s->table, frame, length, reply);
  }
  pthread_mutex_unlock(&s->lock);
  return reply_length;
}

static void* receive_loop(void* data) {
  packet_socket* s = (packet_socket*)data;
  unsigned char* buffers = malloc((size_t)BATCH_MAX * FRAME_MAX);
  struct mmsghdr messages[BATCH_MAX];
  struct iovec vectors[BATCH_MAX];
  struct sockaddr_ll sources[BATCH_MAX];
  if (buffers == NULL) { record_error(s, ENOMEM); return NULL; }
  struct pollfd fds[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = s->wake_fd, .events = POLLIN } };
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      record_error(s, errno);
      break;
    }
    if (fds[1].revents != 0) break;
    if (fds[0].revents & POLLNVAL) break;
    if (fds[0].revents & POLLERR) {
      int error = 0;
      socklen_t length = sizeof error;
      if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0) record_error(s, error);
    }
    if ((fds[0].revents & POLLIN) == 0) continue;
    for (int i = 0; i < BATCH_MAX; i++) {
      vectors[i].iov_base = buffers + (size_t)i * FRAME_MAX;
      vectors[i].iov_len = FRAME_MAX;
      memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = &sources[i];
      messages[i].msg_hdr.msg_namelen = sizeof sources[i];
    }
    int count = recvmmsg(s->fd, messages, BATCH_MAX, MSG_DONTWAIT, NULL);
    if (count < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        record_error(s, errno);
        usleep(1000); /* a socket that fails every read must not spin a core */
      }
      continue;
    }
    /* Decide the whole batch, send every reply with one sendmmsg, then flag what actually left. */
    struct mmsghdr replies[BATCH_MAX];
    struct iovec reply_vectors[BATCH_MAX];
    unsigned char reply_bytes[BATCH_MAX][86];
    int owner[BATCH_MAX];
    uint8_t flags[BATCH_MAX];
    int reply_count = 0;
    for (int i = 0; i < count; i++) {
      flags[i] = 0;
      /* Our own transmissions come back to a packet socket as PACKET_OUTGOING: never answer ourselves. */
      if (sources[i].sll_pkttype == PACKET_OUTGOING) continue;
      size_t length = messages[i].msg_len > FRAME_MAX ? FRAME_MAX : messages[i].msg_len;
      size_t reply_length = decide(s, buffers + (size_t)i * FRAME_MAX, length, reply_bytes[reply_count]);
      if (reply_length == 0) continue;
      reply_vectors[reply_count].iov_base = reply_bytes[reply_count];
      reply_vectors[reply_count].iov_len = reply_length;
      memset(&replies[reply_count].msg_hdr, 0, sizeof replies[reply_count].msg_hdr);
      replies[reply_count].msg_hdr.msg_iov = &reply_vectors[reply_count];
      replies[reply_count].msg_hdr.msg_iovlen = 1;
      owner[reply_count++] = i;
    }
    /* A reply that did not leave (ENOBUFS under a flood, ENETDOWN mid-flap) goes up unflagged: JS answers it. */
    int sent = reply_count > 0 ? sendmmsg(s->fd, replies, (unsigned)reply_count, MSG_DONTWAIT) : 0;
    for (int j = 0; j < sent; j++) flags[owner[j]] = 1;
    size_t answered = sent > 0 ? (size_t)sent : 0;
    queued_frame* first = NULL;
    queued_frame* last = NULL;
    size_t added = 0;
    for (int i = 0; i < count; i++) {
      if (sources[i].sll_pkttype == PACKET_OUTGOING) continue;
      size_t length = messages[i].msg_len > FRAME_MAX ? FRAME_MAX : messages[i].msg_len;
      queued_frame* frame = malloc(sizeof *frame + length);
      if (frame == NULL) continue;
      frame->next = NULL;
      frame->length = (uint32_t)length;
      frame->answered = flags[i];
      memcpy(frame->bytes, buffers + (size_t)i * FRAME_MAX, length);
      if (last == NULL) first = frame;
      else last->next = frame;
      last = frame;
      added++;
    }
    if (added == 0 && answered == 0) continue;
    pthread_mutex_lock(&s->lock);
    s->answered += answered;
    while (first != NULL && s->queued >= QUEUE_MAX) {
      queued_frame* next = first->next;
      free(first);
      first = next;
      added--;
      s->handoff_drops++;
    }
    if (first != NULL) {
      if (s->tail == NULL) s->head = first;
      else s->tail->next = first;
      s->tail = last;
      s->queued += added;
    }
    pthread_mutex_unlock(&s->lock);
    uv_async_send(&s->async);
  }
  free(buffers);
  return NULL;
}

/* ---- the hand-over to JS (main thread) -------------------------------------------------------- */

static const char* errno_code(int error) {
  switch (error) {
    case ENETDOWN: return "ENETDOWN";
    case ENXIO: return "ENXIO";
    case ENODEV: return "ENODEV";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case EBADF: return "EBADF";
    case EIO: return "EIO";
    default: return "EUNKNOWN";
  }
}

static void call_js(packet_socket* s, napi_ref reference, size_t argc, napi_value* argv) {
  napi_env env = s->env;
  napi_value callback, receiver, result;
  if (reference == NULL || napi_get_reference_value(env, reference, &callback) != napi_ok) return;
  napi_get_global(env, &receiver); /* make_callback needs an object receiver */
  /* make_callback (not call_function) so promise jobs and nextTicks queued by JS run after each batch. */
  napi_make_callback(env, s->async_context, receiver, callback, argc, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

static void on_async(uv_async_t* handle) {
  packet_socket* s = (packet_socket*)handle->data;
  if (s->fd < 0) return;
  pthread_mutex_lock(&s->lock);
  int error = s->pending_error;
  s->pending_error = 0;
  queued_frame* frame = s->head;
  size_t taken = 0;
  queued_frame* last = NULL;
  while (frame != NULL && taken < DELIVER_MAX) { last = frame; frame = frame->next; taken++; }
  queued_frame* batch = s->head;
  if (last != NULL) last->next = NULL;
  s->head = frame;
  if (frame == NULL) s->tail = NULL;
  s->queued -= taken;
  int more = s->head != NULL;
  pthread_mutex_unlock(&s->lock);
  if (more) uv_async_send(&s->async); /* the rest on the next turn: timers and I/O run in between */

  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (error != 0 && s->on_error != NULL) {
    napi_value argv[2];
    napi_create_string_utf8(env, errno_code(error), NAPI_AUTO_LENGTH, &argv[0]);
    napi_create_string_utf8(env, strerror(error), NAPI_AUTO_LENGTH, &argv[1]);
    call_js(s, s->on_error, 2, argv);
  }
  if (batch != NULL && s->fd >= 0 && s->on_frames != NULL) {
    napi_value frames, answered;
    napi_create_array_with_length(env, taken, &frames);
    napi_create_array_with_length(env, taken, &answered);
    uint32_t index = 0;
    for (queued_frame* f = batch; f != NULL; f = f->next, index++) {
      napi_value bytes, flag;
      if (napi_create_buffer_copy(env, f->length, f->bytes, NULL, &bytes) != napi_ok) break;
      napi_get_boolean(env, f->answered != 0, &flag);
      napi_set_element(env, frames, index, bytes);
      napi_set_element(env, answered, index, flag);
    }
    napi_value argv[2] = { frames, answered };
    call_js(s, s->on_frames, 2, argv);
  }
  while (batch != NULL) {
    queued_frame* next = batch->next;
    free(batch);
    batch = next;
  }
  napi_close_handle_scope(env, scope);
}

/* ---- JS functions ------------------------------------------------------------------------------ */

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t ifindex = 0, ethertype = 0, flags = 0;
  CALL(env, napi_get_value_int32(env, argv[0], &ifindex));
  CALL(env, napi_get_value_int32(env, argv[1], &ethertype));
  if (argc > 2) CALL(env, napi_get_value_int32(env, argv[2], &flags));

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
  /*
   * A flood arrives faster than one wake-up drains it: 2 MB holds a few thousand small frames (each
   * costs ~700 bytes of truesize) where the 208 KB default holds ~300. SO_RCVBUFFORCE needs
   * CAP_NET_ADMIN, which the speaker's DaemonSet does not grant (CAP_NET_RAW only): then SO_RCVBUF,
   * which the kernel caps at net.core.rmem_max. What we got is read back and reported in stats().
   */
  int wanted = 2 * 1024 * 1024, forced = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) < 0) {
    forced = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
  }
  int obtained = 0;
  socklen_t obtained_length = sizeof obtained;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &obtained, &obtained_length);
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
  /* Our own replies are not looped back to us (Linux >= 4.20): under a flood that halves what the
   * socket queues. Older kernels refuse it; the PACKET_OUTGOING check in the thread covers them. */
  int ignore_outgoing = 1;
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &ignore_outgoing, sizeof ignore_outgoing);
  if (flags & 1) {
    /* Replies skip the qdisc layer (bench/arp.ts measures whether that helps; off by default). */
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  }
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) { int saved = errno; close(fd); errno = saved; throw_errno(env, "eventfd"); return NULL; }
  packet_socket* s = calloc(1, sizeof *s);
  if (s == NULL) { close(fd); close(wake_fd); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  s->fd = fd;
  s->wake_fd = wake_fd;
  s->ethertype = ethertype;
  s->env = env;
  s->receive_buffer = obtained;
  s->receive_buffer_forced = forced;
  pthread_mutex_init(&s->lock, NULL);
  napi_value handle;
  if (napi_create_external(env, s, finalize, NULL, &handle) != napi_ok) {
    close(fd);
    close(wake_fd);
    destroy(s);
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
 * setAnswers(handle, mac, addresses, width): the whole table is rebuilt and swapped under the lock, so
 * the thread sees either the old or the new one, never a half-written one; once this returns, no reply
 * for a removed address leaves (the thread holds the lock from lookup to building the reply).
 */
static napi_value js_set_answers(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  void* mac = NULL;
  void* addresses = NULL;
  size_t mac_length = 0, length = 0;
  int32_t width = 0;
  CALL(env, napi_get_buffer_info(env, argv[1], &mac, &mac_length));
  CALL(env, napi_get_buffer_info(env, argv[2], &addresses, &length));
  CALL(env, napi_get_value_int32(env, argv[3], &width));
  if (mac_length != 6 || (width != 4 && width != 16) || length % (size_t)width != 0) {
    napi_throw_range_error(env, NULL, "setAnswers needs a 6-byte MAC and 4 or 16 bytes per address");
    return NULL;
  }
  answer_table* table = NULL;
  if (length > 0) {
    table = answer_table_new(mac, addresses, length / (size_t)width, (size_t)width);
    if (table == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  }
  pthread_mutex_lock(&s->lock);
  answer_table* old = s->table;
  s->table = table;
  pthread_mutex_unlock(&s->lock);
  free(old);
  return NULL;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket* s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  if (s->thread_running || s->async_live) { napi_throw_error(env, NULL, "packet socket already started"); return NULL; }
  napi_valuetype type, error_type;
  CALL(env, napi_typeof(env, argv[1], &type));
  CALL(env, napi_typeof(env, argv[2], &error_type));
  if (type != napi_function || error_type != napi_function) {
    napi_throw_type_error(env, NULL, "onFrames and onError must be functions");
    return NULL;
  }
  struct uv_loop_s* loop = NULL;
  CALL(env, napi_get_uv_event_loop(env, &loop));
  napi_value resource, name;
  CALL(env, napi_create_object(env, &resource));
  CALL(env, napi_create_string_utf8(env, "l2lb:PacketSocket", NAPI_AUTO_LENGTH, &name));
  CALL(env, napi_async_init(env, resource, name, &s->async_context));
  CALL(env, napi_create_reference(env, argv[1], 1, &s->on_frames));
  CALL(env, napi_create_reference(env, argv[2], 1, &s->on_error));
  if (uv_async_init(loop, &s->async, on_async) != 0) { napi_throw_error(env, NULL, "uv_async_init failed"); return NULL; }
  s->async.data = s;
  s->async_live = 1;
  if (pthread_create(&s->thread, NULL, receive_loop, s) != 0) {
    napi_throw_error(env, NULL, "pthread_create failed");
    return NULL;
  }
  s->thread_running = 1;
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
  pthread_mutex_lock(&s->lock);
  double answered = (double)s->answered, handoff_drops = (double)s->handoff_drops;
  pthread_mutex_unlock(&s->lock);
  napi_value result;
  CALL(env, napi_create_object(env, &result));
  CALL(env, set_number(env, result, "packets", stats.tp_packets));
  CALL(env, set_number(env, result, "drops", stats.tp_drops));
  CALL(env, set_number(env, result, "answered", answered));
  CALL(env, set_number(env, result, "handoffDrops", handoff_drops));
  CALL(env, set_number(env, result, "receiveBuffer", s->receive_buffer));
  napi_value forced;
  CALL(env, napi_get_boolean(env, s->receive_buffer_forced != 0, &forced));
  CALL(env, napi_set_named_property(env, result, "receiveBufferForced", forced));
  return result;
}

/*
 * decide(mac, addresses, width, frame) -> reply Buffer | null: the receive thread's rule on one frame,
 * without a socket, so unit tests compare it with answerArp/answerNeighborSolicitation frame for frame.
 */
static napi_value js_decide(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *mac = NULL, *addresses = NULL, *frame = NULL;
  size_t mac_length = 0, length = 0, frame_length = 0;
  int32_t width = 0;
  CALL(env, napi_get_buffer_info(env, argv[0], &mac, &mac_length));
  CALL(env, napi_get_buffer_info(env, argv[1], &addresses, &length));
  CALL(env, napi_get_value_int32(env, argv[2], &width));
  CALL(env, napi_get_buffer_info(env, argv[3], &frame, &frame_length));
  if (mac_length != 6 || (width != 4 && width != 16) || length % (size_t)width != 0) {
    napi_throw_range_error(env, NULL, "decide needs a 6-byte MAC and 4 or 16 bytes per address");
    return NULL;
  }
  answer_table* table = answer_table_new(mac, addresses, length / (size_t)width, (size_t)width);
  if (table == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  unsigned char reply[86];
  size_t reply_length = width == 4 ? answer_arp(table, frame, frame_length, reply) : answer_neighbor_solicitation(table, frame, frame_length, reply);
  free(table);
  napi_value result;
  if (reply_length == 0) CALL(env, napi_get_null(env, &result));
  else CALL(env, napi_create_buffer_copy(env, reply_length, reply, NULL, &result));
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

napi_value link_watch_init(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL },
    { "addMulticast", NULL, js_add_multicast, NULL, NULL, NULL, napi_enumerable, NULL },
    { "dropMulticast", NULL, js_drop_multicast, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setFilter", NULL, js_set_filter, NULL, NULL, NULL, napi_enumerable, NULL },
    { "start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setAnswers", NULL, js_set_answers, NULL, NULL, NULL, napi_enumerable, NULL },
    { "stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
    { "decide", NULL, js_decide, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  CALL(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return link_watch_init(env, exports);
}

NAPI_MODULE_INIT() { return init(env, exports); }
