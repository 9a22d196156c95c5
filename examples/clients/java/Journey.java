// The client journey with the JDK only (Java 17+): java.net.http.HttpClient; the ZIP read with
// ZipInputStream over the response stream and with ZipFile on the saved file. Start, poll, page the log
// and tail it, the ZIP and its JSON form, cancel and resume from the checkpoint, history, and one
// refused request.
//
//   java Journey.java http://127.0.0.1:4502
//
// Run it against `aem-guides-mock serve --clock per-poll:100ms`: each status poll moves the mock's
// clock, so the journey is the same on every run. Credentials: AEM_USER and AEM_PASSWORD (admin/admin).
// Exits 1 naming the first thing that differed from what the contract promises.
//
//   java Journey.java --sessions http://127.0.0.1:4502
//
// Tests that share one server: the journey twice at once, each in a session of its own made through
// the admin API (a per-poll clock of its own) and deleted after, what a JUnit suite's @BeforeEach and
// @AfterEach would do; each session's history holds its own two jobs only. Any server clock will do.
// AEM_ADMIN_TOKEN if the admin API has a token.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

public class Journey {
    static final Set<String> DONE = Set.of("SUCCESS", "FAILED", "CANCELLED");

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    final String api;
    final String authorization;

    Journey(String url) {
        api = url.replaceAll("/$", "") + "/bin/guides/v1/assets/process";
        String user = System.getenv().getOrDefault("AEM_USER", "admin");
        String password = System.getenv().getOrDefault("AEM_PASSWORD", "admin");
        authorization = "Basic " + Base64.getEncoder().encodeToString(
                (user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    public static void main(String[] args) {
        boolean sessions = args.length > 0 && args[0].equals("--sessions");
        String url = args.length > (sessions ? 1 : 0) ? args[sessions ? 1 : 0] : "http://127.0.0.1:4502";
        try {
            if (sessions) {
                inSessions(url);
            } else {
                new Journey(url).run();
            }
        } catch (Exception problem) {
            Throwable cause = problem instanceof ExecutionException ? problem.getCause() : problem;
            System.err.println("Journey.java: " + (cause instanceof Mismatch ? cause.getMessage() : cause));
            System.exit(1);
        }
        System.out.println("Journey.java: every step kept the contract");
    }

    // --- tests that share a server, each in a session of its own ---------------------------------

    static void inSessions(String server) throws Exception {
        String root = server.replaceAll("/$", "");
        String token = System.getenv().getOrDefault("AEM_ADMIN_TOKEN", "");
        HttpClient http = HttpClient.newHttpClient();
        List<String> names = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<List<String>>> runs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                String name = "java-" + i + "-" + UUID.randomUUID().toString().substring(0, 8);
                String body = "{\"name\": " + Json.quote(name) + ", \"ttl\": \"10m\", \"settings\": "
                        + "{\"clock\": \"per-poll\", \"poll_step_ms\": 100}}";
                HttpResponse<String> made = http.send(admin(root + "/__admin/sessions", token)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(), HttpResponse.BodyHandlers.ofString());
                expect("POST /__admin/sessions: status (" + made.body() + ")", made.statusCode(), 201);
                names.add(name);
                String base = (String) object(Json.parse(made.body())).get("baseUrl");
                runs.add(pool.submit(() -> new Journey(base).run()));
            }
            for (Future<List<String>> run : runs) {
                List<String> history = run.get();
                expect("a session's history: its own two jobs only", history.size(), 2);
            }
        } finally {
            pool.shutdownNow();
            for (String name : names) {
                http.send(admin(root + "/__admin/sessions/" + name, token).DELETE().build(),
                        HttpResponse.BodyHandlers.discarding());
            }
        }
    }

    static HttpRequest.Builder admin(String url, String token) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        return token.isEmpty() ? request : request.header("X-Admin-Token", token);
    }

    static final class Mismatch extends RuntimeException {
        Mismatch(String message) {
            super(message);
        }
    }

