package io.fewshotstreams.evaluation;

import io.fewshotstreams.fewshot.CalibratedPrototypes;
import io.fewshotstreams.fewshot.FewShotMethod;
import io.fewshotstreams.fewshot.InvalidInputException;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.OpenSetClassifier;
import io.fewshotstreams.fewshot.OpenSetMethod;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.fewshot.RobustTransduction;
import io.fewshotstreams.fewshot.SupportSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The methods {@code evaluate} can compare: those of {@link Methods} (with {@value
 * RobustTransduction#NAME}), and {@value CalibratedPrototypes#NAME}, the service's prototype
 * snapshot. For tuning runs, {@code robust:name=value;name=value} overrides
 * settings of {@link RobustConfig} by component name.
 */
public final class MethodCatalog {
  private MethodCatalog() {}

  /** Every method name, those of {@link Methods} first. */
  public static List<String> names() {
    List<String> names = new ArrayList<>(Methods.names());
    names.add(CalibratedPrototypes.NAME);
    return names;
  }

  /**
   * The method with the given name or override specification.
   *
   * @throws InvalidInputException naming the valid names if there is no such method
   */
  public static FewShotMethod byName(String spec) {
    if (CalibratedPrototypes.NAME.equals(spec)) {
      return new CalibratedPrototypes();
    }
    if (spec != null && spec.startsWith(RobustTransduction.NAME)) {
      String rest = spec.substring(RobustTransduction.NAME.length());
      if (rest.isEmpty()) {
        return new RobustTransduction();
      }
      if (rest.startsWith(":")) {
        RobustConfig config = RobustConfig.defaults();
        for (String setting : rest.substring(1).split(";")) {
          String[] kv = setting.split("=", 2);
          if (kv.length != 2) {
            throw new InvalidInputException(
                "expected name=value in '" + spec + "', found '" + setting + "'");
          }
          try {
            config = config.with(kv[0].trim(), Float.parseFloat(kv[1].trim()));
          } catch (NumberFormatException e) {
            throw new InvalidInputException(
                "expected a number for " + kv[0].trim() + " in '" + spec + "', found '"
                    + kv[1].trim() + "'");
          }
        }
        RobustTransduction tuned = new RobustTransduction(config);
        return new OpenSetMethod() {
          @Override
          public String name() {
            return spec;
          }

          @Override
          public OpenSetClassifier fitOpenSet(SupportSet support, float[][] unlabelledPool) {
            return tuned.fitOpenSet(support, unlabelledPool);
          }
        };
      }
    }
    if (spec != null && Methods.names().contains(spec)) {
      return Methods.byName(spec);
    }
    throw new InvalidInputException(
        "expected a few-shot method among " + names() + ", found '" + spec + "'");
  }
}
