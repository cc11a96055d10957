{
  "targets": [
    {
      "target_name": "l2lb_packet",
      "sources": ["packet_socket.c", "fast_path.c", "link_watch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
