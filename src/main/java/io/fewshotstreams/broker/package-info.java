/**
 * A single-node Kafka broker (KRaft, broker and controller in one process) that runs inside the JVM,
 * built from Kafka's own server classes. The {@code demo} command and the real-broker integration
 * tests start it; nothing is downloaded and no container runtime is needed. This is the only package
 * that touches Kafka's Scala broker classes ({@code kafka.*}).
 */
package io.fewshotstreams.broker;
