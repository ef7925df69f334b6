/**
 * The support path: {@link io.fewshotstreams.streaming.learner.SupportIntake} reads and embeds
 * support events, and the {@link io.fewshotstreams.streaming.learner.Learner}, keyed by task, keeps
 * the examples, class sums, task bookkeeping and query pool, publishes prototype snapshots and
 * fine-tunes off the stream thread. Imports nothing of the query path.
 */
package io.fewshotstreams.streaming.learner;
