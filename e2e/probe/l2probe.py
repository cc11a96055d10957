#!/usr/bin/env python3
"""An independent Layer 2 prober: who answers ARP (IPv4) and NDP (IPv6) for a set of addresses.

It imports nothing of l2lb: frames are built and parsed here, from the RFCs (826, 4861), on AF_PACKET
sockets. Run it inside the lab's client namespace:

  ip netns exec lab-client python3 l2probe.py census --iface eth0 --rounds 3 < addresses
      one JSON object: {"answers": {ip: [mac, ...]}, "rounds": {ip: answered-rounds}}
  ip netns exec lab-client python3 l2probe.py watch --iface eth0 --interval-ms 20 --duration-s 60 < addresses
      one JSON line per round: {"t": ms since the epoch, "a": {ip: [mac, ...]}} (unanswered addresses omitted)

Only answers addressed to us count: an ARP reply whose target is our address, a solicited Neighbor
Advertisement to our unicast address. Gratuitous ARP and unsolicited advertisements are not answers.
"""

import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST = b"\xff" * 6


def iface_mac(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def iface_addresses(iface):
    """The interface's first IPv4 address and its global IPv6 address, read from `ip` (no netifaces)."""
    import subprocess
    out = subprocess.run(["ip", "-j", "addr", "show", "dev", iface], capture_output=True, text=True, check=True).stdout
    v4 = v6 = None
    for link in json.loads(out):
        for a in link.get("addr_info", []):
            if a["family"] == "inet" and v4 is None:
                v4 = a["local"]
            if a["family"] == "inet6" and a.get("scope") == "global" and v6 is None:
                v6 = a["local"]
    return v4, v6


def mac_text(raw):
    return ":".join(f"{b:02x}" for b in raw)


def arp_request(src_mac, src_ip, target):
    eth = BROADCAST + src_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, socket.inet_aton(src_ip), b"\x00" * 6, socket.inet_aton(target))
    return eth + arp


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def neighbor_solicitation(src_mac, src_ip6, target):
    t = ipaddress.IPv6Address(target).packed
    s = ipaddress.IPv6Address(src_ip6).packed
    group = bytes.fromhex("ff0200000000000000000001ff") + t[13:]
    dst_mac = b"\x33\x33" + group[12:]
    icmp = struct.pack("!BBHI16s", 135, 0, 0, 0, t) + struct.pack("!BB6s", 1, 1, src_mac)
    pseudo = s + group + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, 255, s, group)
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + ip6 + icmp


def parse_arp_answer(frame, my_ip):
    if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
        return None
    _, _, _, _, op, sha, spa, _, tpa = struct.unpack("!HHBBH6s4s6s4s", frame[14:42])
    if op != 2 or tpa != my_ip:
        return None
    return socket.inet_ntoa(spa), mac_text(sha)


def parse_na(frame, my_ip6):
    if len(frame) < 14 + 40 + 24 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IPV6:
        return None
    ip6 = frame[14:54]
    if ip6[6] != 58 or ip6[24:40] != my_ip6:
        return None
    icmp = frame[54:]
    if icmp[0] != 136:
        return None
    target = str(ipaddress.IPv6Address(icmp[8:24]))
    mac = frame[6:12]
    opts = icmp[24:]
    while len(opts) >= 8 and opts[1] > 0:
        if opts[0] == 2:
            mac = opts[2:8]
        opts = opts[opts[1] * 8:]
    return target, mac_text(mac)


class Prober:
    def __init__(self, iface, targets):
        self.mac = iface_mac(iface)
        self.ip4, self.ip6 = iface_addresses(iface)
        self.v4 = [t for t in targets if ":" not in t]
        self.v6 = [str(ipaddress.IPv6Address(t)) for t in targets if ":" in t]
        self.sockets = []
        if self.v4:
            self.arp = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
            self.arp.bind((iface, ETH_P_ARP))
            self.sockets.append(self.arp)
            self.arp_frames = [arp_request(self.mac, self.ip4, t) for t in self.v4]
        if self.v6:
            if self.ip6 is None:
                raise SystemExit(f"{iface} has no global IPv6 address to ask from")
            self.ndp = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
            self.ndp.bind((iface, ETH_P_IPV6))
            self.sockets.append(self.ndp)
            self.ns_frames = [neighbor_solicitation(self.mac, self.ip6, t) for t in self.v6]
        for s in self.sockets:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.setblocking(False)
        self.my4 = socket.inet_aton(self.ip4) if self.ip4 else b""
        self.my6 = ipaddress.IPv6Address(self.ip6).packed if self.ip6 else b""

    def drain(self, answers, until):
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select(self.sockets, [], [], left)
            for s in ready:
                while True:
                    try:
                        frame = s.recv(2048)
                    except BlockingIOError:
                        break
                    got = parse_arp_answer(frame, self.my4) if s is getattr(self, "arp", None) else parse_na(frame, self.my6)
                    if got is not None:
                        answers.setdefault(got[0], set()).add(got[1])

    def round(self, wait_s, pace_every=64):
        """Asks once for every address and collects the answers for `wait_s` after the last request."""
        answers = {}
        sent = 0
        for s, frames in ((getattr(self, "arp", None), getattr(self, "arp_frames", [])), (getattr(self, "ndp", None), getattr(self, "ns_frames", []))):
            for frame in frames:
                s.send(frame)
                sent += 1
                if sent % pace_every == 0:
                    # read what came back so far, so a large census never overflows our own buffer
                    self.drain(answers, time.monotonic() + 0.002)
        self.drain(answers, time.monotonic() + wait_s)
        return answers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["census", "watch"])
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wait-ms", type=int, default=300)
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--duration-s", type=float, default=60)
    args = parser.parse_args()
    targets = [line.strip() for line in sys.stdin if line.strip()]
    prober = Prober(args.iface, targets)
    if args.mode == "census":
        union, rounds = {}, {}
        for _ in range(args.rounds):
            for ip, macs in prober.round(args.wait_ms / 1000).items():
                union.setdefault(ip, set()).update(macs)
                rounds[ip] = rounds.get(ip, 0) + 1
        print(json.dumps({"answers": {ip: sorted(m) for ip, m in union.items()}, "rounds": rounds}))
        return
    end = time.monotonic() + args.duration_s
    wait = min(args.interval_ms / 1000 * 0.8, 0.2)
    while time.monotonic() < end:
        started = time.monotonic()
        t = int(time.time() * 1000)
        answers = prober.round(wait)
        print(json.dumps({"t": t, "a": {ip: sorted(m) for ip, m in answers.items()}}), flush=True)
        rest = args.interval_ms / 1000 - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        os._exit(0)
