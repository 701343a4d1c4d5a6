package io.inferencepam.pam.record.archive;

import java.io.IOException;

/**
 * The archive directory does not belong to the stream being archived (its manifest names another
 * stream, or it holds unlisted segments past this stream's cursor), or does not prove what it
 * claims archived (a manifest whose chain breaks, a line not signed by this archiver whose file
 * does not match the stream, a planted segment). Nothing is trimmed. The
 * message names the directory and the stream keys only, so it may be logged.
 */
public final class ArchiveMismatchException extends IOException {
    public ArchiveMismatchException(String message) {
        super(message);
    }
}
