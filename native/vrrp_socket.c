/*
 * VRRP sockets (IP protocol 112) for both families, watched on Node's own event loop (uv_poll).
 *
 * Receive: on every readable event the socket is drained with recvmmsg until the queue is empty (bounded per
 * wake-up, see MAX_DATAGRAMS_PER_WAKE) and the whole batch goes to JavaScript in ONE callback. That is the stall
 * rule for many VRIDs on one interface: after the process stalled, every advert queued meanwhile reaches its
 * instance before any expired timer's deferred expiry (setImmediate, which runs after this poll phase) is acted
 * on. One datagram per wake-up (what raw-socket did) lets the expiries of every other VRID act first.
 *
 * Send: sendmsg / sendmmsg straight from the calling JS function. The socket is never written through the poll
 * handle, so nothing is stopped and restarted per packet; EAGAIN is not expected because the send buffer is
 * made large enough for a burst of every instance's advert (SEND_QUEUE_BYTES).
 *
 * IPv4 sends with IP_HDRINCL: this file writes the 20-byte header (TTL 255, TOS 0xc0 internetwork control, the
 * source the caller names), the kernel fills the ID, total length and header checksum. The header, not per-socket
 * options plus IP_PKTINFO, because then the source is exactly the configured one (IP_PKTINFO's source goes through
 * a route lookup that may refuse or replace it), the TTL/TOS travel with each packet (a test can send TTL 1 the
 * same way), and a received IPv4 datagram arrives with its header in any case, which is where the TTL, source and
 * destination are read (src/vrrp/transport.ts). This is also how keepalived sends.
 *
 * IPv6 reports the hop limit only as ancillary data (IPV6_HOPLIMIT; IPV6_MINHOPCOUNT is not applied to raw
 * sockets: an advert with hop limit 1 is delivered), and the destination as IPV6_PKTINFO. The source goes in
 * IPV6_PKTINFO per packet: once a link-local VIP is on the interface, the kernel's own choice for ff02::12 would
 * be the VIP, and adverts must come from the router's own link-local address (RFC 5798 §5.1.2.1). The kernel
 * fills and verifies the VRRP checksum (IPV6_CHECKSUM at offset 6).
 *
 * Exports:
 *   openVrrpSocket(family: 4|6, ifname, ifindex, groups: string[], onBatch(batch: Buffer, count: number)) -> handle
 *     (joins each multicast group on the interface: 224.0.0.18 / ff02::12, or vrrp_mcast_group4/6, mcast_dst_ip;
 *     an empty list for a unicast-only socket)
 *   sendVrrp(handle, payload: Buffer, destination: string, source?: string|null, ttl?: number) -> bytes sent
 *   sendVrrpBatch(handle, payloads: Buffer[], destinations: string[], sources: (string|null|undefined)[])
 *     -> number[]: 0 for each datagram sent, the errno of each one refused
 *   closeVrrpSocket(handle)   (also from inside onBatch; a collected handle closes itself)
 *
 * A batch is `count` records back to back, each RECORD_HEADER_BYTES of header then the data:
 *   0..1  data length, little-endian
 *   2     hop limit (IPv6, when flag 1 is set)
 *   3     flags: 1 = hop limit known, 2 = truncated (longer than RECEIVE_SLOT_BYTES; not VRRP)
 *   4..19 source address (IPv4: first 4 bytes)       20..35 destination (IPv6 only, from IPV6_PKTINFO)
 *   36..  IPv4: the datagram as received, header first; IPv6: the VRRP message
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
/* RFC 5798 §5.1.1.3 / §5.1.2.3: TTL / hop limit 255. */
#define VRRP_TTL 255
/* RFC 791 precedence 6, internetwork control: what keepalived sends adverts with. */
#define VRRP_TRAFFIC_CLASS 0xc0
#define IPV4_HEADER_BYTES 20
/* A v3 IPv6 message is at most 8 + 255 * 16 bytes; an IPv4 datagram with options and a v2 message with 255
 * addresses and auth data is 60 + 16 + 1020 bytes. Anything longer is not VRRP and is flagged truncated. */
