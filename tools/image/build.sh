#!/usr/bin/env bash
# `make image`: l2lb's OCI image, built with no daemon and no registry (umoci writes the OCI layout, skopeo
# turns it into a docker-archive tar for `docker load`, `ctr images import` and `kind load image-archive`).
#
# The image holds only what the programs run on: this machine's /usr/bin/node and the shared libraries
# `ldd` says it and the ARP addon need, the compiled modules the entry points can reach
# (tools/image/runtime-files.ts), production node_modules, and the addon. No npm, no compiler, no shell:
# the manifests run `node <program>` directly, so nothing needs one.
#
# Reproducible: every file gets mtime SOURCE_DATE_EPOCH (default: the last commit's time), owner 0:0 and
# normalised modes; umoci writes the layer tar walking the tree in lexical order with a zero gzip header
# time; the config's `created` and its one history entry's are SOURCE_DATE_EPOCH. Two builds of one tree
# give one digest: `IMAGE_OUT=/tmp/second tools/image/build.sh` and compare the manifest digests it prints.
#
# Needs root (files are owned by 0:0 in the layer) and a fresh `make build` (the Makefile runs it first).
# Writes .image/oci (OCI layout, tag <version>) and .image/l2lb-<version>.tar (docker-archive).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
out=${IMAGE_OUT:-$repo/.image}
version=$(node -p 'require("./package.json").version')
ref=${IMAGE_REF:-ghcr.io/l2lb/l2lb:$version}
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
addon=arp/native/build/Release/l2lb_packet.node
node_bin=$(readlink -f "$(command -v node)")

[ "$(id -u)" -eq 0 ] || { echo "image: run as root (the layer's files are owned by 0:0)" >&2; exit 1; }
[ -f "$addon" ] && [ -f dist/operator/controller-main.js ] || { echo "image: run \`make build\` first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{app,etc,tmp,usr/bin}

# The runtime: node, its ELF interpreter and every library it or the addon links, at the paths the
# dynamic loader looks them up by (ldd prints them; the copy is the file a symlink points at).
install -m 0755 "$node_bin" "$rootfs/usr/bin/node"
ldd "$node_bin" "$addon" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' | sort -u |
  while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done

# Who uid 65532 is (the image's default user), so nothing that asks the user database fails.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"

# The program: compiled by tsconfig.image.json (the product only: no test, test kit, lab, benchmark or
# build tool is even compiled), the modules reachable from the entry points, package.json (it says the
# modules are ES modules), and the addon where arp/packet-socket.js looks.
npx tsc -p tsconfig.image.json --outDir "$work/dist"
node dist/tools/image/runtime-files.js "$work" >"$work/files"
while read -r file; do
  mkdir -p "$rootfs/app/$(dirname "$file")"
  cp "$work/$file" "$rootfs/app/$file"
done <"$work/files"
cp package.json "$rootfs/app/package.json"
mkdir -p "$rootfs/app/$(dirname "$addon")"
cp "$addon" "$rootfs/app/$addon"

# Production dependencies exactly as the lock file pins them, without running any install script (the
# only one is ours, the addon, copied above). npm's cache from `make build` serves them offline.
cp package.json package-lock.json "$work/"
(cd "$work" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
# npm's own bookkeeping and the TypeScript declarations and source maps are not read at run time.
rm -f "$work/node_modules/.package-lock.json"
find "$work/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete
find "$work/node_modules" -depth -type d -empty -delete
mv "$work/node_modules" "$rootfs/app/node_modules"

# Normalise what the layer records: owner, modes, times.
chown -R 0:0 "$rootfs"
chmod -R u+rwX,go+rX,go-w "$rootfs"
chmod 1777 "$rootfs/tmp"
find "$rootfs" -exec touch -h -d "@$epoch" {} +

rm -rf "$out/oci"
mkdir -p "$out"
umoci init --layout "$out/oci"
umoci new --image "$out/oci:$version"
umoci insert --image "$out/oci:$version" --history.created "$created" --history.author l2lb \
  --history.created_by "tools/image/build.sh (node, its libraries, dist/, production node_modules, the ARP addon)" "$rootfs" /
umoci config --no-history --image "$out/oci:$version" \
  --created "$created" --author l2lb --os linux --architecture amd64 \
  --config.user 65532:65532 --config.entrypoint node --config.workingdir /app \
  --config.env PATH=/usr/bin --config.env NODE_ENV=production \
  --config.label org.opencontainers.image.source=https://github.com/l2lb/l2lb \
  --config.label "org.opencontainers.image.version=$version"
umoci gc --layout "$out/oci"

rm -f "$out/l2lb-$version.tar"
skopeo copy --quiet "oci:$out/oci:$version" "docker-archive:$out/l2lb-$version.tar:$ref"

manifest=$(node -p 'JSON.parse(fs.readFileSync(process.argv[1], "utf8")).manifests[0].digest' "$out/oci/index.json")
size=$(du -sb --apparent-size "$out/l2lb-$version.tar" | cut -f1)
echo "image $ref"
echo "  oci layout      $out/oci (tag $version), manifest $manifest"
echo "  docker-archive  $out/l2lb-$version.tar ($((size / 1024 / 1024)) MiB), config $(tar -xOf "$out/l2lb-$version.tar" manifest.json | node -p 'JSON.parse(fs.readFileSync(0, "utf8"))[0].Config')"
