{
  "targets": [
    {
      "target_name": "tandem_packet",
      "sources": ["native/garp.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