#define RECEIVE_SLOT_BYTES 4104
#define RECEIVE_VECTOR 32
/* A flood must not keep the loop here for ever and starve the advert timers; what is left wakes the
 * (level-triggered) poll again. Large enough for a full receive queue (RECEIVE_QUEUE_BYTES / ~1 KiB per small
 * datagram) to arrive in one batch. */
#define MAX_DATAGRAMS_PER_WAKE 8192
#define MAX_BATCH_BYTES (4 * 1024 * 1024)
/* Room for one advert of every VRID queued while the process stalled: 1000 instances at 100 ms queue 10,000
 * adverts a second. Root may exceed net.core.rmem_max (SO_RCVBUFFORCE); otherwise the sysctl's cap applies. */
#define RECEIVE_QUEUE_BYTES (4 * 1024 * 1024)
#define SEND_QUEUE_BYTES (4 * 1024 * 1024)
#define RECORD_HEADER_BYTES 36
#define RECORD_FLAG_TTL 1
#define RECORD_FLAG_TRUNCATED 2
#define CONTROL_BYTES 128
#define SEND_VECTOR 64
#define INITIAL_BATCH_BYTES (16 * 1024)
/* Distinct groups one socket joins: one per mcast_dst_ip on the interface; far more than any real setup has. */
#define MAX_GROUPS 32

typedef struct {
  uv_poll_t poll;
  int fd;
  int family;
  int ifindex;
  int closing;
  /* Set by the environment's cleanup hook: no N-API call may follow. */
  int env_gone;
  /* The JS handle and the uv poll handle each hold one reference; the memory goes with the last. */
  int references;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  unsigned char *slots;
  unsigned char *batch;
  size_t batch_capacity;
  struct mmsghdr messages[RECEIVE_VECTOR];
  struct iovec vectors[RECEIVE_VECTOR];
  struct sockaddr_in6 names[RECEIVE_VECTOR];
  unsigned char controls[RECEIVE_VECTOR][CONTROL_BYTES];
} vrrp_socket_t;

static int set_int(int fd, int level, int option, int value) {
  return setsockopt(fd, level, option, &value, sizeof(value));
}

static void on_env_cleanup(void *data);

static void release(vrrp_socket_t *socket) {
  if (--socket->references > 0) return;
  free(socket->slots);
  free(socket->batch);
  free(socket);
}

/* Runs from the loop once the poll handle is closed, never inside one of this socket's callbacks: the async
 * context may go now (destroying it from closeVrrpSocket called inside onBatch would pull it from under the
 * napi_make_callback still running). */
static void on_closed(uv_handle_t *handle) {
  vrrp_socket_t *socket = handle->data;
  if (!socket->env_gone) {
    napi_async_destroy(socket->env, socket->context);
    napi_remove_env_cleanup_hook(socket->env, on_env_cleanup, socket);
  }
  release(socket);
}

static void shut(vrrp_socket_t *socket) {
  if (socket->closing) return;
  socket->closing = 1;
  uv_poll_stop(&socket->poll);
  close(socket->fd);
  if (!socket->env_gone) napi_delete_reference(socket->env, socket->callback);
  uv_close((uv_handle_t *)&socket->poll, on_closed);
}

/* The environment goes away (worker exit, process teardown): no callback is running, so the context goes now,
 * and nothing later touches the environment. */
static void on_env_cleanup(void *data) {
  vrrp_socket_t *socket = data;
  if (!socket->closing) {
    socket->closing = 1;
    uv_poll_stop(&socket->poll);
    close(socket->fd);
    napi_delete_reference(socket->env, socket->callback);
    uv_close((uv_handle_t *)&socket->poll, on_closed);
  }
  napi_async_destroy(socket->env, socket->context);
  socket->env_gone = 1;
}

