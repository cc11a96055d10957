/*
 * Link events from the kernel (rtnetlink, RTMGRP_LINK): a device that goes down or up, changes MAC or
 * master, or is removed and re-created says so here at once, so responders are repaired within
 * milliseconds instead of at the next 2 s rescan (issue 10). Delivery is on the main thread (uv_poll):
 * events only trigger a rescan in JS, which is cheap, and a few hundred microseconds of event-loop delay
 * do not matter against the 250 ms repair target.
 *
 *   watchLinks(onEvents([{ kind: 'new'|'del'|'resync', index, name, flags, type, mac, master }])) -> handle
 *     type: ARPHRD_*; mac: the link-layer address (Buffer) or null; master: the master's ifindex or 0
 *   closeLinkWatch(handle)
 *
 * 'resync' means events were lost (the socket overflowed, ENOBUFS): JS must rescan everything.
 */
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "napi_util.h"

typedef struct {
  int fd;
  uv_poll_t poll;
  int polling;
  int finalized;
  napi_env env;
  napi_ref on_events;
  napi_async_context async_context;
} link_watch;

static void on_poll_closed(uv_handle_t* handle) {
  link_watch* w = (link_watch*)handle->data;
  w->polling = 0;
  if (w->finalized) free(w);
}

static void release(link_watch* w, napi_env env) {
  if (w->fd < 0) return;
  if (w->polling) {
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t*)&w->poll, on_poll_closed);
  }
  close(w->fd);
  w->fd = -1;
  if (env != NULL) {
    if (w->on_events != NULL) napi_delete_reference(env, w->on_events);
    if (w->async_context != NULL) napi_async_destroy(env, w->async_context);
  }
  w->on_events = NULL;
  w->async_context = NULL;
}

static void finalize(napi_env env, void* data, void* hint) {
  link_watch* w = (link_watch*)data;
  release(w, env);
  w->finalized = 1;
  if (!w->polling) free(w);
}

static void push_event(napi_env env, napi_value events, uint32_t* count, const char* kind, int index, const char* name, unsigned flags,
                       int type, const unsigned char* mac, size_t mac_length, unsigned master) {
  napi_value event, value;
  napi_create_object(env, &event);
  napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, event, "kind", value);
  set_number(env, event, "index", index);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, event, "name", value);
  set_number(env, event, "flags", flags);
  set_number(env, event, "type", type);
  if (mac != NULL) napi_create_buffer_copy(env, mac_length, mac, NULL, &value);
  else napi_get_null(env, &value);
  napi_set_named_property(env, event, "mac", value);
  set_number(env, event, "master", master);
  napi_set_element(env, events, (*count)++, event);
}

static void parse(napi_env env, napi_value events, uint32_t* count, const char* buffer, ssize_t length) {
  for (const struct nlmsghdr* h = (const struct nlmsghdr*)buffer; NLMSG_OK(h, (unsigned)length); h = NLMSG_NEXT(h, length)) {
    if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) continue;
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) continue;
    const struct ifinfomsg* info = NLMSG_DATA(h);
    char name[IF_NAMESIZE + 1] = "";
    const unsigned char* mac = NULL;
    size_t mac_length = 0;
    unsigned master = 0;
    int attributes_length = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *info));
    for (const struct rtattr* a = IFLA_RTA(info); RTA_OK(a, attributes_length); a = RTA_NEXT(a, attributes_length)) {
      if (a->rta_type == IFLA_IFNAME) {
        size_t n = RTA_PAYLOAD(a) < IF_NAMESIZE ? RTA_PAYLOAD(a) : IF_NAMESIZE;
        memcpy(name, RTA_DATA(a), n);
        name[n] = '\0';
      } else if (a->rta_type == IFLA_ADDRESS) {
        mac = RTA_DATA(a);
        mac_length = RTA_PAYLOAD(a);
      } else if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= sizeof(unsigned)) {
        memcpy(&master, RTA_DATA(a), sizeof master);
      }
    }
    push_event(env, events, count, h->nlmsg_type == RTM_NEWLINK ? "new" : "del", info->ifi_index, name, info->ifi_flags,
               info->ifi_type, mac, mac_length, master);
  }
}

static void on_readable(uv_poll_t* handle, int status, int events_mask) {
  link_watch* w = (link_watch*)handle->data;
  if (w->fd < 0 || w->on_events == NULL) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value events;
  napi_create_array(env, &events);
  uint32_t count = 0;
  if (status < 0) {
    /* libuv stops a poll handle on POLLERR (here: ENOBUFS, events lost): clear the error, start again. */
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    push_event(env, events, &count, "resync", 0, "", 0, 0, NULL, 0, 0);
    uv_poll_start(&w->poll, UV_READABLE, on_readable);
  }
  char buffer[32768];
  for (int i = 0; i < 64; i++) {
    ssize_t n = recv(w->fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) { push_event(env, events, &count, "resync", 0, "", 0, 0, NULL, 0, 0); continue; }
      break;
    }
    parse(env, events, &count, buffer, n);
  }
  if (count > 0) {
    napi_value callback, receiver, result;
    napi_get_reference_value(env, w->on_events, &callback);
    napi_get_global(env, &receiver);
    napi_make_callback(env, w->async_context, receiver, callback, 1, &events, &result);
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

static napi_value js_watch_links(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type;
  CALL(env, napi_typeof(env, argv[0], &type));
  if (type != napi_function) { napi_throw_type_error(env, NULL, "onEvents must be a function"); return NULL; }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) { throw_errno(env, "socket(AF_NETLINK)"); return NULL; }
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    throw_errno(env, "bind(AF_NETLINK)");
    return NULL;
  }
  /* A node with thousands of veths churns links; 1 MB (capped by rmem_max without CAP_NET_ADMIN) makes
   * an overflow rare, and an overflow costs only a full rescan ('resync'). */
  int size = 1024 * 1024;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  link_watch* w = calloc(1, sizeof *w);
  if (w == NULL) { close(fd); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  w->fd = fd;
  w->env = env;
  napi_value handle;
  if (napi_create_external(env, w, finalize, NULL, &handle) != napi_ok) { close(fd); free(w); napi_throw_error(env, NULL, "napi_create_external failed"); return NULL; }
  struct uv_loop_s* loop = NULL;
  CALL(env, napi_get_uv_event_loop(env, &loop));
  napi_value resource, name;
  CALL(env, napi_create_object(env, &resource));
  CALL(env, napi_create_string_utf8(env, "l2lb:LinkWatch", NAPI_AUTO_LENGTH, &name));
  CALL(env, napi_async_init(env, resource, name, &w->async_context));
  CALL(env, napi_create_reference(env, argv[0], 1, &w->on_events));
  if (uv_poll_init(loop, &w->poll, fd) != 0) { napi_throw_error(env, NULL, "uv_poll_init failed"); return NULL; }
  w->poll.data = w;
  w->polling = 1;
  if (uv_poll_start(&w->poll, UV_READABLE, on_readable) != 0) { napi_throw_error(env, NULL, "uv_poll_start failed"); return NULL; }
  return handle;
}

static napi_value js_close_link_watch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data = NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a link watch handle");
    return NULL;
  }
  release((link_watch*)data, env);
  return NULL;
}

napi_value link_watch_init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "watchLinks", NULL, js_watch_links, NULL, NULL, NULL, napi_enumerable, NULL },
    { "closeLinkWatch", NULL, js_close_link_watch, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  CALL(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}
