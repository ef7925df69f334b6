package io.fewshotstreams.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import ch.qos.logback.core.joran.spi.JoranException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The logging configuration in src/main/resources/logback.xml: plain lines by default, one JSON
 * object per line with LOG_FORMAT=json, and Kafka's INFO chatter left out in both.
 */
class LogFormatTest {
  private static final JsonMapper JSON = new JsonMapper();

  @Test
  void shouldWriteOneJsonObjectPerLineWhenLogFormatIsJson() {
    List<String> lines = logWith("json");

    // two events, each one line, even the message with a line break and the stack trace
    assertThat(lines).hasSize(2);
    JsonNode info = JSON.readTree(lines.get(0));
    assertThat(info.path("level").asString()).isEqualTo("INFO");
    assertThat(info.path("loggerName").asString()).isEqualTo("io.fewshotstreams.LogFormat");
    assertThat(info.path("threadName").asString()).isEqualTo(Thread.currentThread().getName());
    assertThat(info.path("formattedMessage").asString())
        .isEqualTo("task \"shop\": 3 classes\nsecond line");
    assertThat(info.path("timestamp").asLong()).isPositive();
    JsonNode warn = JSON.readTree(lines.get(1));
    assertThat(warn.path("level").asString()).isEqualTo("WARN");
    assertThat(warn.path("throwable").path("className").asString())
        .isEqualTo(IllegalStateException.class.getName());
    assertThat(warn.path("throwable").path("message").asString()).isEqualTo("boom");
  }

  @Test
  void shouldWritePlainLinesByDefault() {
    List<String> lines = logWith(null);

    // the message's own line break makes a third line; the stack trace follows the WARN line
    assertThat(lines.get(0))
        .matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\[.+] INFO LogFormat - task \"shop\": 3 classes");
    assertThat(lines.get(1)).isEqualTo("second line");
    assertThat(lines.get(2)).endsWith("WARN LogFormat - failed");
    assertThat(lines.get(3)).isEqualTo("java.lang.IllegalStateException: boom");
    assertThat(String.join("\n", lines)).doesNotContain("chatty");
  }

  /** The lines that logging three events writes with LOG_FORMAT set to {@code format}. */
  private static List<String> logWith(String format) {
    PrintStream original = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      if (format != null) {
        System.setProperty("LOG_FORMAT", format);
      }
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      reconfigure();
      Logger log = LoggerFactory.getLogger("io.fewshotstreams.LogFormat");
      log.info("task \"{}\": {} classes\nsecond line", "shop", 3);
      log.warn("failed", new IllegalStateException("boom"));
      // below the Kafka loggers' level (warn): not written
      LoggerFactory.getLogger("org.apache.kafka.clients.NetworkClient").info("chatty");
    } finally {
      System.setErr(original);
      System.clearProperty("LOG_FORMAT");
      reconfigure();
    }
    return err.toString(StandardCharsets.UTF_8).lines().toList();
  }

  private static void reconfigure() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.reset();
    try {
      new ContextInitializer(context).autoConfig();
    } catch (JoranException e) {
      throw new AssertionError("logback.xml: " + e.getMessage(), e);
    }
  }
}