static void prepare_receive(vrrp_socket_t *socket) {
  for (int index = 0; index < RECEIVE_VECTOR; index++) {
    struct msghdr *message = &socket->messages[index].msg_hdr;
    socket->vectors[index].iov_base = socket->slots + (size_t)index * RECEIVE_SLOT_BYTES;
    socket->vectors[index].iov_len = RECEIVE_SLOT_BYTES;
    memset(message, 0, sizeof(*message));
    message->msg_name = &socket->names[index];
    message->msg_namelen = sizeof(socket->names[index]);
    message->msg_iov = &socket->vectors[index];
    message->msg_iovlen = 1;
    if (socket->family == 6) {
      message->msg_control = socket->controls[index];
      message->msg_controllen = CONTROL_BYTES;
    }
  }
}

static int reserve(vrrp_socket_t *socket, size_t needed) {
  if (needed <= socket->batch_capacity) return 1;
  size_t capacity = socket->batch_capacity ? socket->batch_capacity : INITIAL_BATCH_BYTES;
  while (capacity < needed) capacity *= 2;
  unsigned char *grown = realloc(socket->batch, capacity);
  if (!grown) return 0;
  socket->batch = grown;
  socket->batch_capacity = capacity;
  return 1;
}

/* Appends one received datagram as a record; 0 when out of memory (the datagram is dropped, as the kernel drops
 * one when the queue is full). */
static int append_record(vrrp_socket_t *socket, size_t *used, const struct mmsghdr *received, int index) {
  const struct msghdr *message = &received->msg_hdr;
  size_t length = received->msg_len;
  unsigned char flags = 0, hop_limit = 0;
  if (length > RECEIVE_SLOT_BYTES || (message->msg_flags & MSG_TRUNC)) {
    flags |= RECORD_FLAG_TRUNCATED;
    if (length > RECEIVE_SLOT_BYTES) length = RECEIVE_SLOT_BYTES;
  }
  if (!reserve(socket, *used + RECORD_HEADER_BYTES + length)) return 0;
  unsigned char *record = socket->batch + *used;
  memset(record, 0, RECORD_HEADER_BYTES);
  if (socket->family == 4) {
    const struct sockaddr_in *from = (const struct sockaddr_in *)&socket->names[index];
    memcpy(record + 4, &from->sin_addr, 4);
  } else {
    memcpy(record + 4, &socket->names[index].sin6_addr, 16);
    for (struct cmsghdr *header = CMSG_FIRSTHDR(message); header; header = CMSG_NXTHDR((struct msghdr *)message, header)) {
      if (header->cmsg_level != IPPROTO_IPV6) continue;
      if (header->cmsg_type == IPV6_HOPLIMIT) {
        int value;
        memcpy(&value, CMSG_DATA(header), sizeof(value));
        if (value >= 0 && value <= 255) {
          hop_limit = (unsigned char)value;
          flags |= RECORD_FLAG_TTL;
        }
      } else if (header->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo info;
        memcpy(&info, CMSG_DATA(header), sizeof(info));
        memcpy(record + 20, &info.ipi6_addr, 16);
      }
    }
  }
  record[0] = (unsigned char)(length & 0xff);
  record[1] = (unsigned char)(length >> 8);
  record[2] = hop_limit;
  record[3] = flags;
  memcpy(record + RECORD_HEADER_BYTES, socket->vectors[index].iov_base, length);
  *used += RECORD_HEADER_BYTES + length;
  return 1;
}

