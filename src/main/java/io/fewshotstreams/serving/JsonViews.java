package io.fewshotstreams.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.TaskQueries;
import io.fewshotstreams.streaming.telemetry.RecentActivity;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The JSON the API answers GET with: health, readiness, the tasks and their models, the learner
 * state of a task and the dashboard's data, each read from this instance's stores (the learner
 * state of a task owned elsewhere through the {@link Forwarder}).
 */
final class JsonViews {
  /** Fields of a snapshot the task view leaves out: weights are large, the rest internal. */
  private static final Set<String> HIDDEN_SNAPSHOT_FIELDS =
      Set.of("schemaVersion", "featureSize", "scale", "classes");

  private static final List<String> SNAPSHOT_FIELDS =
      List.of(
          "task",
          "version",
          "method",
          "fineTuning",
          "backboneId",
          "createdAt",
          "supportExamples",
          "poolQueries");

  private final ObjectMapper mapper = new ObjectMapper();
  private final TaskQueries queries;
  private final ActivitySource activity;
  private final Forwarder forwarder;
  private final String instance;
  private final boolean thumbnails;
  /** Set once the application ran; from then on a rebalance keeps it ready (see {@link #ready}). */
  private volatile boolean hasRun;

  /**
   * @param instance this instance as {@code host:port}, as {@code learner.host} names it
   * @param thumbnails whether the dashboard's recent predictions carry their query images
   */
  JsonViews(
      TaskQueries queries,
      ActivitySource activity,
      Forwarder forwarder,
      String instance,
      boolean thumbnails) {
    this.queries = queries;
    this.activity = activity;
    this.forwarder = forwarder;
    this.instance = instance;
    this.thumbnails = thumbnails;
  }

  /** {@code GET /health}: 200 while the application is alive, else 503. */
  Response health() {
    if (queries.state().equals("RUNNING")) {
      hasRun = true;
    }
    return queries.alive() ? status(200, "UP") : status(503, "DOWN");
  }

  /**
   * {@code GET /ready}: 200 while the application runs, and through a rebalance once it has run;
   * else 503. Every instance of the group rebalances together (a pod starts, stops or moves), so
   * readiness that dropped at each rebalance would take every pod out of the Service at once, and
   * the API (which mostly reads the global store of snapshots) would vanish for the rebalance.
   * Before the first RUNNING the instance is still restoring and is kept out.
   */
  Response ready() {
    String state = queries.state();
    if (state.equals("RUNNING")) {
      hasRun = true;
      return status(200, "READY");
    }
    if (state.equals("REBALANCING") && hasRun) {
      return status(200, "READY");
    }
    return status(503, "NOT_READY");
  }

