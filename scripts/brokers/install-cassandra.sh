#!/usr/bin/env bash
# Fetches the Apache Cassandra jars (scripts/brokers/cassandra/pom.xml) from Maven Central into
# .cache/brokers/cassandra/lib, for the Cassandra tests, benchmarks and
# `node scripts/brokers/cassandra.ts`. A no-op when they are current; see install-maven-server.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-maven-server.sh" cassandra