static void deliver(vrrp_socket_t *socket, size_t used, unsigned count) {
  napi_env env = socket->env;
  napi_handle_scope scope;
  napi_value callback, resource, argv[2], result;
  void *copy;

  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_create_buffer_copy(env, used, socket->batch, &copy, &argv[0]) != napi_ok ||
      napi_create_uint32(env, count, &argv[1]) != napi_ok ||
      napi_get_reference_value(env, socket->callback, &callback) != napi_ok ||
      napi_get_global(env, &resource) != napi_ok) {
    /* Out of memory or shutting down: this batch is dropped, like datagrams the kernel drops. */
    napi_close_handle_scope(env, scope);
    return;
  }
  /* make_callback runs the microtasks the handler queues, as any other I/O callback of Node does. */
  if (napi_make_callback(env, socket->context, resource, callback, 2, argv, &result) != napi_ok) {
    /* A handler that threw: report it as Node reports any uncaught exception, not later at a random call. */
    bool pending = false;
    napi_value exception;
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  vrrp_socket_t *socket = handle->data;
  size_t used = 0;
  unsigned count = 0;
  (void)events;
  if (status < 0 || socket->closing) return;
  while (count < MAX_DATAGRAMS_PER_WAKE && used < MAX_BATCH_BYTES) {
    prepare_receive(socket);
    int received = recvmmsg(socket->fd, socket->messages, RECEIVE_VECTOR, MSG_DONTWAIT, NULL);
    if (received <= 0) break; /* EAGAIN: drained; another error: the next readable event retries */
    for (int index = 0; index < received; index++) {
      if (append_record(socket, &used, &socket->messages[index], index)) count++;
    }
    /* Fewer than asked: the queue was empty at that instant, the same answer the next call's EAGAIN gives. */
    if (received < RECEIVE_VECTOR) break;
  }
  if (count > 0) deliver(socket, used, count);
  /* A burst's worth of memory is not kept for the idle time after it. */
  if (!socket->closing && socket->batch_capacity > INITIAL_BATCH_BYTES * 4) {
    free(socket->batch);
    socket->batch = NULL;
    socket->batch_capacity = 0;
  }
}

/* The JS handle was collected: close the socket if nobody did, and drop the handle's reference. */
static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  shut(data);
  release(data);
}

static vrrp_socket_t *unwrap(napi_env env, napi_value value) {
  vrrp_socket_t *socket = NULL;
  if (napi_get_value_external(env, value, (void **)&socket) != napi_ok || socket == NULL) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "expected a handle from openVrrpSocket");
    return NULL;
  }
  if (socket->closing) {
    napi_throw_error(env, "TANDEM_EPACKET", "the VRRP socket is closed");
    return NULL;
  }
  return socket;
}

static void grow_queue(int fd, int force_option, int option, int bytes) {
  /* Root (CAP_NET_ADMIN) may pass net.core.[rw]mem_max; without it the plain option is capped by the sysctl. */
  if (set_int(fd, SOL_SOCKET, force_option, bytes) < 0) set_int(fd, SOL_SOCKET, option, bytes);
}

/* Sets the family's options; the name of the one that failed, or NULL. */
/* The groups to join, parsed before the socket exists. */
typedef struct {
  unsigned count;
  unsigned char addresses[MAX_GROUPS][16];
} groups_t;

