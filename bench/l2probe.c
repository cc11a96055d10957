/*
 * l2probe: an independent ARP/NDP client over AF_PACKET, for benchmarks and fault tests. It shares no
 * code with l2lb (plain libc, its own frame builders), so what it measures is the wire, not our codecs,
 * and it adds as little as a client can: one send, one poll, clock_gettime around both.
 * Built at bench/test time: cc -O2 -o l2probe bench/l2probe.c
 *
 *   l2probe latency <iface> <source-ip> <target>... [-n rounds] [-t timeout-ms]
 *       targets alternate, one request in flight at a time; JSON: per target the samples in µs and losses
 *   l2probe flood <iface> <source-ip> <first-target> [-k addresses] [-r rate] [-d seconds]
 *       requests at `rate`/s cycling over `addresses` consecutive targets; JSON: sent, replies, rates
 *   l2probe watch <iface> <source-ip> <target> [-i interval-ms] [-d seconds]
 *       one request every interval; JSON: when each reply arrived (ms since the epoch) and from which MAC
 *
 * The source and targets are all IPv4 (ARP requests) or all IPv6 (Neighbor Solicitations to the
 * target's solicited-node group, hop limit 255, with a Source Link-Layer Address option).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd = -1, ifindex = 0, v6 = 0;
static unsigned char mac[6];
static unsigned char source[16];

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static double epoch_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void die(const char* what) { perror(what); exit(2); }

static void open_socket(const char* name) {
  fd = socket(AF_PACKET, SOCK_RAW, htons(v6 ? ETH_P_IPV6 : ETH_P_ARP));
  if (fd < 0) die("socket");
  struct ifreq request;
  memset(&request, 0, sizeof request);
  snprintf(request.ifr_name, sizeof request.ifr_name, "%s", name);
  if (ioctl(fd, SIOCGIFINDEX, &request) < 0) die("SIOCGIFINDEX");
  ifindex = request.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &request) < 0) die("SIOCGIFHWADDR");
  memcpy(mac, request.ifr_hwaddr.sa_data, 6);
  struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_protocol = htons(v6 ? ETH_P_IPV6 : ETH_P_ARP), .sll_ifindex = ifindex };
  if (bind(fd, (struct sockaddr*)&address, sizeof address) < 0) die("bind");
  /* Our own requests are not looped back to us (Linux >= 4.20): at 100,000/s that halves our reading. */
  int one = 1;
  setsockopt(fd, SOL_PACKET, 23 /* PACKET_IGNORE_OUTGOING */, &one, sizeof one);
  int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static uint32_t sum16(const unsigned char* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t)p[n - 1] << 8;
  return sum;
}

/* Builds the request for `target` into `frame`; returns its length. */
static size_t build(const unsigned char* target, unsigned char* frame) {
  if (!v6) {
    memset(frame, 0xff, 6);
    memcpy(frame + 6, mac, 6);
    const unsigned char head[10] = { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 };
    memcpy(frame + 12, head, 10);
    memcpy(frame + 22, mac, 6);
    memcpy(frame + 28, source, 4);
    memset(frame + 32, 0, 6);
    memcpy(frame + 38, target, 4);
    return 42;
  }
  unsigned char group[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
  memcpy(group + 13, target + 13, 3);
  unsigned char* ip = frame + 14;
  unsigned char* icmp = ip + 40;
  const unsigned char group_mac[6] = { 0x33, 0x33, 0xff, target[13], target[14], target[15] };
  memcpy(frame, group_mac, 6);
  memcpy(frame + 6, mac, 6);
  frame[12] = 0x86;
  frame[13] = 0xdd;
  memset(ip, 0, 40 + 32);
  ip[0] = 0x60;
  ip[5] = 32;
  ip[6] = 58;
  ip[7] = 255;
  memcpy(ip + 8, source, 16);
  memcpy(ip + 24, group, 16);
  icmp[0] = 135;
  memcpy(icmp + 8, target, 16);
  icmp[24] = 1;
  icmp[25] = 1;
  memcpy(icmp + 26, mac, 6);
  uint32_t sum = sum16(ip + 8, 32, 0) + 32 + 58;
  sum = sum16(icmp, 32, sum);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t checksum = (uint16_t)~sum;
  icmp[2] = (unsigned char)(checksum >> 8);
  icmp[3] = (unsigned char)checksum;
  return 14 + 40 + 32;
}

/* The address a received frame answers for (ARP reply's sender IP, NA's target), or NULL. */
static const unsigned char* answered(const unsigned char* frame, ssize_t n) {
  if (!v6) {
    if (n < 42 || frame[12] != 0x08 || frame[13] != 0x06 || frame[21] != 2) return NULL;
    if (memcmp(frame, mac, 6) != 0) return NULL;
    return frame + 28;
  }
  if (n < 14 + 40 + 24 || frame[12] != 0x86 || frame[13] != 0xdd || frame[14 + 6] != 58 || frame[14 + 40] != 136) return NULL;
  /* Solicited only: an unsolicited NA (a gratuitous announcement) answers nobody's question. */
  if ((frame[14 + 40 + 4] & 0x40) == 0 || memcmp(frame, mac, 6) != 0) return NULL;
  return frame + 14 + 40 + 8;
}

/* Receives one frame (waiting up to timeout_ms; -1 forever, 0 not at all); returns its length or -1. */
static ssize_t receive(unsigned char* buffer, size_t size, int timeout_ms) {
  for (;;) {
    struct sockaddr_ll from;
    socklen_t length = sizeof from;
    ssize_t n = recvfrom(fd, buffer, size, MSG_DONTWAIT, (struct sockaddr*)&from, &length);
    if (n >= 0) {
      if (from.sll_pkttype == PACKET_OUTGOING) continue;
      return n;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENETDOWN) return -1;
    if (timeout_ms == 0) return -1;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, timeout_ms) <= 0) return -1;
  }
}

