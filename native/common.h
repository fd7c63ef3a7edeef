/* Shared by the addon's files: errors as JS exceptions with code TANDEM_EPACKET, errno and syscall. */
#ifndef TANDEM_NATIVE_COMMON_H
#define TANDEM_NATIVE_COMMON_H
#include <node_api.h>

/* Throws an Error for a failed system call; returns NULL for the caller to return. */
napi_value throw_errno(napi_env env, const char *syscall, int err);
/* Reads an int32 argument or throws a TypeError naming it; returns 0 when it threw. */
int read_int_argument(napi_env env, napi_value value, const char *name, int32_t *out);
/* Adds openVrrpSocket / sendVrrp / sendVrrpBatch / closeVrrpSocket to the exports (vrrp_socket.c). */
void register_vrrp_socket(napi_env env, napi_value exports);
#endif
