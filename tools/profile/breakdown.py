#!/usr/bin/env python3
"""Breakdown of a collapsed wall-clock profile of the service's stream thread.

Usage: breakdown.py STREAM-THREAD.collapsed BENCH-OUTPUT.txt

Each stack (frames root to leaf, then its sample count) goes to the first category in RULES whose
test holds. Within each category, samples whose leaf frame is a wait (parking, epoll, futex,
sleeping) are counted as waiting. Time per query = share x the measured span / queries in it, both
read from the bench's "measured N queries in S s" line.
"""
import re
import sys
from collections import Counter, defaultdict

WAIT_LEAVES = ("epoll_wait", "futex", "pthread_cond_", "Unsafe.park", "Object.wait",
               "__poll", "nanosleep", "Thread.sleep", "clock_nanosleep", "sem_wait",
               "__GI___poll", "syscall", "pthread_cond_timedwait", "ppoll")


def has(*names):
    return lambda s: any(n in s for n in names)


def both(a, b):
    return lambda s: a(s) and b(s)


PENDING_SCAN = both(has("QueryClassifier.flush", "QueryClassifier.init"),
                    has("RocksDBStore.all", "RocksDbIterator", "RocksIterator",
                        "MeteredKeyValueIterator", "KeyValueIterator", ".all("))
CHANGELOG = has("ChangeLoggingKeyValueBytesStore.log", "ChangeLoggingKeyValueBytesStore.put",
                "ChangeLoggingKeyValueBytesStore.delete", "ProcessorContextImpl.logChange")
SEND = has("RecordCollectorImpl.send", "KafkaProducer.send", "StreamsProducer.send")

# (category, test), first match wins: the specific work before the places it is called from.
RULES = [
    ("ONNX Runtime (OrtSession.run)", has("OrtSession.run", "OrtSession$Result", "OnnxTensor")),
    ("decode (PNG to image)", has("ImagePreprocessor.decode", "javax/imageio", "ImageIO")),
    ("preprocess (resize, normalise)", has("ImagePreprocessor", "OnnxEmbedder", "Features.embed")),
    ("JSON parse + schema validation (EventCodec.read*)", has("EventCodec.read")),
    ("JSON write (EventCodec.write: predictions)", has("EventCodec.write")),
    ("pending store: all() scan (QueryClassifier.flush)", PENDING_SCAN),
    ("commit: producer flush (StreamTask.flush, waits for the acks)",
     both(has("StreamThread.maybeCommit", "TaskManager.commit"), has("KafkaProducer.flush"))),
    ("commit: sendOffsetsToTransaction (waits)", has("sendOffsetsToTransaction")),
    ("commit: commitTransaction (waits for the markers)", has("KafkaProducer.commitTransaction")),
    ("commit: other (offsets, checkpoints)", has("StreamThread.maybeCommit", "TaskManager.commit",
                                                 "TaskExecutor.commit")),
    ("sends: changelog records (pending, pool, task state)", both(CHANGELOG, SEND)),
    ("pending store: put (QueryClassifier.enqueue)", has("QueryClassifier.enqueue")),
    ("pending store: delete (QueryClassifier.flush)",
     both(has("QueryClassifier.flush"), has(".delete"))),
    ("sends: predictions and pool records (sink nodes)", SEND),
    ("global store: snapshot get + decode", both(has("QueryClassifier"),
                                                 has("ReadOnlyKeyValueStore", "GlobalStore",
                                                     "KeyValueStore.get", "RocksDBStore.get",
                                                     "InternalSerdes", "snapshots"))),
    ("classify (Classification, CosineClassifier)", has("Classification.", "CosineClassifier")),
    ("learner: pool put + task state", has("Learner.addToPool", "QueryPool.add")),
    ("learner: fine-tune punctuators", has("Learner.startFineTunes", "Learner.installFineTunes",
                                           "FineTunes.")),
    ("learner: other", has("Learner.", "streaming/learner/")),
    ("telemetry", has("Telemetry.", "micrometer", "streaming/telemetry/")),
    ("consumer poll", has("StreamThread.pollRequests", "StreamThread.pollPhase",
                          "KafkaConsumer.poll", "ClassicKafkaConsumer.poll",
                          "AsyncKafkaConsumer.poll")),
    ("query path: other", has("QueryClassifier")),
    ("RocksDB: other", has("RocksDB", "rocksdb")),
    ("punctuation: other", has("punctuate")),
    ("stream thread: other", lambda s: True),
]


def main():
    collapsed, bench = sys.argv[1], sys.argv[2]
    queries = seconds = None
    for line in open(bench, encoding="utf-8"):
        m = re.match(r"end-to-end \S+: measured (\d+) queries in ([\d.]+) s", line)
        if m:
            queries, seconds = int(m.group(1)), float(m.group(2))
    if queries is None:
        sys.exit("expected a 'end-to-end ...: measured N queries in S s' line in " + bench)
    total = Counter()
    waiting = Counter()
    other = defaultdict(Counter)
    for line in open(collapsed, encoding="utf-8"):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        n = int(n)
        for name, test in RULES:
            if test(stack):
                break
        total[name] += n
        leaf = stack.split(";")[-1]
        if any(w in leaf for w in WAIT_LEAVES):
            waiting[name] += n
        if name.endswith("other"):
            frames = [f for f in stack.split(";") if "/" in f or "." in f]
            other[name][frames[-1] if frames else leaf] += n
    samples = sum(total.values())
    if samples == 0:
        sys.exit("expected samples in " + collapsed + ", found none")
    print(f"stream thread, wall clock: {samples} samples over {seconds:.2f} s measured,"
          f" {queries} queries ({queries / seconds:.0f}/s); {1e3 * seconds / queries:.3f} ms"
          f" of stream-thread time per query")
    print(f"{'where':64} {'share':>7} {'us/query':>9} {'of it waiting':>14}")
    for name, _ in RULES:
        if total[name] == 0:
            continue
        share = total[name] / samples
        print(f"{name:64} {100 * share:6.1f}% {1e6 * share * seconds / queries:9.1f}"
              f" {100 * waiting[name] / total[name]:13.0f}%")
    w = sum(waiting.values()) / samples
    print(f"{'all waiting (leaf is park/epoll/futex/sleep)':64} {100 * w:6.1f}%"
          f" {1e6 * w * seconds / queries:9.1f}")
    for name, leaves in other.items():
        top = ", ".join(f"{k} {v}" for k, v in leaves.most_common(6))
        print(f"  {name}, top frames: {top}")


if __name__ == "__main__":
    main()
