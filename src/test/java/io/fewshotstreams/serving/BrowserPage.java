package io.fewshotstreams.serving;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * One page in headless Debian Chromium driven through ChromeDriver, for checks that need a real
 * browser: wait for an element, read text, run a script, collect the console and take a screenshot.
 *
 * <p>Uses the system's {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver} (Debian packages
 * {@code chromium} and {@code chromium-driver}) and never lets Selenium Manager download a browser
 * or a driver; {@link #isAvailable()} says whether both are installed, so tests can skip without
 * them. The browser runs with a fresh profile in a temporary directory and without background
 * networking, so the page under test is the only thing it loads.
 *
 * <p>{@link #main} opens a URL from the command line, for example a running demo's dashboard.
 */
public final class BrowserPage implements AutoCloseable {
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Duration POLL = Duration.ofMillis(50);

  // Selenium warns when it has no DevTools bindings for this Chromium version; nothing here uses
  // DevTools, so that warning is noise. A field, as java.util.logging holds loggers weakly.
  private static final Logger DEVTOOLS_LOG = Logger.getLogger("org.openqa.selenium.devtools");

  static {
    DEVTOOLS_LOG.setLevel(Level.SEVERE);
  }

  private final ChromeDriver driver;
  private final Path profile;
  private final List<LogEntry> console = new ArrayList<>();

  private BrowserPage(ChromeDriver driver, Path profile) {
    this.driver = driver;
    this.profile = profile;
  }

  /** Whether Chromium and ChromeDriver are both installed where {@link #open} expects them. */
  public static boolean isAvailable() {
    return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
  }

  /**
   * Starts a headless browser with a window of the given size and opens {@code url}.
   *
   * @throws IllegalStateException when Chromium or ChromeDriver is missing
   */
  public static BrowserPage open(URI url, int width, int height) throws IOException {
    if (!isAvailable()) {
      throw new IllegalStateException(
          String.format(
              "expected %s and %s (Debian packages chromium and chromium-driver), found at least"
                  + " one missing",
              CHROMIUM, CHROMEDRIVER));
    }
    // Selenium Manager would download a driver unless told where the installed one is.
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    Path profile = Files.createTempDirectory("browser-page-profile");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=" + width + "," + height,
        "--user-data-dir=" + profile);
    LoggingPreferences logging = new LoggingPreferences();
    logging.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logging);
    ChromeDriver driver;
    try {
      driver = new ChromeDriver(options);
    } catch (RuntimeException e) {
      deleteRecursively(profile);
      throw e;
    }
    BrowserPage page = new BrowserPage(driver, profile);
    try {
      page.fitViewport(width, height);
      driver.get(url.toString());
    } catch (RuntimeException e) {
      page.close();
      throw e;
    }
    return page;
  }

  /**
   * Opens another URL in the same browser, which is much faster than starting a new one; the
   * console messages seen so far are dropped, so {@link #console()} speaks of the new page only.
   */
  public BrowserPage navigate(URI url) {
    // Leave the old page first: a request of its still in flight could otherwise log its failure
    // after the messages were dropped, and be taken for the new page's.
    driver.get("about:blank");
    console();
    console.clear();
    driver.get(url.toString());
    return this;
  }

  // The window includes a little frame even when headless; size it so the page itself gets
  // exactly width x height, which is what screenshots show.
  private void fitViewport(int width, int height) {
    @SuppressWarnings("unchecked")
    List<Number> frame =
        (List<Number>)
            script(
                "return [window.outerWidth - window.innerWidth,"
                    + " window.outerHeight - window.innerHeight];");
    driver
        .manage()
        .window()
        .setSize(new Dimension(width + frame.get(0).intValue(), height + frame.get(1).intValue()));
  }

  /**
   * Waits until an element matches {@code cssSelector}.
   *
   * @throws AssertionError when none does within {@code timeout}, with the page's text
   */
  public BrowserPage waitFor(String cssSelector, Duration timeout) {
    return waitUntil(
        "an element matching " + cssSelector,
        () -> !driver.findElements(By.cssSelector(cssSelector)).isEmpty(),
        timeout);
  }

  /**
   * Waits until {@code condition} holds, checking every 50 ms.
   *
   * @throws AssertionError when it does not within {@code timeout}, with the page's text
   */
  public BrowserPage waitUntil(String description, BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "expected "
                + description
                + " within "
                + timeout
                + ", found the page showing:\n"
                + text("body"));
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + description, e);
      }
    }
    return this;
  }

  /**
   * The visible text of the first element matching {@code cssSelector}, or "" when none does. Read
   * again on the new element when a redraw replaced the one found (see {@link #texts}).
   */
  public String text(String cssSelector) {
    return readFresh(
        () -> {
          List<WebElement> found = driver.findElements(By.cssSelector(cssSelector));
          return found.isEmpty() ? "" : found.get(0).getText();
        });
  }

  /**
   * The visible text of every element matching {@code cssSelector}, in document order. The
   * dashboard redraws on every poll, so an element found may be gone before its text is read; the
   * read is then done again on the new elements.
   */
  public List<String> texts(String cssSelector) {
    return readFresh(
        () ->
            driver.findElements(By.cssSelector(cssSelector)).stream()
                .map(WebElement::getText)
                .toList());
  }

  /** Runs {@code read}, again when a redraw made an element it found stale, at most five times. */
  private static <T> T readFresh(Supplier<T> read) {
    for (int attempt = 1; ; attempt++) {
      try {
        return read.get();
      } catch (StaleElementReferenceException e) {
        if (attempt == 5) { // a redraw every second cannot beat five reads in a row
          throw e;
        }
      }
    }
  }

  /** Runs {@code script} as a function body in the page ({@code arguments} holds {@code args}). */
  public Object script(String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  /** Every console message and page error the browser reported since the page was opened. */
  public List<LogEntry> console() {
    // The driver hands out each entry once, so keep them for later calls.
    console.addAll(driver.manage().logs().get(LogType.BROWSER).getAll());
    return List.copyOf(console);
  }

  /** The console messages at level SEVERE: uncaught exceptions, console.error, failed loads. */
  public List<String> severeConsoleMessages() {
    return console().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
        .map(LogEntry::getMessage)
        .toList();
  }

  /** Saves a PNG of the window's viewport to {@code file}, creating its directory. */
  public Path screenshot(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Files.write(file, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
    return file;
  }

  /** The underlying driver, for anything this class does not cover. */
  public ChromeDriver driver() {
    return driver;
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } finally {
      deleteRecursively(profile);
    }
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete the browser profile " + dir, e);
    }
  }

  /**
   * Opens a page, waits for an element and reports what it saw: {@code url cssSelector
   * [screenshot.png]}. Prints the page's text and its SEVERE console messages; exits with 1 when
   * the element did not appear within 30 seconds or the console has SEVERE messages.
   */
  public static void main(String[] args) throws IOException {
    if (args.length < 2 || args.length > 3) {
      System.err.println("usage: BrowserPage <url> <css selector> [screenshot.png]");
      System.exit(2);
    }
    int status = 0;
    try (BrowserPage page = open(URI.create(args[0]), 1280, 900)) {
      try {
        page.waitFor(args[1], Duration.ofSeconds(30));
      } catch (AssertionError e) {
        System.err.println(e.getMessage());
        status = 1;
      }
      System.out.println(page.text("body"));
      if (args.length == 3) {
        System.out.println("screenshot: " + page.screenshot(Path.of(args[2])));
      }
      for (String message : page.severeConsoleMessages()) {
        System.err.println("SEVERE " + message);
        status = 1;
      }
    }
    System.exit(status);
  }
}
