#!/usr/bin/env bash
# Builds both binaries in release mode and installs them with their service units.
# Usage: sudo deploy/install.sh [hub|node]
set -euo pipefail
role=${1:-node}
cd "$(dirname "$0")/.."
cargo build --release -p "baoxue-$role"
install -m 0755 "target/release/baoxue-$role" /usr/local/bin/
id baoxue >/dev/null 2>&1 || useradd --system --home "/var/lib/baoxue-$role" --shell /usr/sbin/nologin baoxue
install -d -o baoxue -g baoxue -m 0700 "/var/lib/baoxue-$role"
install -m 0644 "deploy/baoxue-$role.service" /etc/systemd/system/
systemctl daemon-reload
echo "installed baoxue-$role; initialise the data directory, then: systemctl enable --now baoxue-$role"
