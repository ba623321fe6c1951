#!/usr/bin/env bash
# Installs the system tools the test suite uses when they are missing: tshark, capinfos and
# tcpdump (oracles), softflowd (flow-export peer) and chromium (dashboard browser test); the
# brokers the transport tests start on loopback: Redis and RabbitMQ (Debian packages) and the
# Apache Kafka broker (jars from Maven Central); and the Apache Cassandra node the store tests
# start (jars from Maven Central). Runs before `npm test`; needs root (or sudo) for apt-get on
# Debian/Ubuntu.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/brokers/install-redis-rabbitmq.sh"
bash "$here/brokers/install-kafka.sh"
bash "$here/brokers/install-cassandra.sh"
missing=()
command -v tshark >/dev/null 2>&1 || missing+=(tshark)
command -v capinfos >/dev/null 2>&1 || missing+=(wireshark-common)
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
command -v softflowd >/dev/null 2>&1 || [ -x /usr/sbin/softflowd ] || missing+=(softflowd)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing test tools: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
