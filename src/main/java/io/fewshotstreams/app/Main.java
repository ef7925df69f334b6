package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point: {@code fewshot-streams <command>}; each command is a class in this package. */
@Command(
    name = "fewshot-streams",
    mixinStandardHelpOptions = true,
    version = "fewshot-streams 0.1.0",
    description = "Few-shot image classification for Kafka.",
    subcommands = {
      EmbedCommand.class,
      ProduceCommand.class,
      EvaluateCommand.class,
      BenchCommand.class,
      RunCommand.class,
      DemoCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /**
   * The command line with its error handling: a {@link FewShotException} prints its message and
   * exits with status 2; anything else is a bug and prints its stack trace.
   */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          if (e instanceof FewShotException) {
            commandLine.getErr().println("error: " + e.getMessage());
            return 2;
          }
          throw e;
        });
    return cli;
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
