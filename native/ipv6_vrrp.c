/*
 * IPv6 VRRP socket with the receive-side checks raw-socket cannot give: RFC 5798 §7.1 wants the hop limit of a
 * multicast advert to be 255, and an IPv6 raw socket only reports it as ancillary data (IPV6_HOPLIMIT through
 * recvmsg), which raw-socket does not read; IPV6_MINHOPCOUNT is not applied to raw sockets (tried: an advert
 * with hop limit 1 is delivered). So this file opens the socket, watches it on Node's own event loop (uv_poll),
 * and hands every datagram to JavaScript with its source, destination (IPV6_PKTINFO) and hop limit. The kernel
 * computes and verifies the VRRP checksum (IPV6_CHECKSUM at offset 6).
 *
 * Exports:
 *   openVrrp6(ifname, ifindex, joinGroup: boolean, onMessage(payload, source, destination, hopLimit)) -> handle
 *   sendVrrp6(handle, payload: Buffer, destination: string, source?: string) -> bytes sent
 *     (the source goes in IPV6_PKTINFO: with a link-local VIP on the interface the kernel's own choice for
 *     ff02::12 would be the VIP, and adverts must come from the router's own link-local address,
 *     RFC 5798 §5.1.2.1; per-packet PKTINFO is honoured by raw sockets where the sticky option is not)
 *   closeVrrp6(handle)
 * Failures throw an Error whose `code` is 'TANDEM_EPACKET' and whose `errno`/`syscall` say what failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "common.h"

#define VRRP_PROTOCOL 112
#define VRRP_CHECKSUM_OFFSET 6
#define VRRP_HOP_LIMIT 255
#define VRRP_TRAFFIC_CLASS 0xc0
/* A v3 IPv6 message is at most 8 + 255 * 16 bytes. */
#define RECEIVE_BUFFER 4104
#define MAX_DATAGRAMS_PER_WAKE 256

typedef struct {
  uv_poll_t poll;
  int fd;
  int ifindex;
  int closing;
  /* The JS handle and the uv poll handle each hold one reference; the memory goes with the last. */
  int references;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
} receiver_t;

static int set_int(int fd, int level, int option, int value) {
  return setsockopt(fd, level, option, &value, sizeof(value));
}

static void deliver(receiver_t *receiver, const unsigned char *data, ssize_t length, const struct sockaddr_in6 *from,
                    const struct in6_addr *destination, int hop_limit) {
  napi_env env = receiver->env;
  napi_handle_scope scope;
  napi_value callback, resource, argv[4], result;
  char source_text[INET6_ADDRSTRLEN] = "", destination_text[INET6_ADDRSTRLEN] = "";
  void *copy;

  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  inet_ntop(AF_INET6, &from->sin6_addr, source_text, sizeof(source_text));
  inet_ntop(AF_INET6, destination, destination_text, sizeof(destination_text));
  if (napi_create_buffer_copy(env, (size_t)length, data, &copy, &argv[0]) != napi_ok ||
      napi_create_string_utf8(env, source_text, NAPI_AUTO_LENGTH, &argv[1]) != napi_ok ||
      napi_create_string_utf8(env, destination_text, NAPI_AUTO_LENGTH, &argv[2]) != napi_ok ||
      napi_create_int32(env, hop_limit, &argv[3]) != napi_ok ||
      napi_get_reference_value(env, receiver->callback, &callback) != napi_ok ||
      napi_get_global(env, &resource) != napi_ok) {
    /* Out of memory or shutting down: this datagram is dropped, like one the kernel drops. */
    napi_close_handle_scope(env, scope);
    return;
  }
  /* make_callback runs the microtasks the handler queues, as any other I/O callback of Node does. */
  if (napi_make_callback(env, receiver->context, resource, callback, 4, argv, &result) != napi_ok) {
    /* A handler that threw: report it as Node reports any uncaught exception, not later at a random call. */
    bool pending = false;
    napi_value exception;
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

/*
 * Reads the datagrams waiting, so adverts queued during a stall are seen before the next timer runs; at most
 * MAX_DATAGRAMS_PER_WAKE per wake-up, so a flood cannot keep the loop here and starve the advert timers (the
 * poll is level-triggered: what is left wakes it again).
 */
static void on_readable(uv_poll_t *handle, int status, int events) {
  receiver_t *receiver = handle->data;
  (void)events;
  if (status < 0 || receiver->closing) return;
  for (int count = 0; count < MAX_DATAGRAMS_PER_WAKE; count++) {
    unsigned char data[RECEIVE_BUFFER];
    unsigned char control[256];
    struct sockaddr_in6 from;
    struct iovec vector = {data, sizeof(data)};
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_name = &from;
    message.msg_namelen = sizeof(from);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    ssize_t length = recvmsg(receiver->fd, &message, MSG_DONTWAIT);
    if (length < 0) return; /* EAGAIN: drained; other errors: the next readable event retries */
    int hop_limit = -1;
    struct in6_addr destination = IN6ADDR_ANY_INIT;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
      if (header->cmsg_level != IPPROTO_IPV6) continue;
      if (header->cmsg_type == IPV6_HOPLIMIT) memcpy(&hop_limit, CMSG_DATA(header), sizeof(hop_limit));
      if (header->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo info;
        memcpy(&info, CMSG_DATA(header), sizeof(info));
        destination = info.ipi6_addr;
      }
    }
    deliver(receiver, data, length, &from, &destination, hop_limit);
    if (receiver->closing) return;
  }
}

static void release(receiver_t *receiver) {
  if (--receiver->references == 0) free(receiver);
}

static void on_closed(uv_handle_t *handle) {
  release(handle->data);
}

static void shut(napi_env env, receiver_t *receiver) {
  if (receiver->closing) return;
  receiver->closing = 1;
  uv_poll_stop(&receiver->poll);
  close(receiver->fd);
  napi_delete_reference(env, receiver->callback);
  napi_async_destroy(env, receiver->context);
  uv_close((uv_handle_t *)&receiver->poll, on_closed);
}

/* The JS handle was collected: close the socket if nobody did, and drop the handle's reference. */
static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  shut(env, data);
  release(data);
}