/* Sets the family's options and joins `groups`; the name of the option that failed, or NULL. */
static const char *configure(int fd, int family, const char *ifname, size_t ifname_length, int ifindex,
                             const groups_t *groups) {
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)ifname_length) < 0) return "SO_BINDTODEVICE";
  grow_queue(fd, SO_RCVBUFFORCE, SO_RCVBUF, RECEIVE_QUEUE_BYTES);
  grow_queue(fd, SO_SNDBUFFORCE, SO_SNDBUF, SEND_QUEUE_BYTES);
  if (family == 4) {
    struct ip_mreqn request;
    memset(&request, 0, sizeof(request));
    request.imr_ifindex = ifindex;
    if (set_int(fd, IPPROTO_IP, IP_HDRINCL, 1) < 0) return "IP_HDRINCL";
    if (set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0) < 0) return "IP_MULTICAST_LOOP";
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &request, sizeof(request)) < 0) return "IP_MULTICAST_IF";
    for (unsigned index = 0; index < groups->count; index++) {
      memcpy(&request.imr_multiaddr, groups->addresses[index], 4);
      if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request)) < 0) return "IP_ADD_MEMBERSHIP";
    }
    return NULL;
  }
  if (set_int(fd, IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET) < 0) return "IPV6_CHECKSUM";
  if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL) < 0) return "IPV6_MULTICAST_HOPS";
  if (set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_TTL) < 0) return "IPV6_UNICAST_HOPS";
  if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) < 0) return "IPV6_MULTICAST_LOOP";
  if (set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, VRRP_TRAFFIC_CLASS) < 0) return "IPV6_TCLASS";
  if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) < 0) return "IPV6_MULTICAST_IF";
  if (set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) < 0) return "IPV6_RECVHOPLIMIT";
  if (set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0) return "IPV6_RECVPKTINFO";
  for (unsigned index = 0; index < groups->count; index++) {
    struct ipv6_mreq request;
    memset(&request, 0, sizeof(request));
    memcpy(&request.ipv6mr_multiaddr, groups->addresses[index], 16);
    request.ipv6mr_interface = (unsigned)ifindex;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &request, sizeof(request)) < 0) return "IPV6_ADD_MEMBERSHIP";
  }
  return NULL;
}

/* Reads the groups argument: an array of multicast addresses of `family`. Throws and returns false if it is not. */
static bool read_groups(napi_env env, napi_value value, int family, groups_t *groups) {
  bool is_array = false;
  uint32_t length = 0;
  napi_is_array(env, value, &is_array);
  if (!is_array || napi_get_array_length(env, value, &length) != napi_ok || length > MAX_GROUPS) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "groups must be an array of at most 32 multicast addresses");
    return false;
  }
  groups->count = length;
  for (uint32_t index = 0; index < length; index++) {
    napi_value item;
    char text[INET6_ADDRSTRLEN + 1];
    size_t text_length = 0;
    unsigned char *address = groups->addresses[index];
    if (napi_get_element(env, value, index, &item) != napi_ok ||
        napi_get_value_string_utf8(env, item, text, sizeof(text), &text_length) != napi_ok ||
        inet_pton(family == 4 ? AF_INET : AF_INET6, text, address) != 1 ||
        (family == 4 ? (address[0] & 0xf0) != 0xe0 : address[0] != 0xff)) {
      napi_throw_type_error(env, "TANDEM_EPACKET", "each group must be a multicast address of the socket's family");
      return false;
    }
  }
  return true;
}

