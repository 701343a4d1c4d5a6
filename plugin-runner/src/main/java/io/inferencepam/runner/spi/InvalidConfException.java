package io.inferencepam.runner.spi;

/**
 * A conf that cannot be used. The message names the field (a JSON path such as {@code $.models[2]})
 * and what is wrong, never the offending value (it may be a secret).
 */
public class InvalidConfException extends Exception {
    private final String path;

    public InvalidConfException(String path, String problem) {
        super(path + ": " + problem);
        this.path = path;
    }

    public String path() {
        return path;
    }
}
