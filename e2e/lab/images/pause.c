// The cluster lab's pod sandbox: holds a pod's namespaces, reaps orphans, exits on SIGINT or SIGTERM.
// The lab has no registry, so it builds this (static, a few KB of code) into a local image instead of
// pulling registry.k8s.io/pause (e2e/lab/images.ts).
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int signo) { _exit(128 + signo); }

static void reap(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {.sa_handler = quit};
  struct sigaction child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGCHLD, &child, NULL) < 0) return 1;
  for (;;) pause();
}
