// Kafka 4.3.1 and Apicurio Registry 3.3.3 started through testcontainers, as generic containers of the images
// docker-compose.yml uses (on this kind of machine: the local stand-ins of infra/images/, built by
// `scripts/containers.sh images`), with the same environment as the compose file. Where a container engine is
// present this is the other way for tests to get their broker and registry; scripts/stack.sh's process stack stays
// the default (test/global-setup.ts). Used by test/testcontainers.test.ts.
//
// Engine: DOCKER_HOST defaults to podman's Docker-compatible socket (scripts/containers.sh service). Ryuk, the
// reaper testcontainers starts by default (privileged under podman, as its documentation says), is an image on
// Docker Hub, which no registry here serves: it is disabled (TESTCONTAINERS_RYUK_DISABLED) unless set otherwise,
// and stop() removes what this started.
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import type { StartedTestContainer } from "testcontainers";

export const PODMAN_SOCKET = "/run/podman/podman.sock";

export interface ContainerStack {
  /** Kafka bootstrap address on the host (127.0.0.1:<published port>). */
  bootstrap: string;
  /** Confluent-compatible registry API on the host. */
  registryUrl: string;
  stop(): Promise<void>;
}

/** Why no container engine is usable, or null when one is. */
export function engineUnavailable(): string | null {
  if (process.env.DOCKER_HOST) return null;
  return existsSync(PODMAN_SOCKET) ? null : `no DOCKER_HOST and no podman socket at ${PODMAN_SOCKET}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startContainerStack(): Promise<ContainerStack> {
  process.env.DOCKER_HOST ??= `unix://${PODMAN_SOCKET}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  // Imported only now: testcontainers reads its environment when it is loaded.
  const { GenericContainer, Network, Wait } = await import("testcontainers");
  const network = await new Network().start();
  const started: StartedTestContainer[] = [];
  try {
    // The advertised host listener must name the published port, so it is chosen up front.
    const hostPort = await freePort();
    const kafka = await new GenericContainer("apache/kafka:4.3.1")
      .withNetwork(network)
      .withNetworkAliases("kafka")
      // 9092 too: podman's API lists an image's EXPOSEd ports among the bindings ("9092/tcp": null) and
      // testcontainers waits until every binding has a host port.
      .withExposedPorts({ container: 19092, host: hostPort }, 9092)
      .withEnvironment({
        CLUSTER_ID: "Y2VydHN0cmVhbS1rYWZrYQ",
        KAFKA_NODE_ID: "1",
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:19092",
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://kafka:9092,HOST://127.0.0.1:${hostPort}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,HOST:PLAINTEXT",
        KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
        KAFKA_INTER_BROKER_LISTENER_NAME: "PLAINTEXT",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@kafka:9093",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: "1",
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
        KAFKA_NUM_PARTITIONS: "1",
        KAFKA_HEAP_OPTS: "-Xms128m -Xmx512m",
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(240_000)
      .start();
    started.push(kafka);
    const registry = await new GenericContainer("apicurio/apicurio-registry:3.3.3")
      .withNetwork(network)
      .withNetworkAliases("registry")
      .withExposedPorts(8080, 9000)
      .withEnvironment({
        APICURIO_STORAGE_KIND: "kafkasql",
        APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: "kafka:9092",
        QUARKUS_HTTP_HOST: "0.0.0.0",
        QUARKUS_MANAGEMENT_HOST: "0.0.0.0",
        JAVA_OPTS_APPEND: "-Xms64m -Xmx384m",
      })
      .withWaitStrategy(Wait.forHttp("/apis/ccompat/v7/subjects", 8080).forStatusCode(200))
      .withStartupTimeout(240_000)
      .start();
    started.push(registry);
    return {
      bootstrap: `127.0.0.1:${hostPort}`,
      registryUrl: `http://127.0.0.1:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      stop: async () => {
        for (const c of started.reverse()) await c.stop({ remove: true, removeVolumes: true });
        await network.stop();
      },
    };
  } catch (err) {
    for (const c of started.reverse())
      await c.stop({ remove: true, removeVolumes: true }).catch(() => undefined);
    await network.stop().catch(() => undefined);
    throw err;
  }
}
