/**
 * The Kafka Streams application: {@link io.fewshotstreams.streaming.FewShotTopology#build} makes
 * the topology (support intake, learner, query classifier, dead letters) and {@link
 * io.fewshotstreams.streaming.FewShotStreams} runs it. {@link
 * io.fewshotstreams.streaming.FewShotConfig} declares every setting once.
 */
package io.fewshotstreams.streaming;