static napi_value open_vrrp_socket(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result, resource_name;
  char ifname[IF_NAMESIZE + 1];
  size_t ifname_length;
  int32_t family, ifindex;
  groups_t groups;
  napi_valuetype type;
  uv_loop_t *loop;

  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "openVrrpSocket(family, ifname, ifindex, groups, onBatch) needs 5 arguments");
    return NULL;
  }
  if (!read_int_argument(env, argv[0], "family", &family)) return NULL;
  if (family != 4 && family != 6) {
    napi_throw_range_error(env, "TANDEM_EPACKET", "family must be 4 or 6");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[1], ifname, sizeof(ifname), &ifname_length) != napi_ok ||
      ifname_length == 0 || ifname_length >= IF_NAMESIZE) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "ifname must be an interface name of 1 to 15 bytes");
    return NULL;
  }
  if (!read_int_argument(env, argv[2], "ifindex", &ifindex)) return NULL;
  if (!read_groups(env, argv[3], family, &groups)) return NULL;
  napi_typeof(env, argv[4], &type);
  if (type != napi_function) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "onBatch must be a function");
    return NULL;
  }

  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTOCOL);
  if (fd < 0) return throw_errno(env, family == 4 ? "socket(AF_INET, SOCK_RAW, 112)" : "socket(AF_INET6, SOCK_RAW, 112)", errno);
  const char *failed = configure(fd, family, ifname, ifname_length, ifindex, &groups);
  if (failed) {
    int err = errno;
    close(fd);
    return throw_errno(env, failed, err);
  }

  vrrp_socket_t *socket = calloc(1, sizeof(vrrp_socket_t));
  unsigned char *slots = malloc((size_t)RECEIVE_VECTOR * RECEIVE_SLOT_BYTES);
  if (!socket || !slots) {
    free(socket);
    free(slots);
    close(fd);
    return throw_errno(env, "malloc", ENOMEM);
  }
  socket->fd = fd;
  socket->family = family;
  socket->ifindex = ifindex;
  socket->references = 2;
  socket->env = env;
  socket->slots = slots;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, &socket->poll, fd);
  if (rc == 0) {
    socket->poll.data = socket;
    rc = uv_poll_start(&socket->poll, UV_READABLE, on_readable);
    if (rc != 0) {
      /* The handle is initialised: it must be closed through the loop. */
      socket->closing = 1;
      socket->env_gone = 1;
      socket->references = 1;
      close(fd);
      uv_close((uv_handle_t *)&socket->poll, on_closed);
      return throw_errno(env, "uv_poll_start", -rc);
    }
  } else {
    close(fd);
    free(slots);
    free(socket);
    return throw_errno(env, "uv_poll_init", -rc);
  }
  napi_create_reference(env, argv[4], 1, &socket->callback);
  napi_create_string_utf8(env, family == 4 ? "tandem:vrrp4" : "tandem:vrrp6", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &socket->context);
  napi_add_env_cleanup_hook(env, on_env_cleanup, socket);
  napi_create_external(env, socket, finalize, NULL, &result);
  return result;
}

static int read_address(napi_env env, napi_value value, int family, const char *name, void *out) {
  char text[INET6_ADDRSTRLEN + 1];
  size_t length;
  if (napi_get_value_string_utf8(env, value, text, sizeof(text), &length) != napi_ok ||
      inet_pton(family == 4 ? AF_INET : AF_INET6, text, out) != 1) {
    char message[96];
    snprintf(message, sizeof(message), "%s must be an IPv%d address", name, family);
    napi_throw_type_error(env, "TANDEM_EPACKET", message);
    return 0;
  }
  return 1;
}