  private Response status(int code, String status) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", status);
    m.put("state", queries.state());
    return Response.json(code, m);
  }

  /** {@code GET /api/tasks}: a line per task with a model. */
  Response tasks() {
    List<Map<String, Object>> tasks = new ArrayList<>();
    for (ModelSnapshot s : queries.snapshots()) {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("task", s.task());
      t.put("version", s.version());
      t.put("method", s.method());
      t.put("fineTuning", s.fineTuning());
      t.put("classes", s.classes().size());
      t.put("supportExamples", s.supportExamples());
      t.put("poolQueries", s.poolQueries());
      t.put("createdAt", s.createdAt());
      tasks.add(t);
    }
    return Response.json(200, Map.of("tasks", tasks));
  }

  /** {@code GET /api/tasks/{task}}: the model without weights, its classes, its learner state. */
  Response task(String task) {
    ModelSnapshot snapshot =
        queries
            .snapshot(task)
            .orElseThrow(
                () ->
                    new ApiError(
                        404,
                        "expected a task with a model, found no task '"
                            + task
                            + "'; publish support examples for it first"));
    Map<String, Object> view = new LinkedHashMap<>();
    ObjectNode fields = mapper.valueToTree(snapshot);
    for (String name : SNAPSHOT_FIELDS) {
      view.put(name, fields.get(name));
    }
    // Fields added to snapshots later (e.g. a training loss) show without a change here.
    for (Map.Entry<String, JsonNode> field : fields.properties()) {
      if (!view.containsKey(field.getKey()) && !HIDDEN_SNAPSHOT_FIELDS.contains(field.getKey())) {
        view.put(field.getKey(), field.getValue());
      }
    }
    view.put("classes", classes(snapshot));
    view.put("learner", learner(task));
    return Response.json(200, view);
  }

  private static List<Map<String, Object>> classes(ModelSnapshot snapshot) {
    List<Map<String, Object>> classes = new ArrayList<>();
    for (ModelSnapshot.ClassWeights c : snapshot.classes()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("label", c.label());
      m.put("examples", c.examples());
      classes.add(m);
    }
    return classes;
  }

  /** The learner state of a task, from this instance or forwarded from the one that owns it. */
  private Object learner(String task) {
    Optional<TaskQueries.LearnerState> local = queries.localLearner(task);
    if (local.isPresent()) {
      return learnerView(local.get());
    }
    Optional<String> owner = queries.owner(task);
    if (owner.isEmpty() || owner.get().equals(instance)) {
      throw new ApiError(
          503,
          "expected the learner state of task '"
              + task
              + "' on "
              + owner.orElse("its owner")
              + ", found none yet (the owner is starting or restoring); retry");
    }
    return forwarder.learner(owner.get(), task);
  }

  /** {@code GET /api/tasks/{task}/learner}: the learner state on this instance, never forwarded. */
  Response localLearner(String task) {
    TaskQueries.LearnerState state =
        queries
            .localLearner(task)
            .orElseThrow(
                () ->
                    new ApiError(
                        404,
                        "expected the learner state of task '"
                            + task
                            + "' on this instance ("
                            + instance
                            + "), found none; it is not a task of this instance"));
    return Response.json(200, learnerView(state));
  }

  private Map<String, Object> learnerView(TaskQueries.LearnerState state) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("host", instance);
    m.put("supportChanges", state.supportChanges());
    m.put("poolAdds", state.poolAdds());
    m.put("poolCount", state.poolCount());
    m.put("pendingFineTune", state.pendingFineTune());
    return m;
  }

  /** {@code GET /api/dashboard}: tasks, rate, confidences and recent activity of this instance. */
  Response dashboard() {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("instance", instance);
    d.put("state", queries.state());
    List<Map<String, Object>> tasks = new ArrayList<>();
    try {
      for (ModelSnapshot s : queries.snapshots()) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("task", s.task());
        t.put("version", s.version());
        t.put("method", s.method());
        t.put("classes", classes(s));
        tasks.add(t);
      }
    } catch (TaskQueries.Unavailable e) {
      // The dashboard keeps polling through a rebalance; the state field says why tasks is empty.
      tasks = List.of();
    }
    d.put("tasks", tasks);
    d.put("predictionsPerSecond", activity.predictionsPerSecond());
    List<Map<String, Object>> bins = new ArrayList<>();
    for (ActivitySource.ConfidenceBin bin : activity.confidence()) {
      bins.add(Map.of("upTo", bin.upTo(), "count", bin.count()));
    }
    d.put("confidence", bins);
    List<Map<String, Object>> recent = new ArrayList<>();
    for (RecentActivity.RecentPrediction r : activity.predictions()) {
      recent.add(recentPrediction(r));
    }
    d.put("recent", recent);
    List<Map<String, Object>> fineTunes = new ArrayList<>();
    for (RecentActivity.FineTuneEvent f : activity.fineTunes()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("task", f.task());
      m.put("version", f.version());
      m.put("method", f.method());
      m.put("millis", f.millis());
      m.put("finalLoss", f.finalLoss());
      m.put("outcome", f.outcome().tag());
      m.put("at", f.at());
      fineTunes.add(m);
    }
    d.put("fineTunes", fineTunes);
    d.put("deadLetters", activity.deadLettersByReason());
    return Response.json(200, d);
  }

  private Map<String, Object> recentPrediction(RecentActivity.RecentPrediction r) {
    Prediction p = r.prediction();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("task", p.task());
    m.put("queryId", p.queryId());
    m.put("label", p.label());
    m.put("probability", p.probability());
    m.put("method", p.method());
    m.put("modelVersion", p.modelVersion());
    m.put("latencyMs", p.latencyMs());
    m.put("predictedAt", p.predictedAt());
    byte[] image = r.image();
    String type = r.imageContentType();
    m.put(
        "thumbnail",
        !thumbnails || image == null || type == null
            ? null
            : "data:" + type + ";base64," + Base64.getEncoder().encodeToString(image));
    return m;
  }
}
