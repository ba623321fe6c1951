#!/usr/bin/env bash
# Installs redis-server and rabbitmq-server from the distribution's packages when missing, for the
# transport tests. Debian's packages start system-wide services listening on every interface;
# the tests start their own instances on 127.0.0.1 with free ports instead, so the install runs
# under a policy-rc.d that forbids service starts, and any service still found running afterwards
# is stopped. Idempotent; needs root (or sudo) when something is missing.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || missing+=(rabbitmq-server)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing brokers: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

# invoke-rc.d asks /usr/sbin/policy-rc.d before starting a service; 101 means "not allowed".
# Keep whatever policy was there and put it back afterwards.
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
  saved="$(mktemp)"
  $sudo cp -p "$policy" "$saved"
fi
restore() {
  if [ -n "$saved" ]; then
    $sudo cp -p "$saved" "$policy"
    rm -f "$saved"
  else
    $sudo rm -f "$policy"
  fi
}
trap restore EXIT
printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
$sudo chmod 755 "$policy"

$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# With systemd, units may still be started by socket activation or presets: stop and disable them.
# Without it, the policy above kept the init scripts from starting anything; stop a service only
# if its pid file says it runs (an init script's `status` would itself start epmd for RabbitMQ).
if [ -d /run/systemd/system ]; then
  for unit in redis-server rabbitmq-server epmd.socket epmd; do
    $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
else
  for svc in redis-server:/run/redis/redis-server.pid rabbitmq-server:/run/rabbitmq/pid; do
    name="${svc%%:*}"
    pidfile="${svc#*:}"
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      $sudo "/etc/init.d/$name" stop >/dev/null 2>&1 || true
    fi
  done
fi