/* Storage for one datagram to send: its own header (IPv4) or ancillary data (IPv6), vectors and address. */
typedef struct {
  struct sockaddr_in6 destination;
  struct iovec vectors[2];
  unsigned char header[IPV4_HEADER_BYTES];
  unsigned char control[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
} outgoing_t;

/*
 * Fills `message` for one datagram. `source` and `ttl` may be NULL / undefined: IPv4 then lets the kernel pick
 * the source (saddr 0 in the header) and IPv6 the routing's choice; the TTL / hop limit is 255 unless given.
 * Returns 0 after throwing a TypeError for a bad argument.
 */
static int prepare_send(napi_env env, vrrp_socket_t *socket, napi_value payload_value, napi_value destination_value,
                        napi_value source_value, napi_value ttl_value, struct msghdr *message, outgoing_t *out) {
  void *data;
  size_t length;
  bool is_buffer = false;
  napi_valuetype source_type = napi_undefined, ttl_type = napi_undefined;
  int32_t ttl = VRRP_TTL;

  napi_is_buffer(env, payload_value, &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, payload_value, &data, &length) != napi_ok) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "payload must be a Buffer");
    return 0;
  }
  if (source_value) napi_typeof(env, source_value, &source_type);
  if (ttl_value) napi_typeof(env, ttl_value, &ttl_type);
  if (ttl_type == napi_number) {
    if (!read_int_argument(env, ttl_value, "ttl", &ttl)) return 0;
    if (ttl < 0 || ttl > 255) {
      napi_throw_range_error(env, "TANDEM_EPACKET", "ttl must be 0 to 255");
      return 0;
    }
  }
  memset(message, 0, sizeof(*message));
  memset(&out->destination, 0, sizeof(out->destination));
  message->msg_name = &out->destination;
  message->msg_iov = out->vectors;

  if (socket->family == 4) {
    struct sockaddr_in *destination = (struct sockaddr_in *)&out->destination;
    struct in_addr source = {0};
    destination->sin_family = AF_INET;
    if (!read_address(env, destination_value, 4, "destination", &destination->sin_addr)) return 0;
    if (source_type == napi_string && !read_address(env, source_value, 4, "source", &source)) return 0;
    if (length > 0xffff - IPV4_HEADER_BYTES) {
      napi_throw_range_error(env, "TANDEM_EPACKET", "payload too long for one IPv4 datagram");
      return 0;
    }
    /* RFC 791 header; the kernel fills ID, total length and checksum (raw(7), IP_HDRINCL). */
    memset(out->header, 0, sizeof(out->header));
    out->header[0] = 0x45;
    out->header[1] = VRRP_TRAFFIC_CLASS;
    out->header[8] = (unsigned char)ttl;
    out->header[9] = VRRP_PROTOCOL;
    memcpy(out->header + 12, &source, 4);
    memcpy(out->header + 16, &destination->sin_addr, 4);
    message->msg_namelen = sizeof(struct sockaddr_in);
    out->vectors[0].iov_base = out->header;
    out->vectors[0].iov_len = IPV4_HEADER_BYTES;
    out->vectors[1].iov_base = data;
    out->vectors[1].iov_len = length;
    message->msg_iovlen = 2;
    return 1;
  }

  out->destination.sin6_family = AF_INET6;
  if (!read_address(env, destination_value, 6, "destination", &out->destination.sin6_addr)) return 0;
  /* Link-scoped destinations (ff02::12, fe80::/10 peers) need the interface as scope. */
  out->destination.sin6_scope_id = (uint32_t)socket->ifindex;
  message->msg_namelen = sizeof(struct sockaddr_in6);
  out->vectors[0].iov_base = data;
  out->vectors[0].iov_len = length;
  message->msg_iovlen = 1;
  memset(out->control, 0, sizeof(out->control));
  size_t control_length = 0;
  if (source_type == napi_string) {
    struct in6_pktinfo pktinfo;
    memset(&pktinfo, 0, sizeof(pktinfo));
    if (!read_address(env, source_value, 6, "source", &pktinfo.ipi6_addr)) return 0;
    pktinfo.ipi6_ifindex = (unsigned)socket->ifindex;
    struct cmsghdr *header = (struct cmsghdr *)out->control;
    header->cmsg_level = IPPROTO_IPV6;
    header->cmsg_type = IPV6_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(pktinfo));
    memcpy(CMSG_DATA(header), &pktinfo, sizeof(pktinfo));
    control_length += CMSG_SPACE(sizeof(pktinfo));
  }
  if (ttl_type == napi_number) {
    struct cmsghdr *header = (struct cmsghdr *)(out->control + control_length);
    header->cmsg_level = IPPROTO_IPV6;
    header->cmsg_type = IPV6_HOPLIMIT;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &ttl, sizeof(int));
    control_length += CMSG_SPACE(sizeof(int));
  }
  if (control_length > 0) {
    message->msg_control = out->control;
    message->msg_controllen = control_length;
  }
  return 1;
}

