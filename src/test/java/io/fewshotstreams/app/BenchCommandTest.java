package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchCommandTest {

  private record Run(int status, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int status = cli.execute(args);
    return new Run(status, out.toString(), err.toString());
  }

  @Test
  void shouldHeadEveryRunWithTheCommandAndTheMachine() {
    Run r = run("bench", "--suite", "memory", "--tasks", "50", "--classes", "2");
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("command: java -jar fewshot-streams.jar bench --suite memory --tasks 50 --classes 2")
        .contains("machine: " + Runtime.getRuntime().availableProcessors() + " cores")
        .contains("50 tasks of 2 classes")
        .contains("bytes on the models topic");
  }

  @Test
  void shouldKeepTheFineTuneTableAsTheDefaultSuite() {
    Run r = run("bench", "--methods", "inductive", "--shots", "1", "--dims", "8", "--repeats", "2");
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("median ms").containsPattern("inductive +5 +1 +75 +8 +def");
  }

  @Test
  void shouldRejectASteadyStateRuleThatCannotSettleBeforeStartingABroker() {
    // A tolerance of 0 would never settle; the user gets the rule's message, not a stack trace.
    Run r = run("bench", "--suite", "kafka", "--steady-tolerance", "0");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("expected a tolerance in (0, 1), found 0.0");
  }

  @Test
  void shouldNameTheCeilingVariantsWhenGivenAnUnknownOne() {
    Run r = run("bench", "--suite", "kafka", "--kafka-variants", "hop");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("[pass-through, store, store+hop]").contains("found 'hop'");
  }

  @Test
  void shouldRejectARestoreOfNoShotsBeforeStartingABroker() {
    // Caught before the broker starts (seconds) and the fill runs; the message names every bound.
    Run r = run("bench", "--suite", "restore", "--restore-shots", "0");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("--restore-shots >= 1").contains("found 10000, 10, 0, the pool size");
  }

  @Test
  void shouldNameTheSuitesWhenGivenAnUnknownOne() {
    Run r = run("bench", "--suite", "speed");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("expected --suite among [finetune, finetune-grid, onnx").contains("found 'speed'");
  }
}