static receiver_t *unwrap(napi_env env, napi_value value) {
  receiver_t *receiver = NULL;
  if (napi_get_value_external(env, value, (void **)&receiver) != napi_ok || receiver == NULL) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "expected a handle from openVrrp6");
    return NULL;
  }
  if (receiver->closing) {
    napi_throw_error(env, "TANDEM_EPACKET", "the IPv6 VRRP socket is closed");
    return NULL;
  }
  return receiver;
}

static napi_value open_vrrp6(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result, resource_name;
  char ifname[IF_NAMESIZE + 1];
  size_t ifname_length;
  int32_t ifindex;
  bool join = false;
  napi_valuetype type;
  uv_loop_t *loop;

  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof(ifname), &ifname_length) != napi_ok ||
      ifname_length == 0 || ifname_length >= IF_NAMESIZE) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "openVrrp6(ifname, ifindex, joinGroup, onMessage): bad ifname");
    return NULL;
  }
  if (!read_int_argument(env, argv[1], "ifindex", &ifindex)) return NULL;
  napi_get_value_bool(env, argv[2], &join);
  napi_typeof(env, argv[3], &type);
  if (type != napi_function) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "onMessage must be a function");
    return NULL;
  }

  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTOCOL);
  if (fd < 0) return throw_errno(env, "socket(AF_INET6, SOCK_RAW, 112)", errno);
  const char *failed = NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)ifname_length) < 0) failed = "SO_BINDTODEVICE";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET) < 0) failed = "IPV6_CHECKSUM";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_HOP_LIMIT) < 0) failed = "IPV6_MULTICAST_HOPS";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_HOP_LIMIT) < 0) failed = "IPV6_UNICAST_HOPS";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) < 0) failed = "IPV6_MULTICAST_LOOP";
  /* Traffic class 0xc0, internetwork control: what keepalived sends adverts with. */
  else if (set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, VRRP_TRAFFIC_CLASS) < 0) failed = "IPV6_TCLASS";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) < 0) failed = "IPV6_MULTICAST_IF";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) < 0) failed = "IPV6_RECVHOPLIMIT";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0) failed = "IPV6_RECVPKTINFO";
  else if (join) {
    struct ipv6_mreq request;
    memset(&request, 0, sizeof(request));
    inet_pton(AF_INET6, "ff02::12", &request.ipv6mr_multiaddr);
    request.ipv6mr_interface = (unsigned)ifindex;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &request, sizeof(request)) < 0) failed = "IPV6_ADD_MEMBERSHIP";
  }
  if (failed) {
    int err = errno;
    close(fd);
    return throw_errno(env, failed, err);
  }

  receiver_t *receiver = calloc(1, sizeof(receiver_t));
  if (!receiver) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  receiver->fd = fd;
  receiver->references = 2;
  receiver->ifindex = ifindex;
  receiver->env = env;
  napi_create_reference(env, argv[3], 1, &receiver->callback);
  napi_create_string_utf8(env, "tandem:vrrp6", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &receiver->context);
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, &receiver->poll, fd);
  if (rc == 0) {
    receiver->poll.data = receiver;
    rc = uv_poll_start(&receiver->poll, UV_READABLE, on_readable);
  }
  if (rc != 0) {
    close(fd);
    napi_delete_reference(env, receiver->callback);
    napi_async_destroy(env, receiver->context);
    free(receiver);
    return throw_errno(env, "uv_poll_start", -rc);
  }
  napi_create_external(env, receiver, finalize, NULL, &result);
  return result;
}

