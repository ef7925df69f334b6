package io.fewshotstreams.app;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point: {@code fewshot-streams <command>}. */
@Command(
    name = "fewshot-streams",
    mixinStandardHelpOptions = true,
    version = "fewshot-streams 0.1.0",
    description = "Few-shot image classification for Kafka.",
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
