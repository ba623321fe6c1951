#!/usr/bin/env bash
# Fetches the jars of a Java server from Maven Central: `install-maven-server.sh NAME` resolves
# scripts/brokers/NAME/pom.xml and copies its runtime dependencies into .cache/brokers/NAME/lib.
# Used through install-kafka.sh and install-cassandra.sh, which tests, benchmarks and the CLIs run.
# Idempotent: does nothing when the jars match the pom (stamp file), so it is cheap to run before
# every test run. Maven keeps its own cache in ~/.m2, so a refetch after a pom change is quick.
# Needs Java 17+ and Maven; installs them with apt-get (root or sudo) when missing.
set -euo pipefail
name="${1:?usage: install-maven-server.sh NAME (a folder of scripts/brokers holding pom.xml)}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pom="$root/scripts/brokers/$name/pom.xml"
[ -f "$pom" ] || { echo "install-maven-server: no pom at ${pom#"$root"/}" >&2; exit 2; }
cache="$root/.cache/brokers/$name"
lib="$cache/lib"
stamp="$lib/.pom.sha256"
want="$(sha256sum "$pom" | cut -d' ' -f1)"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0

mkdir -p "$cache"
# Two test files may start servers at once: one fetch, the other waits for it.
exec 9>"$cache/.install.lock"
flock 9
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} for $name" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Two installs (Kafka, Cassandra) may reach this point together; dpkg allows one at a time.
  exec 8>"$root/.cache/brokers/.apt.lock"
  flock 8
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  exec 8>&-
fi

echo "fetching $name from Maven Central into ${lib#"$root"/}" >&2
tmp="$cache/lib.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
log="$cache/install.log"
if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-maven-server: mvn failed for $name (log above, also in $log)" >&2
  exit 1
fi
echo "$want" >"$tmp/.pom.sha256"
rm -rf "$lib"
mv "$tmp" "$lib"
