#!/usr/bin/env bash
# kafka-run-class.sh CLASS [ARGS]: runs a Kafka class on /opt/kafka/libs with the JVM option variables of
# Kafka's own launcher: KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS,
# KAFKA_LOG4J_OPTS, KAFKA_OPTS (each with a default when unset).
set -euo pipefail
heap=${KAFKA_HEAP_OPTS:--Xmx256m}
perf=${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
log4j=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.yaml}
# Command-line tools (everything but the broker) start faster with the client compiler only.
[ "$1" = kafka.Kafka ] || perf="$perf -XX:TieredStopAtLevel=1"
# shellcheck disable=SC2086
exec java $heap $perf ${KAFKA_GC_LOG_OPTS:-} ${KAFKA_JMX_OPTS:-} $log4j ${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' "$@"
