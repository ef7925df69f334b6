/**
 * The Kafka Streams application: {@link io.fewshotstreams.streaming.FewShotTopology#build} makes
 * the topology and {@link io.fewshotstreams.streaming.FewShotStreams} runs it. {@link
 * io.fewshotstreams.streaming.FewShotConfig} declares every setting once. This package holds what
 * the stages share (the learner's input, the routing of outputs, features, the dead-letter policy,
 * the internal binary formats and {@link io.fewshotstreams.streaming.StoreNames}); each stage has
 * its own package: {@code learner}, {@code query} and {@code telemetry}.
 */
package io.fewshotstreams.streaming;
