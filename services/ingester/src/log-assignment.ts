import { createHash } from "node:crypto";
import { type Assigner, AssignerProtocol, type PartitionAssigner } from "kafkajs";

/**
 * How replicas share the logs: every replica joins one consumer group on the coordination topic
 * (`certstream.ingester.logs`, P partitions, never written to). A log belongs to partition
 * `logPartition(logId, P)`, and a replica owns exactly the logs of the partitions the group assigned to it. Kafka
 * guarantees each partition one member, so each log has one owner; a member that dies stops heartbeating and the
 * group hands its partitions (hence its logs) to the others after the session timeout.
 *
 * The assignor (run by the group leader) balances by logs, not partitions: it weighs each partition by the number
 * of logs the leader's list maps to it, and gives the heaviest partitions first to the least loaded member.
 * Every partition is assigned, so a log the leader has not heard of yet still has an owner.
 */
export const LOG_ASSIGNOR_NAME = "CertstreamLogBalanced";

/** Stable mapping log id → coordination partition (the same on every replica and every version). */
export function logPartition(logId: string, partitions: number): number {
  const h = createHash("sha256").update(logId, "utf8").digest();
  return h.readUInt32BE(0) % partitions;
}

export interface MemberLoad {
  memberId: string;
  partitions: number[];
  logs: number;
}

/** Pure assignment: partitions (with their log counts) over members. Deterministic for the same inputs. */
export function assignPartitions(memberIds: string[], partitionWeights: number[]): Map<string, number[]> {
  const members: MemberLoad[] = [...memberIds]
    .sort()
    .map((memberId) => ({ memberId, partitions: [], logs: 0 }));
  const out = new Map<string, number[]>();
  if (members.length === 0) return out;
  const order = partitionWeights.map((w, p) => ({ p, w })).sort((a, b) => b.w - a.w || a.p - b.p);
  for (const { p, w } of order) {
    let best = members[0];
    for (const m of members) {
      if (m.logs < best.logs || (m.logs === best.logs && m.partitions.length < best.partitions.length))
        best = m;
    }
    best.partitions.push(p);
    best.logs += w;
  }
  for (const m of members)
    out.set(
      m.memberId,
      m.partitions.sort((a, b) => a - b),
    );
  return out;
}

/** kafkajs partition assigner over the coordination topic; `knownLogs` is the leader's current log list. */
export function logBalancedAssigner(knownLogs: () => string[]): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: LOG_ASSIGNOR_NAME,
    version: 1,
    async assign({ members, topics }) {
      const perMember = new Map<string, Record<string, number[]>>();
      for (const m of members) perMember.set(m.memberId, {});
      for (const topic of topics) {
        const count = cluster.findTopicPartitionMetadata(topic).length;
        const weights = new Array<number>(count).fill(0);
        for (const id of knownLogs()) weights[logPartition(id, count)]++;
        const assigned = assignPartitions(
          members.map((m) => m.memberId),
          weights,
        );
        for (const [memberId, partitions] of assigned) {
          const a = perMember.get(memberId);
          if (a) a[topic] = partitions;
        }
      }
      return [...perMember].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: LOG_ASSIGNOR_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}