static int parse_address(const char* text, unsigned char* out) {
  if (inet_pton(AF_INET6, text, out) == 1) return 6;
  if (inet_pton(AF_INET, text, out) == 1) return 4;
  fprintf(stderr, "not an address: %s\n", text);
  exit(2);
}

static void format_address(const unsigned char* address, char* text) {
  inet_ntop(v6 ? AF_INET6 : AF_INET, address, text, INET6_ADDRSTRLEN);
}

/* The k-th address after `first` (its low 32 bits incremented). */
static void nth(const unsigned char* first, uint32_t k, unsigned char* out) {
  size_t width = v6 ? 16 : 4;
  memcpy(out, first, width);
  uint32_t low = (uint32_t)out[width - 4] << 24 | (uint32_t)out[width - 3] << 16 | (uint32_t)out[width - 2] << 8 | out[width - 1];
  low += k;
  out[width - 4] = (unsigned char)(low >> 24);
  out[width - 3] = (unsigned char)(low >> 16);
  out[width - 2] = (unsigned char)(low >> 8);
  out[width - 1] = (unsigned char)low;
}

int main(int argc, char** argv) {
  if (argc < 5) { fprintf(stderr, "usage: see the comment at the top of l2probe.c\n"); return 2; }
  const char* mode = argv[1];
  int rounds = 500, timeout_ms = 100, addresses = 1, interval_ms = 10;
  double rate = 50000, seconds = 2;
  unsigned char targets[64][16];
  int target_count = 0;
  v6 = parse_address(argv[3], source) == 6;
  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) timeout_ms = atoi(argv[++i]);
    else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) addresses = atoi(argv[++i]);
    else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) rate = atof(argv[++i]);
    else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) interval_ms = atoi(argv[++i]);
    else if (target_count < 64) {
      if ((parse_address(argv[i], targets[target_count]) == 6) != v6) { fprintf(stderr, "mixed families\n"); return 2; }
      target_count++;
    }
  }
  if (target_count == 0) { fprintf(stderr, "no target\n"); return 2; }
  open_socket(argv[2]);
  unsigned char frame[128], buffer[2048];
  char text[INET6_ADDRSTRLEN];
  size_t width = v6 ? 16 : 4;

  if (strcmp(mode, "latency") == 0) {
    double* samples = calloc((size_t)rounds * (size_t)target_count, sizeof *samples);
    int* counts = calloc((size_t)target_count, sizeof *counts);
    int* lost = calloc((size_t)target_count, sizeof *lost);
    size_t lengths[64];
    unsigned char frames[64][128];
    for (int t = 0; t < target_count; t++) lengths[t] = build(targets[t], frames[t]);
    for (int r = 0; r < rounds; r++) {
      for (int t = 0; t < target_count; t++) {
        while (receive(buffer, sizeof buffer, 0) >= 0) {} /* nothing stale counts as this round's answer */
        double start = now_us();
        if (send(fd, frames[t], lengths[t], 0) < 0) { lost[t]++; continue; }
        double deadline = start + timeout_ms * 1000.0;
        int got = 0;
        for (;;) {
          double left = deadline - now_us();
          if (left <= 0) break;
          ssize_t n = receive(buffer, sizeof buffer, (int)(left / 1000.0) + 1);
          if (n < 0) continue;
          const unsigned char* address = answered(buffer, n);
          if (address != NULL && memcmp(address, targets[t], width) == 0) { got = 1; break; }
        }
        double end = now_us();
        if (got) samples[(size_t)t * (size_t)rounds + (size_t)counts[t]++] = end - start;
        else lost[t]++;
      }
    }
    printf("{\"mode\":\"latency\",\"rounds\":%d,\"targets\":{", rounds);
    for (int t = 0; t < target_count; t++) {
      format_address(targets[t], text);
      printf("%s\"%s\":{\"lost\":%d,\"samples\":[", t ? "," : "", text, lost[t]);
      for (int i = 0; i < counts[t]; i++) printf("%s%.2f", i ? "," : "", samples[(size_t)t * (size_t)rounds + (size_t)i]);
      printf("]}");
    }
    printf("}}\n");
    return 0;
  }

  if (strcmp(mode, "flood") == 0) {
    /* Frames built up front: the pacing loop only sends and drains. */
    unsigned char (*frames)[128] = malloc((size_t)addresses * 128);
    size_t length = 0;
    unsigned char target[16];
    for (int k = 0; k < addresses; k++) { nth(targets[0], (uint32_t)k, target); length = build(target, frames[k]); }
    unsigned long long sent = 0, replies = 0, send_errors = 0;
    double start = now_us(), end = start + seconds * 1e6;
    double interval = 1e6 / rate;
    for (;;) {
      double t = now_us();
      if (t >= end) break;
      unsigned long long due = (unsigned long long)((t - start) / interval) + 1;
      while (sent < due) {
        if (send(fd, frames[sent % (unsigned long long)addresses], length, MSG_DONTWAIT) < 0) send_errors++;
        sent++;
      }
      ssize_t n;
      while ((n = receive(buffer, sizeof buffer, 0)) >= 0) if (answered(buffer, n) != NULL) replies++;
    }
    double elapsed = (now_us() - start) / 1e6;
    /* Late replies to the last requests still count: wait 200 ms for the tail. */
    double drain_end = now_us() + 200e3;
    while (now_us() < drain_end) {
      ssize_t n = receive(buffer, sizeof buffer, 20);
      if (n >= 0 && answered(buffer, n) != NULL) replies++;
    }
    struct tpacket_stats stats;
    socklen_t stats_length = sizeof stats;
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &stats_length);
    printf("{\"mode\":\"flood\",\"addresses\":%d,\"offeredRate\":%.0f,\"sent\":%llu,\"sendErrors\":%llu,\"replies\":%llu,\"seconds\":%.3f,\"achievedRate\":%.0f,\"proberDrops\":%u}\n",
           addresses, rate, sent - send_errors, send_errors, replies, elapsed, (double)(sent - send_errors) / elapsed, stats.tp_drops);
    return 0;
  }

  if (strcmp(mode, "watch") == 0) {
    size_t length = build(targets[0], frame);
    double end = now_us() + seconds * 1e6, next = 0;
    unsigned long long sent = 0;
    printf("{\"mode\":\"watch\",\"replies\":[");
    int first = 1;
    for (;;) {
      double t = now_us();
      if (t >= end) break;
      if (t >= next) {
        if (send(fd, frame, length, MSG_DONTWAIT) >= 0) sent++;
        next = t + interval_ms * 1000.0;
      }
      int wait = (int)((next - now_us()) / 1000.0) + 1;
      ssize_t n = receive(buffer, sizeof buffer, wait < 1 ? 1 : wait);
      if (n < 0) continue;
      const unsigned char* address = answered(buffer, n);
      if (address == NULL || memcmp(address, targets[0], width) != 0) continue;
      const unsigned char* from = buffer + 6;
      printf("%s[%.3f,\"%02x:%02x:%02x:%02x:%02x:%02x\"]", first ? "" : ",", epoch_ms(), from[0], from[1], from[2], from[3], from[4], from[5]);
      first = 0;
    }
    printf("],\"sent\":%llu}\n", sent);
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
