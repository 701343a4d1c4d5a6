package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.export.StreamFollower;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Where {@code export --follow} writes: a file (appended, forced to disk per batch, so the position
 * never runs ahead of what the file holds) or standard output (flushed per batch: a pipe holds
 * what the reader has not read yet, so the reader must survive as long as the follower does).
 */
final class FollowOutput implements StreamFollower.Output, AutoCloseable {
    private final FileChannel file;
    private final PrintWriter stdout;

    FollowOutput(Path path, PrintWriter stdout) throws IOException {
        this.file = path == null ? null : FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        this.stdout = stdout;
    }

    @Override
    public void write(byte[] line) throws IOException {
        if (file != null) {
            ByteBuffer b = ByteBuffer.wrap(line);
            while (b.hasRemaining()) {
                file.write(b);
            }
        } else {
            stdout.print(new String(line, StandardCharsets.UTF_8));
        }
    }

    @Override
    public void durable() throws IOException {
        if (file != null) {
            file.force(false);
        } else {
            stdout.flush();
            if (stdout.checkError()) {
                throw new IOException("standard output is closed");
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (file != null) {
            file.close();
        }
    }
}
