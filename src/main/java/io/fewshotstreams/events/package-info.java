/**
 * The events on the topics, as Java records, and their JSON form. The JSON Schemas under {@code
 * schemas/} are the contract users code against; {@link io.fewshotstreams.events.EventCodec} parses
 * and validates incoming events against them and writes outgoing ones. Every event carries {@code
 * schemaVersion} so that formats can evolve.
 */
package io.fewshotstreams.events;
