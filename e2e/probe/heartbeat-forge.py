#!/usr/bin/env python3
"""An attacker on the segment, for the trust tests: forged and replayed speaker heartbeats.

It imports nothing of l2lb. The datagram layout is the one documented in operator/heartbeat-auth.ts
(magic "l2hb", version 1, kind, incarnation, counter, timestamp, node name, 32-byte HMAC), written here
from that description; without the memberlist key the MAC can only be absent or wrong. Every mode sends
each datagram `--count` times to every address in `--to` (UDP port 7946), from our own address or, with
`--source`, from a spoofed one (a raw socket writes the IPv4 header itself).

  json     the pre-authentication plain JSON goodbye: {"l2lb":1,"node":NODE,"kind":"goodbye"}
  forged   a well-formed version-1 goodbye for NODE with no MAC (--no-mac) or 32 random bytes as its MAC
  replay   the UDP payloads to port 7946 captured in a pcap file (tcpdump -w), sent again unchanged;
           --source original sends each from the address it was captured from
"""

import argparse
import os
import socket
import struct
import time

PORT = 7946


def forged(node: str, with_mac: bool) -> bytes:
    name = node.encode()
    header = b"l2hb" + bytes([1, 2]) + os.urandom(8) + struct.pack(">QQ", 1, int(time.time() * 1000)) + bytes([len(name)]) + name
    return header + (os.urandom(32) if with_mac else b"")


def captured(path: str) -> list:
    """(source address, payload) of every IPv4 UDP datagram to PORT in a pcap file (Ethernet link type)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    found, offset = [], 24
    while offset + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[offset + 8:offset + 12])[0]
        frame = data[offset + 16:offset + 16 + incl]
        offset += 16 + incl
        if len(frame) < 42 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 17:
            continue
        udp = frame[14 + ihl:]
        if struct.unpack(">H", udp[2:4])[0] != PORT:
            continue
        length = struct.unpack(">H", udp[4:6])[0]
        found.append((socket.inet_ntoa(frame[26:30]), udp[8:length]))
    return found


def send(payload: bytes, to: str, source):
    if source is None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(payload, (to, PORT))
        return
    udp = struct.pack(">HHHH", 40000, PORT, 8 + len(payload), 0) + payload  # checksum 0: none, allowed over IPv4
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(source), socket.inet_aton(to))
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
        s.sendto(ip + udp, (to, 0))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["json", "forged", "replay"])
    parser.add_argument("--to", required=True, help="comma-separated IPv4 addresses")
    parser.add_argument("--node", default="")
    parser.add_argument("--no-mac", action="store_true")
    parser.add_argument("--pcap")
    parser.add_argument("--source", help="spoofed source address, or 'original' (replay)")
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    if args.mode == "json":
        items = [(None, ('{"l2lb":1,"node":"%s","kind":"goodbye"}' % args.node).encode())]
    elif args.mode == "forged":
        items = [(None, forged(args.node, not args.no_mac))]
    else:
        items = captured(args.pcap)
    sent = 0
    for _ in range(args.count):
        for original, payload in items:
            source = original if args.source == "original" else args.source
            for to in args.to.split(","):
                send(payload, to, source)
                sent += 1
        time.sleep(0.01)
    print(sent)


if __name__ == "__main__":
    main()
