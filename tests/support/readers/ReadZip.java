// Reads the mock's log download as a Java client does, with the JDK only:
//   java ReadZip.java <download URL> <Authorization header> <file to save it to>
// java.util.zip.ZipInputStream over the HttpClient's response stream, then java.util.zip.ZipFile on
// the same download saved to a file. Prints one line per entry and reader,
// "<reader> <name> <bytes> <crc32, hex> <lines>"; any failure is an exception and exit status 1.

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Collections;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

public class ReadZip {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(URI.create(args[0]))
                .header("Authorization", args[1]).GET().build();

        HttpResponse<InputStream> streamed = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        expect200(streamed.statusCode());
        try (ZipInputStream zip = new ZipInputStream(streamed.body())) {
            for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                report("ZipInputStream", entry.getName(), zip);
            }
        }

        Path saved = Path.of(args[2]);
        HttpResponse<Path> file = client.send(request, HttpResponse.BodyHandlers.ofFile(saved));
        expect200(file.statusCode());
        try (ZipFile zip = new ZipFile(saved.toFile())) {
            for (ZipEntry entry : Collections.list(zip.entries())) {
                try (InputStream in = zip.getInputStream(entry)) {
                    report("ZipFile", entry.getName(), in);
                }
            }
        }
    }

    static void expect200(int status) {
        if (status != 200) {
            throw new IllegalStateException("the download answered " + status);
        }
    }

    static void report(String reader, String name, InputStream in) throws IOException {
        CRC32 crc = new CRC32();
        long bytes = 0, lines = 0;
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) != -1; ) {
            crc.update(buffer, 0, n);
            bytes += n;
            for (int i = 0; i < n; i++) {
                if (buffer[i] == '\n') {
                    lines++;
                }
            }
        }
        System.out.printf("%s %s %d %08x %d%n", reader, name, bytes, crc.getValue(), lines);
    }
}
