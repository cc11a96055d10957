/* Small helpers shared by the addon's files. */
#ifndef L2LB_NAPI_UTIL_H
#define L2LB_NAPI_UTIL_H

#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static inline int throw_errno(napi_env env, const char* what) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, "ERR_PACKET_SOCKET", message);
  return -1;
}

#define CALL(env, call)                                                            \
  do {                                                                             \
    if ((call) != napi_ok) {                                                       \
      const napi_extended_error_info* info_ = NULL;                                \
      napi_get_last_error_info((env), &info_);                                     \
      bool pending_ = false;                                                       \
      napi_is_exception_pending((env), &pending_);                                 \
      if (!pending_) napi_throw_error((env), NULL, info_ && info_->error_message ? info_->error_message : "napi call failed"); \
      return NULL;                                                                 \
    }                                                                              \
  } while (0)

static inline napi_status set_number(napi_env env, napi_value object, const char* name, double value) {
  napi_value number;
  napi_status status = napi_create_double(env, value, &number);
  if (status != napi_ok) return status;
  return napi_set_named_property(env, object, name, number);
}

#endif
