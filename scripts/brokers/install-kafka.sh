#!/usr/bin/env bash
# Fetches the Apache Kafka broker jars (scripts/brokers/kafka/pom.xml) from Maven Central into
# .cache/brokers/kafka/lib, for the Kafka tests, benchmarks and `node scripts/brokers/kafka.ts`.
# Idempotent: does nothing when the jars match the pom (stamp file), so it is cheap to run before
# every test run. Maven keeps its own cache in ~/.m2, so a refetch after a pom change is quick.
# Needs Java 17+ and Maven; installs them with apt-get (root or sudo) when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pom="$root/scripts/brokers/kafka/pom.xml"
cache="$root/.cache/brokers/kafka"
lib="$cache/lib"
stamp="$lib/.pom.sha256"
want="$(sha256sum "$pom" | cut -d' ' -f1)"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0

mkdir -p "$cache"
# Two test files may start brokers at once: one fetch, the other waits for it.
exec 9>"$cache/.install.lock"
flock 9
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} for the Kafka broker" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "fetching the Kafka broker from Maven Central into ${lib#"$root"/}" >&2
tmp="$cache/lib.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
log="$cache/install.log"
if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-kafka: mvn failed (log above, also in $log)" >&2
  exit 1
fi
echo "$want" >"$tmp/.pom.sha256"
rm -rf "$lib"
mv "$tmp" "$lib"
