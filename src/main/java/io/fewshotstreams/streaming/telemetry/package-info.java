/**
 * What an instance reports: {@link io.fewshotstreams.streaming.telemetry.Telemetry} (the Micrometer
 * meters) and {@link io.fewshotstreams.streaming.telemetry.RecentActivity} (the dashboard's recent
 * predictions, fine-tunes and dead letters). Imports no other stage of the service.
 */
package io.fewshotstreams.streaming.telemetry;