static napi_value send_vrrp(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = {NULL, NULL, NULL, NULL, NULL}, result;
  struct msghdr message;
  outgoing_t out;

  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "sendVrrp(handle, payload, destination[, source[, ttl]]) needs 3 arguments");
    return NULL;
  }
  vrrp_socket_t *socket = unwrap(env, argv[0]);
  if (!socket) return NULL;
  if (!prepare_send(env, socket, argv[1], argv[2], argc >= 4 ? argv[3] : NULL, argc >= 5 ? argv[4] : NULL, &message, &out))
    return NULL;
  ssize_t sent = sendmsg(socket->fd, &message, 0);
  if (sent < 0) return throw_errno(env, socket->family == 4 ? "sendmsg(AF_INET, 112)" : "sendmsg(AF_INET6, 112)", errno);
  napi_create_int64(env, (int64_t)sent, &result);
  return result;
}

static int array_item(napi_env env, napi_value array, uint32_t index, napi_value *out) {
  return napi_get_element(env, array, index, out) == napi_ok;
}

static napi_value send_vrrp_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], results;
  uint32_t count = 0, destinations_count = 0, sources_count = 0;
  bool is_array = false;

  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "sendVrrpBatch(handle, payloads, destinations, sources) needs 4 arguments");
    return NULL;
  }
  vrrp_socket_t *socket = unwrap(env, argv[0]);
  if (!socket) return NULL;
  for (int index = 1; index < 4; index++) {
    napi_is_array(env, argv[index], &is_array);
    if (!is_array) {
      napi_throw_type_error(env, "TANDEM_EPACKET", "payloads, destinations and sources must be arrays");
      return NULL;
    }
  }
  napi_get_array_length(env, argv[1], &count);
  napi_get_array_length(env, argv[2], &destinations_count);
  napi_get_array_length(env, argv[3], &sources_count);
  if (destinations_count != count || sources_count != count) {
    napi_throw_range_error(env, "TANDEM_EPACKET", "payloads, destinations and sources must have the same length");
    return NULL;
  }
  if (napi_create_array_with_length(env, count, &results) != napi_ok) return NULL;

  struct mmsghdr messages[SEND_VECTOR];
  outgoing_t outgoing[SEND_VECTOR];
  for (uint32_t first = 0; first < count; first += SEND_VECTOR) {
    uint32_t chunk = count - first < SEND_VECTOR ? count - first : SEND_VECTOR;
    for (uint32_t index = 0; index < chunk; index++) {
      napi_value payload, destination, source;
      if (!array_item(env, argv[1], first + index, &payload) || !array_item(env, argv[2], first + index, &destination) ||
          !array_item(env, argv[3], first + index, &source))
        return NULL;
      memset(&messages[index], 0, sizeof(messages[index]));
      if (!prepare_send(env, socket, payload, destination, source, NULL, &messages[index].msg_hdr, &outgoing[index]))
        return NULL;
    }
    /* sendmmsg stops at the first datagram the kernel refuses: note its errno and go on after it. */
    uint32_t done = 0;
    while (done < chunk) {
      int sent = sendmmsg(socket->fd, messages + done, chunk - done, 0);
      int err = errno;
      if (sent > 0) {
        for (int index = 0; index < sent; index++) {
          napi_value zero;
          napi_create_int32(env, 0, &zero);
          napi_set_element(env, results, first + done + (uint32_t)index, zero);
        }
        done += (uint32_t)sent;
      } else {
        napi_value code;
        napi_create_int32(env, sent == 0 ? EIO : err, &code);
        napi_set_element(env, results, first + done, code);
        done++;
      }
    }
  }
  return results;
}

static napi_value close_vrrp_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) {
    napi_throw_type_error(env, "TANDEM_EPACKET", "closeVrrpSocket(handle) needs 1 argument");
    return NULL;
  }
  vrrp_socket_t *socket = unwrap(env, argv[0]);
  if (!socket) return NULL;
  shut(socket);
  return NULL;
}

void register_vrrp_socket(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"openVrrpSocket", NULL, open_vrrp_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendVrrp", NULL, send_vrrp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendVrrpBatch", NULL, send_vrrp_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeVrrpSocket", NULL, close_vrrp_socket, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
}
