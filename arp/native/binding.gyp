{
  "targets": [
    {
      "target_name": "l2lb_packet",
      "sources": ["packet_socket.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
