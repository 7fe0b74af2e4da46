#!/bin/sh
# Installs Debian's `chromium` package when /usr/bin/chromium is missing, for the browser tests
# (Playwright drives it with executable_path="/usr/bin/chromium"; no browser is ever downloaded
# by Playwright itself). Non-interactive; runs `apt-get update` only when the package is unknown.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: $CHROMIUM is missing and apt-get is not available." >&2
    echo "Install Chromium with your system's package manager so that $CHROMIUM exists," >&2
    echo "then run the tests again." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_chromium: $CHROMIUM is missing; installing it needs root." >&2
        echo "Run as root: apt-get install -y chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_chromium: installing Debian's chromium package (for the widget's browser tests)"
# Update the package lists only when apt does not know a chromium candidate yet.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "install_chromium: apt-get finished but $CHROMIUM is still missing." >&2
    exit 1
fi
echo "install_chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")"
