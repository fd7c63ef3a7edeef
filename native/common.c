/* Error helpers shared by the addon's files. */
#include <stdio.h>
#include <string.h>

#include "common.h"

napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char message[160];
  napi_value error, code, text, value;
  snprintf(message, sizeof(message), "%s failed: %s (errno %d)", syscall, strerror(err), err);
  napi_create_string_utf8(env, "TANDEM_EPACKET", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  napi_throw(env, error);
  return NULL;
}

int read_int_argument(napi_env env, napi_value value, const char *name, int32_t *out) {
  if (napi_get_value_int32(env, value, out) != napi_ok) {
    char message[96];
    snprintf(message, sizeof(message), "%s must be a number", name);
    napi_throw_type_error(env, "TANDEM_EPACKET", message);
    return 0;
  }
  return 1;
}

