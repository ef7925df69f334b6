/**
 * The query path: {@link io.fewshotstreams.streaming.query.QueryClassifier} reads, batches, embeds
 * and classifies queries against the global snapshot store, which {@link
 * io.fewshotstreams.streaming.query.SnapshotUpdater} keeps in step with the models topic; {@link
 * io.fewshotstreams.streaming.query.Classification} is the classification it shares with the HTTP
 * API. Imports nothing of the learner.
 */
package io.fewshotstreams.streaming.query;
