#!/usr/bin/env bash
# Proves the image's own node runs l2lb: unpacks .image/oci with umoci and, chrooted into that root
# filesystem (private mount and pid namespaces, its own /proc, as a container runtime would give), loads
# every runtime module and dependency as uid 65532, loads the ARP addon and opens a packet socket with
# it as root (the speaker's CAP_NET_RAW), and validates a pool with the `l2lb validate` CLI.
# Nothing of the host's is visible inside but the kernel: a missing library or module fails here.
# Needs root and `make image` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${IMAGE_OUT:-$(pwd)/.image}
version=$(node -p 'require("./package.json").version')
[ -d "$out/oci" ] || { echo "smoke: no image at $out/oci; run \`make image\` first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
umoci unpack --image "$out/oci:$version" "$work/bundle" >/dev/null
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs/proc"

# Runs one command in the image's root with the image's working directory and environment.
in_image() {
  local user=$1
  shift
  env -i PATH=/usr/bin:/usr/sbin:/bin:/sbin NODE_ENV=production HOME=/tmp \
    unshare --mount --pid --fork --mount-proc="$rootfs/proc" \
    chroot --userspec="$user" "$rootfs" /usr/bin/node --input-type=module -e "process.chdir('/app'); $*"
}

echo "smoke: the files in the image"
(cd "$rootfs" && find . -path ./proc -prune -o -type f -print | sort | sed 's|^\./|/|') >"$work/files"
echo "  $(wc -l <"$work/files") files, $(du -sh --apparent-size "$rootfs" | cut -f1) unpacked"
# No package manager, shell or compiler anywhere; none of our tests, test kits or lab in /app/dist (the
# dependencies' own files are as npm ships them, apart from type declarations and source maps).
if grep -E '/(npm|npx|corepack|sh|bash|dash|busybox|gcc|cc|make|python3?)$|^/app/dist/.*(\.test\.js|\.e2e\.js|testkit|wire-agent)|^/app/dist/(e2e|bench|tools)/' "$work/files"; then
  echo "smoke: the image carries something it must not (above)" >&2
  exit 1
fi

identity=$(in_image 65532:65532 "console.log(process.version + ' runs as uid ' + process.getuid() + ', PATH ' + process.env.PATH)")
echo "smoke: node $identity"

echo "smoke: every runtime module and dependency loads"
in_image 65532:65532 "
  const { readdirSync } = await import('node:fs');
  const skip = new Set(['controller-main.js', 'speaker-main.js']); // they start the programs
  let count = 0;
  for (const folder of ['operator', 'reconcilers', 'arp', 'schemas']) {
    for (const name of readdirSync('/app/dist/' + folder, { recursive: true })) {
      if (!name.endsWith('.js') || skip.has(name)) continue;
      await import('/app/dist/' + folder + '/' + name);
      count++;
    }
  }
  console.log('  ' + count + ' modules loaded, with the dependencies they import');
"

echo "smoke: the programs start and stop at the first thing only a cluster can give"
for program in controller-main.js speaker-main.js; do
  status=0
  in_image 65532:65532 "process.argv[1] = '/app/dist/operator/$program'; await import('/app/dist/operator/$program')" >"$work/$program.log" 2>&1 || status=$?
  # Outside a cluster, with no kubeconfig, the programs exit 1 saying so: that is a program that ran.
  if [ "$status" -ne 1 ] || grep -q 'ERR_MODULE_NOT_FOUND\|Cannot find\|SyntaxError' "$work/$program.log"; then
    echo "smoke: $program exited $status:" >&2
    cat "$work/$program.log" >&2
    exit 1
  fi
  echo "  $program: $(head -c 200 "$work/$program.log")"
done

echo "smoke: the ARP addon loads and opens an AF_PACKET socket (as root: it needs CAP_NET_RAW)"
in_image 0:0 "
  const { PacketSocket } = await import('/app/dist/arp/packet-socket.js');
  const socket = PacketSocket.open(1, 0x0806); // loopback, ARP
  socket.close();
  console.log('  opened and closed an ARP packet socket on ifindex 1');
"

echo "smoke: l2lb validate, in the image"
printf 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec: {addresses: [192.168.1.240/28]}\n' >"$rootfs/tmp/pool.yaml"
in_image 65532:65532 "process.argv = ['node', '/app/dist/operator/cli.js', 'validate', '-f', '/tmp/pool.yaml']; await import('/app/dist/operator/cli.js')" | sed 's/^/  /'
echo "smoke: passed"
