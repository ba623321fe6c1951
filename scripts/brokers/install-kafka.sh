#!/usr/bin/env bash
# Fetches the Apache Kafka broker jars (scripts/brokers/kafka/pom.xml) from Maven Central into
# .cache/brokers/kafka/lib, for the Kafka tests, benchmarks and `node scripts/brokers/kafka.ts`.
# A no-op when they are current; see install-maven-server.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-maven-server.sh" kafka
