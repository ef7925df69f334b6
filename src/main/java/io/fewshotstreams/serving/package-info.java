/**
 * The HTTP API of a running instance, on the JDK's own HTTP server: health and readiness, the
 * Prometheus metrics, the tasks and their models, the learner state of a task (asked of the instance
 * that owns it), the dashboard's data and files, and, when enabled, synchronous classification.
 * Kafka stays behind {@link io.fewshotstreams.streaming.TaskQueries}.
 */
package io.fewshotstreams.serving;
