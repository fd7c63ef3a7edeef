/*
 * tandem's native addon, part one: send a complete, prebuilt link-layer frame through an AF_PACKET socket.
 *
 * Gratuitous ARP and unsolicited IPv6 Neighbour Advertisements need a frame whose Ethernet and ARP/IPv6
 * headers we choose ourselves (sender = target = VIP, hop limit 255), which no Node.js socket can send.
 * Everything else (building the frame, choosing when to send) lives in src/actions/garp.ts; this file only
 * opens, sends and closes. The socket is opened with protocol 0 so the kernel delivers nothing to it: it is
 * send-only and never accumulates a receive queue.
 *
 * Exports:
 *   openPacketSocket() -> fd
 *   sendFrame(fd, ifindex, frame: Buffer) -> bytes sent
 *   close(fd)
 * Failures throw an Error whose `code` is 'TANDEM_EPACKET' and whose `errno`/`syscall` say what failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

/* Ethernet header: destination MAC, source MAC, EtherType. */
#define FRAME_HEADER_LENGTH 14

static napi_value open_packet_socket(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET, SOCK_RAW)", errno);
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value send_frame(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t fd, ifindex;
  void *data;
  size_t length;
  bool is_buffer = false;
  struct sockaddr_ll address;

  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "sendFrame(fd, ifindex, frame) needs 3 arguments");
    return NULL;
  }
  if (!read_int_argument(env, argv[0], "fd", &fd) || !read_int_argument(env, argv[1], "ifindex", &ifindex))
    return NULL;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[2], &data, &length) != napi_ok) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "frame must be a Buffer");
    return NULL;
  }
  if (length < FRAME_HEADER_LENGTH) {
    napi_throw_range_error(env, "TANDEM_EPACKET", "frame is shorter than an Ethernet header (14 bytes)");
    return NULL;
  }

  /* The frame carries its own Ethernet header; the address only picks the interface, and repeats the
   * destination MAC and EtherType so that the kernel tags the packet with the right protocol. */
  memset(&address, 0, sizeof(address));
  address.sll_family = AF_PACKET;
  address.sll_ifindex = ifindex;
  address.sll_halen = ETH_ALEN;
  memcpy(address.sll_addr, data, ETH_ALEN);
  memcpy(&address.sll_protocol, (const unsigned char *)data + 2 * ETH_ALEN, sizeof(address.sll_protocol));

  ssize_t sent = sendto(fd, data, length, 0, (const struct sockaddr *)&address, sizeof(address));
  if (sent < 0) return throw_errno(env, "sendto(AF_PACKET)", errno);
  napi_create_int64(env, (int64_t)sent, &result);
  return result;
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "close(fd) needs 1 argument");
    return NULL;
  }
  if (!read_int_argument(env, argv[0], "fd", &fd)) return NULL;
  if (close(fd) < 0) return throw_errno(env, "close", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"openPacketSocket", NULL, open_packet_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFrame", NULL, send_frame, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_socket, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  register_vrrp_socket(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