    static void expect(String what, Object got, Object wanted) {
        if (!Objects.equals(got, wanted)) {
            throw new Mismatch(what + ": expected " + wanted + ", got " + got);
        }
    }

    static void check(String what, boolean condition, Object got) {
        if (!condition) {
            throw new Mismatch(what + ": got " + got);
        }
    }

    // --- HTTP -----------------------------------------------------------------------------------

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(api + path))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", authorization);
    }

    static String query(String id) {
        return "?processingId=" + URLEncoder.encode(id, StandardCharsets.UTF_8);
    }

    HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    Map<String, Object> get(String path) throws IOException, InterruptedException {
        return ok(send(request(path).GET().build()));
    }

    Map<String, Object> post(String path, String json) throws IOException, InterruptedException {
        return ok(send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build()));
    }

    static Map<String, Object> ok(HttpResponse<String> response) {
        if (response.statusCode() != 200) {
            throw new Mismatch(response.request().uri() + ": HTTP " + response.statusCode() + ": " + response.body());
        }
        return object(Json.parse(response.body()));
    }

    Map<String, Object> poll(String id, Predicate<Map<String, Object>> until)
            throws IOException, InterruptedException {
        Map<String, Object> job = null;
        for (int i = 0; i < 200; i++) {
            job = get("/status" + query(id));
            if (until.test(job)) {
                return job;
            }
            Thread.sleep(10);
        }
        throw new Mismatch("job " + id + " did not get there in 200 polls: " + job);
    }

    Map<String, Object> poll(String id) throws IOException, InterruptedException {
        return poll(id, job -> DONE.contains(job.get("status")));
    }

    // --- the journey ----------------------------------------------------------------------------

    List<String> run() throws IOException, InterruptedException {
        refused();
        String id = (String) post("", "{\"path\": \"/content/dam/22858\", \"type\": \"ASSET_PROCESSING\"}")
                .get("processingId");
        Map<String, Object> job = poll(id);
        expect("the job's status", job.get("status"), "SUCCESS");
        expect("triggeredCount", job.get("triggeredCount"), 6L);
        List<String> lines = pages(id);
        zipStream(id, lines);
        zipFile(id, lines);
        jsonForm(id);
        String second = cancelAndResume();
        List<String> history = new ArrayList<>();
        for (Object item : list(get("/history").get("executionHistory"))) {
            history.add((String) object(item).get("processingId"));
        }
        check("history lists both jobs, newest first",
                history.size() >= 2 && history.subList(0, 2).equals(List.of(second, id)), history);
        return history;
    }

    void refused() throws IOException, InterruptedException {
        HttpResponse<String> response = send(request("").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"type\": \"ASSET_PROCESSING\"}")).build());
        expect("a start without path: status", response.statusCode(), 400);
        String type = response.headers().firstValue("Content-Type").orElse("");
        expect("its content type", type.split(";")[0], "application/json");
        Map<String, Object> error = object(Json.parse(response.body()));
        expect("the error's status", error.get("status"), 400L);
        String message = (String) error.get("message");
        check("the error's message names `path`", message.contains("`path`"), message);
        expect("the violation's place", object(list(error.get("violations")).get(0)).get("where"), "body:/path");
    }

    List<String> pages(String id) throws IOException, InterruptedException {
        List<String> lines = new ArrayList<>();
        while (true) {
            Map<String, Object> page = get("/logs" + query(id) + "&offset=" + lines.size() + "&limit=4");
            expect("the page's offset", page.get("offset"), (long) lines.size());
            for (Object line : list(page.get("lines"))) {
                lines.add((String) line);
            }
            if (!Boolean.TRUE.equals(page.get("hasMore"))) {
                break;
            }
        }
        expect("the log's length", lines.size(), 10);
        String last = lines.get(lines.size() - 1);
        check("the last line ends the job", last.contains("completed [status=SUCCESS]"), last);
        Map<String, Object> tail = get("/logs" + query(id) + "&tail=3");
        expect("tail=3", tail.get("lines"), lines.subList(lines.size() - 3, lines.size()));
        expect("tail's offset", tail.get("offset"), (long) lines.size() - 3);
        expect("tail's hasMore", tail.get("hasMore"), false);
        return lines;
    }

    static List<String> linesOf(byte[] data) {
        return List.of(new String(data, StandardCharsets.UTF_8).split("\n"));
    }

    HttpRequest download(String id) {
        return request("/logs/download" + query(id)).GET().build();
    }

    void checkHeaders(HttpResponse<?> response, String id) {
        expect("the download's status", response.statusCode(), 200);
        expect("the download's type", response.headers().firstValue("Content-Type").orElse(""), "application/zip");
        String disposition = response.headers().firstValue("Content-Disposition").orElse("");
        check("it is named after the job", disposition.contains("filename=\"" + id + ".zip\""), disposition);
    }

    // The usual way a Java client reads a download: ZipInputStream over the response, as it arrives.
    void zipStream(String id, List<String> lines) throws IOException, InterruptedException {
        HttpResponse<InputStream> response = http.send(download(id), HttpResponse.BodyHandlers.ofInputStream());
        checkHeaders(response, id);
        Map<String, List<String>> entries = new LinkedHashMap<>();
        try (ZipInputStream zip = new ZipInputStream(response.body())) {
            for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                ByteArrayOutputStream data = new ByteArrayOutputStream();
                zip.transferTo(data);
                entries.put(entry.getName(), linesOf(data.toByteArray()));
            }
        } catch (IOException problem) {
            throw new Mismatch("ZipInputStream over the download: " + problem);
        }
        expect("the streamed ZIP's entries", List.copyOf(entries.keySet()), List.of(id + ".log"));
        expect("the streamed ZIP's lines", entries.get(id + ".log"), lines);
    }

    // The download saved to a file, then read through its central directory with ZipFile.
    void zipFile(String id, List<String> lines) throws IOException, InterruptedException {
        Path saved = Files.createTempFile("aem-log-", ".zip");
        try {
            HttpResponse<Path> response = http.send(download(id), HttpResponse.BodyHandlers.ofFile(saved));
            checkHeaders(response, id);
            try (ZipFile zip = new ZipFile(saved.toFile())) {
                List<String> names = zip.stream().map(ZipEntry::getName).toList();
                expect("the saved ZIP's entries", names, List.of(id + ".log"));
                try (InputStream entry = zip.getInputStream(zip.getEntry(id + ".log"))) {
                    expect("the saved ZIP's lines", linesOf(entry.readAllBytes()), lines);
                }
            } catch (IOException problem) {
                throw new Mismatch("ZipFile on the saved download: " + problem);
            }
        } finally {
            Files.deleteIfExists(saved);
        }
    }

    void jsonForm(String id) throws IOException, InterruptedException {
        Map<String, Object> form = ok(send(request("/logs/download" + query(id))
                .header("Accept", "application/json").GET().build()));
        List<Object> paths = list(form.get("logFilePaths"));
        check("logFilePaths names the job's log",
                paths.size() == 1 && ((String) paths.get(0)).endsWith(id + ".log"), paths);
    }

    String cancelAndResume() throws IOException, InterruptedException {
        String id = (String) post("", "{\"path\": \"/content/dam/status-fetch1\", \"type\": \"ASSET_PROCESSING\"}")
                .get("processingId");
        String body = "{\"processingId\": " + Json.quote(id) + "}";
        poll(id, job -> (long) job.get("triggeredCount") >= 2 || DONE.contains(job.get("status")));
        Map<String, Object> cancelled = post("/cancel", body);
        expect("cancel: status", cancelled.get("status"), "CANCELLED");
        expect("cancel: resumable", cancelled.get("resumable"), true);
        long done = (long) cancelled.get("triggeredCount");
        long total = (long) object(cancelled.get("migrationSet")).get("totalFiles");
        check("cancelled part-way", done > 0 && done < total, done + "/" + total);
        Map<String, Object> stays = get("/status" + query(id));
        expect("a cancelled job stays", List.of(stays.get("status"), stays.get("triggeredCount")),
                List.of("CANCELLED", done));
        Map<String, Object> resumed = post("/resume", body);
        check("resume: running again", Set.of("WAITING", "IN_PROGRESS").contains(resumed.get("status")),
                resumed.get("status"));
        expect("resume keeps the checkpoint", resumed.get("triggeredCount"), done);
        Map<String, Object> job = poll(id);
        expect("the resumed job", List.of(job.get("status"), job.get("triggeredCount")), List.of("SUCCESS", total));
        List<Object> log = list(get("/logs" + query(id)).get("lines"));
        List<String> processed = new ArrayList<>();
        for (Object line : log) {
            if (((String) line).contains("Processing asset [")) {
                processed.add(((String) line).split("] ")[2]);
            }
        }
        expect("assets processed (each once)", (long) new HashSet<>(processed).size(), total);
        expect("asset lines", (long) processed.size(), total);
        check("the log says it resumed", log.stream().anyMatch(l -> ((String) l).contains("resumed from checkpoint")),
                log);
        return id;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Object value) {
        if (!(value instanceof Map)) {
            throw new Mismatch("expected a JSON object, got " + value);
        }
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object value) {
        if (!(value instanceof List)) {
            throw new Mismatch("expected a JSON array, got " + value);
        }
        return (List<Object>) value;
    }

    /** The JDK has no JSON parser: a small strict one (objects, arrays, strings, numbers, literals). */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object parse(String text) {
            Json json = new Json(text);
            Object value = json.value();
            json.space();
            if (json.at != text.length()) {
                throw json.error("text after the JSON value");
            }
            return value;
        }

        static String quote(String value) {
            StringBuilder out = new StringBuilder("\"");
            for (char c : value.toCharArray()) {
                if (c == '"' || c == '\\') {
                    out.append('\\').append(c);
                } else if (c < 0x20) {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
            return out.append('"').toString();
        }

        private Mismatch error(String what) {
            return new Mismatch("invalid JSON (" + what + " at " + at + "): " + text);
        }

        private void space() {
            while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
        }

        private boolean take(char c) {
            space();
            if (at < text.length() && text.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private void need(char c) {
            if (!take(c)) {
                throw error("expected '" + c + "'");
            }
        }

        private Object value() {
            space();
            if (at >= text.length()) {
                throw error("unexpected end");
            }
            char c = text.charAt(at);
            if (c == '{') {
                at++;
                Map<String, Object> object = new LinkedHashMap<>();
                if (!take('}')) {
                    do {
                        space();
                        String key = string();
                        need(':');
                        object.put(key, value());
                    } while (take(','));
                    need('}');
                }
                return object;
            }
            if (c == '[') {
                at++;
                List<Object> array = new ArrayList<>();
                if (!take(']')) {
                    do {
                        array.add(value());
                    } while (take(','));
                    need(']');
                }
                return array;
            }
            if (c == '"') {
                return string();
            }
            for (String literal : new String[] {"true", "false", "null"}) {
                if (text.startsWith(literal, at)) {
                    at += literal.length();
                    return literal.equals("null") ? null : Boolean.valueOf(literal);
                }
            }
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            String number = text.substring(start, at);
            if (number.isEmpty()) {
                throw error("unexpected '" + c + "'");
            }
            return number.matches("-?\\d+") ? (Object) Long.valueOf(number) : (Object) Double.valueOf(number);
        }

        private String string() {
            if (at >= text.length() || text.charAt(at) != '"') {
                throw error("expected a string");
            }
            StringBuilder out = new StringBuilder();
            for (at++; at < text.length(); at++) {
                char c = text.charAt(at);
                if (c == '"') {
                    at++;
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char escape = text.charAt(++at);
                switch (escape) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(text.substring(at + 1, at + 5), 16));
                        at += 4;
                    }
                    default -> out.append(escape);
                }
            }
            throw error("unterminated string");
        }
    }
}
