#!/usr/bin/env bash
# Installs what building and testing Quartierhub needs on Debian, and only
# what is missing. Go itself must be on PATH (Go 1.26 or later).
#   deps.sh build   packages needed to build everything
#   deps.sh test    packages needed by the whole test suite
#   deps.sh packages  packages needed by make test-packages
set -euo pipefail
what="${1:-build}"

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "deps: add /usr/local/go/bin to PATH" >&2
  else
    echo "deps: Go 1.26 or later is required (https://go.dev/doc/install)" >&2
  fi
  exit 1
fi

pkgs=()
case "$what" in
  # cgo with OpenGL and X11 headers for the kiosk window (Fyne with GLFW)
  # and espeak-ng with alsa-utils' aplay: the window speaks through them
  # (make run), and the speech tests run the real ones; DejaVu for the
  # Arabic that Fyne's own font lacks
  build) pkgs=(gcc libc6-dev pkg-config libgl1-mesa-dev xorg-dev espeak-ng alsa-utils fonts-dejavu-core) ;;
  # and a virtual display with a clicker for the end-to-end window test,
  # a browser for the console tests, PostgreSQL for the second store,
  # systemd-analyze and strace for the systemd units' checks
  # (udev: udevadm test checks the serial device rules; weston, xwayland
  # and x11-utils' xev: the kiosk window inside Weston's kiosk-shell);
  # nodejs and npm (below) fetch axe-core for the console's accessibility
  # checks
  test) pkgs=(gcc libc6-dev pkg-config libgl1-mesa-dev xorg-dev espeak-ng alsa-utils fonts-dejavu-core xvfb xdotool chromium postgresql systemd strace udev weston xwayland x11-utils) ;;
  # the Debian packages' checks: lintian, Debian 12 machines made with
  # mmdebstrap and booted in systemd-nspawn (entered with nsenter), the
  # session's compositor, dpkg-shlibdeps for the kiosk's dependencies
  packages) pkgs=(lintian mmdebstrap systemd-container util-linux weston xwayland dpkg-dev) ;;
  *) echo "deps: unknown set $what" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js by the command, not the package: a machine with NodeSource's
# nodejs (npm included) must not get Debian's npm, which conflicts with it.
if [ "$what" = test ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
go mod download

# axe-core, the accessibility rules the console's browser tests run in
# Chromium (hub-server/internal/console: axeScript reads it from here, or
# from AXE_CORE_JS), pinned.
if [ "$what" = test ]; then
  axe_version=4.14.1
  axe_dir="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/quartierhub/npm"
  if [ "$(node -p "try { require('$axe_dir/node_modules/axe-core/package.json').version } catch (e) { '' }" 2>/dev/null)" != "$axe_version" ]; then
    echo "deps: installing axe-core $axe_version into $axe_dir"
    npm install --silent --no-audit --no-fund --prefix "$axe_dir" "axe-core@$axe_version"
  fi
fi
