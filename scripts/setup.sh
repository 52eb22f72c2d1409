#!/usr/bin/env bash
# Installs what compat's build and tests need on a fresh Debian/Ubuntu machine; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(gcc gcc-multilib fakeroot libc6-dev binutils docker-registry skopeo apache2-utils openssl libtree gnome-keyring dbus time strace patchelf bubblewrap umoci fuse3 libfuse3-dev python3-fusepy zstd systemd)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "${1:-}" != "--npm-only" ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The lockfile pins the Node 20 lines of every dependency; .npmrc makes a bad bump fail loudly.
# (`npm ci` rejects this lockfile over platform-specific optional packages it never installs.)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npm run build
