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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The methods {@code evaluate} can compare: those of {@link Methods} (with {@value
 * RobustTransduction#NAME}), and {@value CalibratedPrototypes#NAME}, the service's prototype
 * snapshot. For tuning runs, {@code robust:name=value;name=value} and {@code
 * prototypes:calibrated:name=value;name=value} override settings of {@link RobustConfig} by
 * component name.
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
    for (String base : List.of(CalibratedPrototypes.NAME, RobustTransduction.NAME)) {
      if (spec == null || !spec.startsWith(base)) {
        continue;
      }
      String rest = spec.substring(base.length());
      if (!rest.isEmpty() && !rest.startsWith(":")) {
        continue;
      }
      RobustConfig config = rest.isEmpty() ? RobustConfig.defaults() : overrides(spec, rest);
      OpenSetMethod method =
          base.equals(RobustTransduction.NAME)
              ? new RobustTransduction(config)
              : new CalibratedPrototypes(config);
      if (rest.isEmpty()) {
        return method;
      }
      return new OpenSetMethod() {
        @Override
        public String name() {
          return spec;
        }

        @Override
        public OpenSetClassifier fitOpenSet(SupportSet support, float[][] unlabelledPool) {
          return method.fitOpenSet(support, unlabelledPool);
        }
      };
    }
    if (spec != null && Methods.names().contains(spec)) {
      return Methods.byName(spec);
    }
    throw new InvalidInputException(
        "expected a few-shot method among " + names() + ", found '" + spec + "'");
  }

  /** {@code rest} is {@code :name=value;name=value}, settings of {@link RobustConfig}. */
  private static RobustConfig overrides(String spec, String rest) {
    Map<String, Float> settings = new LinkedHashMap<>();
    for (String setting : rest.substring(1).split(";")) {
      String[] kv = setting.split("=", 2);
      if (kv.length != 2) {
        throw new InvalidInputException(
            "expected name=value in '" + spec + "', found '" + setting + "'");
      }
      try {
        settings.put(kv[0].trim(), Float.parseFloat(kv[1].trim()));
      } catch (NumberFormatException e) {
        throw new InvalidInputException(
            "expected a number for " + kv[0].trim() + " in '" + spec + "', found '"
                + kv[1].trim() + "'");
      }
    }
    return RobustConfig.defaults().with(settings);
  }
}
