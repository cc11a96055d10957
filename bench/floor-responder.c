/*
 * floor-responder: the least a user-space ARP responder can do, as a yardstick for bench/arp.ts. One
 * AF_PACKET socket bound to the interface for ARP, one blocking recv, one send: no poll, no table, no
 * hand-over, nothing l2lb does beyond answering. Whatever latency it shows over the kernel's is the price
 * of answering from user space at all (the receiving thread's wake-up), which no responder holding only
 * CAP_NET_RAW can avoid. Shares no code with l2lb. Built at bench time: cc -O2 -o floor bench/floor-responder.c
 *
 *   floor-responder <iface> <ipv4>      answers ARP requests for <ipv4> until killed; prints "ready"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) { fprintf(stderr, "usage: floor-responder <iface> <ipv4>\n"); return 2; }
  unsigned char ip[4];
  if (inet_pton(AF_INET, argv[2], ip) != 1) { fprintf(stderr, "not an IPv4 address: %s\n", argv[2]); return 2; }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
  if (fd < 0) { perror("socket"); return 1; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) { perror("SIOCGIFINDEX"); return 1; }
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
  unsigned char mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = ifindex };
  if (bind(fd, (struct sockaddr*)&address, sizeof address) < 0) { perror("bind"); return 1; }
  printf("ready\n");
  fflush(stdout);
  unsigned char frame[2048], reply[42];
  for (;;) {
    ssize_t n = recv(fd, frame, sizeof frame, 0);
    /* Ethernet (14) + ARP for Ethernet/IPv4 (28): a request (op 1) whose target protocol address is ours. */
    if (n < 42 || frame[12] != 0x08 || frame[13] != 0x06 || frame[20] != 0 || frame[21] != 1) continue;
    if (memcmp(frame + 38, ip, 4) != 0) continue;
    memcpy(reply, frame + 6, 6);          /* to the asker */
    memcpy(reply + 6, mac, 6);
    reply[12] = 0x08; reply[13] = 0x06;
    memcpy(reply + 14, frame + 14, 6);    /* htype, ptype, hlen, plen */
    reply[20] = 0; reply[21] = 2;         /* reply */
    memcpy(reply + 22, mac, 6);           /* sender: us */
    memcpy(reply + 28, ip, 4);
    memcpy(reply + 32, frame + 22, 10);   /* target: the asker's MAC and IP */
    send(fd, reply, sizeof reply, 0);
  }
}
