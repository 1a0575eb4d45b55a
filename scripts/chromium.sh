#!/usr/bin/env bash
# make chromium: Debian's chromium for the browser tests (e2e/browser), never a
# downloaded browser. Nothing to do when one is there (chromium or
# chromium-browser on PATH, or KEYGATE_CHROMIUM naming one). Otherwise it says
# what it installs and why before it does, installs without Debian's
# recommended packages (they are desktop parts: printing, sound, samba, perl,
# python, ~150 packages the tests never use), and as a non-root user prints the
# exact command to run instead of failing inside apt-get.
#
# Checked on Debian 12 in a minimal root: chromium and its dependencies alone
# (fonts-dejavu-core among them, through fontconfig) run the whole browser
# suite headless and render the console's text; no extra font is needed.
set -u

if [ -n "${KEYGATE_CHROMIUM:-}" ]; then
  [ -x "$KEYGATE_CHROMIUM" ] && exit 0
  echo "KEYGATE_CHROMIUM=$KEYGATE_CHROMIUM is not an executable file." >&2
  exit 1
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi

packages="chromium"
update="apt-get update"
install="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages"

cat <<EOF
== chromium: the browser tests (e2e/browser) drive the web console in a headless Chromium, and this machine has none.
   Installing Debian's chromium package and its dependencies only (--no-install-recommends: no printing, sound,
   desktop or samba extras). On Debian 12 that is about 200 MB to download and 700 MB on disk from a bare system,
   less where the X and GTK libraries are already installed. The commands:
     $update
     $install
EOF

if ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<EOF
chromium: there is no apt-get here (not Debian or Ubuntu). Install a Chromium with your package manager, then
  KEYGATE_CHROMIUM=/path/to/chromium make test
(or put it on PATH as chromium).
EOF
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<EOF
chromium: installing system packages needs root, and this is $(id -un). Run:

  sudo $update && sudo $install

then make test again. Or point the tests at a Chromium you have:
  KEYGATE_CHROMIUM=/path/to/chromium make test
EOF
  exit 1
fi
$update && eval "$install"
