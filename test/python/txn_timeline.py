"""Transaction timeline of one partition, from a broker's log segments (kafka-dump-log), for diagnosing an
exactly-once audit: which producer (id, epoch, sequences) wrote the records at the given offsets, and every batch
and transaction marker of those producers in the partition.

usage: txn_timeline.py <kafka libs dir> <partition dir> [offset ...]
"""

import glob
import re
import subprocess
import sys

BATCH = re.compile(
    r"baseOffset: (\d+) lastOffset: (\d+) count: (\d+) baseSequence: (-?\d+) lastSequence: (-?\d+) "
    r"producerId: (-?\d+) producerEpoch: (-?\d+) partitionLeaderEpoch: (\d+) isTransactional: (\w+) "
    r"isControl: (\w+).*CreateTime: (\d+)"
)
MARKER = re.compile(r"endTxnMarker: (\w+) coordinatorEpoch: (\d+)")


def batches(libs, part_dir):
    out = []
    for seg in sorted(glob.glob(f"{part_dir}/*.log")):
        dump = subprocess.run(
            ["java", "-cp", f"{libs}/*", "org.apache.kafka.tools.DumpLogSegments", "--files", seg, "--deep-iteration"],
            capture_output=True, text=True, check=True,
        ).stdout
        current = None
        for line in dump.splitlines():
            m = BATCH.search(line)
            if m:
                current = dict(
                    base=int(m[1]), last=int(m[2]), count=int(m[3]), seq=(int(m[4]), int(m[5])), pid=int(m[6]),
                    epoch=int(m[7]), leader_epoch=int(m[8]), control=m[10] == "true", time=int(m[11]), marker=None,
                )
                out.append(current)
                continue
            mk = MARKER.search(line)
            if mk and current is not None:
                current["marker"] = f"{mk[1]}(coord {mk[2]})"
    # A control batch is printed twice (batch line and record line): keep the first.
    seen = set()
    unique = []
    for b in out:
        if b["base"] in seen:
            continue
        seen.add(b["base"])
        unique.append(b)
    return unique


def anomalies(all_batches):
    """Transactions (a producer's data batches up to its next marker) that mix epochs, skip or repeat sequence
    numbers, or carry data of an epoch older than a marker already written for that producer."""
    open_txn = {}
    marker_epoch = {}
    found = []
    for b in all_batches:
        pid = b["pid"]
        if pid < 0 or not (b["control"] or b["seq"][0] >= 0):
            continue
        if b["control"]:
            txn = open_txn.pop(pid, [])
            epochs = {x["epoch"] for x in txn}
            if len(epochs) > 1:
                found.append(f"pid {pid}: {b['marker']} at {b['base']} closes data of epochs {sorted(epochs)}")
            for prev, nxt in zip(txn, txn[1:]):
                if prev["epoch"] == nxt["epoch"] and nxt["seq"][0] != prev["seq"][1] + 1:
                    found.append(
                        f"pid {pid}: {b['marker']} at {b['base']} closes batches {prev['base']} (seq {prev['seq']})"
                        f" and {nxt['base']} (seq {nxt['seq']}): not contiguous"
                    )
            marker_epoch[pid] = max(marker_epoch.get(pid, -1), b["epoch"])
            continue
        if b["epoch"] < marker_epoch.get(pid, -1):
            found.append(f"pid {pid}: data at {b['base']} of epoch {b['epoch']} after a marker of epoch {marker_epoch[pid]}")
        open_txn.setdefault(pid, []).append(b)
    for pid, txn in open_txn.items():
        found.append(f"pid {pid}: data from {txn[0]['base']} without a marker (open transaction)")
    return found


def main():
    libs, part_dir = sys.argv[1], sys.argv[2]
    offsets = [int(o) for o in sys.argv[3:]]
    all_batches = batches(libs, part_dir)
    for a in anomalies(all_batches):
        print(f"ANOMALY {a}")
    pids = set()
    for o in offsets:
        for b in all_batches:
            if b["base"] <= o <= b["last"]:
                print(f"offset {o}: pid {b['pid']} epoch {b['epoch']} seq {b['seq']} batch {b['base']}-{b['last']}")
                pids.add(b["pid"])
    for b in all_batches:
        if b["pid"] in pids:
            what = b["marker"] if b["control"] else f"data seq {b['seq'][0]}-{b['seq'][1]}"
            print(f"  {b['base']:>6}-{b['last']:<6} pid {b['pid']} ep {b['epoch']} lep {b['leader_epoch']} t {b['time']} {what}")


if __name__ == "__main__":
    main()