static int read_ipv6_argument(napi_env env, napi_value value, const char *name, struct in6_addr *out) {
  char text[INET6_ADDRSTRLEN + 1];
  size_t length;
  if (napi_get_value_string_utf8(env, value, text, sizeof(text), &length) != napi_ok ||
      inet_pton(AF_INET6, text, out) != 1) {
    char message[96];
    snprintf(message, sizeof(message), "%s must be an IPv6 address", name);
    napi_throw_type_error(env, "TANDEM_EPACKET", message);
    return 0;
  }
  return 1;
}

static napi_value send_vrrp6(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  void *data;
  size_t length;
  bool is_buffer = false;
  napi_valuetype source_type = napi_undefined;
  struct sockaddr_in6 destination;
  unsigned char control[CMSG_SPACE(sizeof(struct in6_pktinfo))];
  struct msghdr message;
  struct iovec vector;

  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "sendVrrp6(handle, payload, destination[, source]) needs 3 arguments");
    return NULL;
  }
  receiver_t *receiver = unwrap(env, argv[0]);
  if (!receiver) return NULL;
  napi_is_buffer(env, argv[1], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "payload must be a Buffer");
    return NULL;
  }
  memset(&destination, 0, sizeof(destination));
  destination.sin6_family = AF_INET6;
  if (!read_ipv6_argument(env, argv[2], "destination", &destination.sin6_addr)) return NULL;
  /* Link-scoped destinations (ff02::12, fe80::/10 peers) need the interface as scope. */
  destination.sin6_scope_id = (uint32_t)receiver->ifindex;

  vector.iov_base = data;
  vector.iov_len = length;
  memset(&message, 0, sizeof(message));
  message.msg_name = &destination;
  message.msg_namelen = sizeof(destination);
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  if (argc >= 4) napi_typeof(env, argv[3], &source_type);
  if (source_type == napi_string) {
    struct in6_pktinfo pktinfo;
    memset(&pktinfo, 0, sizeof(pktinfo));
    if (!read_ipv6_argument(env, argv[3], "source", &pktinfo.ipi6_addr)) return NULL;
    pktinfo.ipi6_ifindex = (unsigned)receiver->ifindex;
    memset(control, 0, sizeof(control));
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = IPPROTO_IPV6;
    header->cmsg_type = IPV6_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(pktinfo));
    memcpy(CMSG_DATA(header), &pktinfo, sizeof(pktinfo));
  }
  ssize_t sent = sendmsg(receiver->fd, &message, 0);
  if (sent < 0) return throw_errno(env, "sendmsg(AF_INET6, 112)", errno);
  napi_create_int64(env, (int64_t)sent, &result);
  return result;
}

static napi_value close_vrrp6(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "closeVrrp6(handle) needs 1 argument");
    return NULL;
  }
  receiver_t *receiver = unwrap(env, argv[0]);
  if (!receiver) return NULL;
  shut(env, receiver);
  return NULL;
}

void register_ipv6_vrrp(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"openVrrp6", NULL, open_vrrp6, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendVrrp6", NULL, send_vrrp6, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeVrrp6", NULL, close_vrrp6, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
}
