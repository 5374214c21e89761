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
# The data key, as a systemd credential sealed to the TPM2 where there is one (else to the host
# key); never written in clear. Kept if it exists: a new key cannot read the data.
cred=/etc/credstore.encrypted/baoxue-$role.key
if [ ! -e "$cred" ]; then
  install -d -m 0700 /etc/credstore.encrypted
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
    | systemd-creds encrypt --name=baoxue-key --with-key=auto - "$cred"
  chmod 0600 "$cred"
fi
# Staff commands need the same key: this wrapper runs one through systemd-run with the
# credential, as the service user, in the caller's directory (input files must be readable by
# the user baoxue). E.g. `baoxue-node-cmd student import roster.csv`.
cat > "/usr/local/bin/baoxue-$role-cmd" <<WRAP
#!/bin/sh
exec systemd-run --quiet --pipe --wait --collect --same-dir -p User=baoxue \\
  -p LoadCredentialEncrypted=baoxue-key:$cred -E BAOXUE_DATA=/var/lib/baoxue-$role \\
  /usr/local/bin/baoxue-$role "\$@"
WRAP
chmod 0755 "/usr/local/bin/baoxue-$role-cmd"
systemctl daemon-reload
echo "installed baoxue-$role; its data key is the credential $cred (docs/SECURITY.md)"
echo "initialise the data directory with: baoxue-$role-cmd init ...; then: systemctl enable --now baoxue-$role"
