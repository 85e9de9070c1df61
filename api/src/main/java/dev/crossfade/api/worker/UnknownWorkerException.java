package dev.crossfade.api.worker;

import java.util.Set;

/** A job names a class no worker is registered for. It goes to the dead set or DLQ with this message. */
public class UnknownWorkerException extends RuntimeException {
    private final String className;

    public UnknownWorkerException(String className, Set<String> registered) {
        super("no worker registered for class '" + className + "' (registered: " + registered + ")");
        this.className = className;
    }

    public String className() {
        return className;
    }
}
