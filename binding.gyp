{
  "targets": [
    {
      "target_name": "tandem_packet",
      "sources": ["native/garp.c", "native/vrrp_socket.c", "native/common.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
