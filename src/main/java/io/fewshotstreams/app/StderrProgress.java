package io.fewshotstreams.app;

import io.fewshotstreams.evaluation.Progress;

/** Progress lines on standard error, at most one per tenth of each stage. */
final class StderrProgress implements Progress {
  private String stage = "";
  private int lastTenth = -1;

  @Override
  public void update(String stage, int done, int total) {
    if (!stage.equals(this.stage)) {
      this.stage = stage;
      lastTenth = -1;
    }
    int tenth = total == 0 ? 10 : (int) (10L * done / total);
    if (tenth != lastTenth) {
      lastTenth = tenth;
      System.err.printf("%s: %d/%d%n", stage, done, total);
    }
  }
}
