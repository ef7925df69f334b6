import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import one.profiler.AsyncProfiler;

/**
 * Runs {@code bench} in this JVM and profiles the service's stream thread with async-profiler in
 * wall-clock mode over exactly the measured steady-state span of the end-to-end suite: it starts
 * on the bench's "end-to-end ...: measuring" line and stops on its "measured" line, with a thread
 * filter holding only the service's stream thread (application ids "bench-...").
 *
 * <p>Usage (run by stream-thread.sh with the application and the profiler on the class path):
 * {@code java StreamThreadProfile.java LIB OUT.collapsed INTERVAL bench ARGS...}
 */
public final class StreamThreadProfile {
  private static AsyncProfiler profiler;
  private static String out;
  private static String interval;

  public static void main(String[] args) throws Exception {
    profiler = AsyncProfiler.getInstance(args[0]);
    out = args[1];
    interval = args[2];
    String[] rest = new String[args.length - 3];
    System.arraycopy(args, 3, rest, 0, rest.length);
    PrintStream real = System.out;
    System.setOut(new PrintStream(new LineWatcher(real), true, StandardCharsets.UTF_8));
    Class.forName("io.fewshotstreams.app.Main").getMethod("main", String[].class)
        .invoke(null, (Object) rest);
  }

  static void onLine(String line) {
    try {
      if (line.startsWith("end-to-end ") && line.contains(": measuring ")) {
        Thread stream = streamThread();
        profiler.execute("start,event=wall,interval=" + interval + ",filter");
        profiler.addThread(stream);
        System.err.println("profiling " + stream.getName() + " (wall, every " + interval + ")");
      } else if (line.startsWith("end-to-end ") && line.contains(": measured ")) {
        profiler.execute("stop,collapsed,file=" + out);
        System.err.println("profile written to " + out);
      }
    } catch (Exception e) {
      throw new IllegalStateException("profiler failed on line '" + line + "'", e);
    }
  }

  private static Thread streamThread() {
    Thread found = null;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      String name = t.getName();
      if (name.startsWith("bench-") && name.contains("-StreamThread-")) {
        if (found != null) {
          throw new IllegalStateException(
              "expected one stream thread of the service, found " + found.getName() + " and "
                  + name + " (run one guarantee with num.stream.threads=1)");
        }
        found = t;
      }
    }
    if (found == null) {
      throw new IllegalStateException("expected the service's stream thread, found none");
    }
    return found;
  }

  /** Passes bytes through and hands each complete line to {@link #onLine}. */
  private static final class LineWatcher extends OutputStream {
    private final PrintStream real;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    LineWatcher(PrintStream real) {
      this.real = real;
    }

    @Override
    public synchronized void write(int b) {
      real.write(b);
      if (b == '\n') {
        real.flush();
        onLine(line.toString(StandardCharsets.UTF_8));
        line.reset();
      } else {
        line.write(b);
      }
    }
  }
}
